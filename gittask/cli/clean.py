"""``claude-container clean``: what crashed runs left (containers, worktrees, markers),
the project's image, old run logs, and, only with --yes, the task data itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output
from gittask.cli.shared import JsonOpt, open_repo, say

if TYPE_CHECKING:
    from gittask.workflow.project import CleanPlan


ContainersOpt = Annotated[
    bool, typer.Option("--containers", help="Containers left by crashed runs.")
]
WorktreesOpt = Annotated[
    bool, typer.Option("--worktrees", help="Worktrees and run markers left by crashed runs.")
]
ImagesOpt = Annotated[
    bool,
    typer.Option("--images", help="The project's agent image (only one claude-container built)."),
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="With --images: remove it though another tool built it.")
]
TaskDataOpt = Annotated[
    bool,
    typer.Option(
        "--task-data",
        help="ALL task records: refs/claude-tasks, its notes, the run logs, the index and the "
        "working copy (needs --yes).",
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", help="Confirm --task-data.")]
LogsOpt = Annotated[
    bool,
    typer.Option(
        "--logs",
        help="Run logs older than --older-than, in git (here and on the remote) and on disk.",
    ),
]
OlderThanOpt = Annotated[
    str | None,
    typer.Option("--older-than", metavar="AGE", help="With --logs: 30d (default), 12h, 2w."),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", "-n", help="Show what would go; change nothing.")
]


def clean(
    containers: ContainersOpt = False,
    worktrees: WorktreesOpt = False,
    images: ImagesOpt = False,
    force: ForceOpt = False,
    task_data: TaskDataOpt = False,
    yes: YesOpt = False,
    logs: LogsOpt = False,
    older_than: OlderThanOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove what crashed runs left (default: --containers --worktrees). Live runs are kept."""
    from gittask.errors import UsageError
    from gittask.workflow.project import apply_clean, plan_clean

    if task_data and not yes and not dry_run:
        raise UsageError(
            "--task-data deletes every task record of this repository: add --yes to confirm "
            "(nothing was removed)"
        )
    if older_than is not None and not logs:
        raise UsageError("--older-than goes with --logs (nothing was removed)")
    repo = open_repo()
    logs_done = None
    if logs:
        from gittask.config import load_config, remote_of
        from gittask.workflow.tasklogs import clean_logs, parse_age

        age = parse_age(older_than or "30d")
        logs_done = clean_logs(repo, remote_of(load_config(repo)), age, dry_run=dry_run)
        if not (containers or worktrees or images or task_data):
            if as_json:
                output.print_json({"logs": logs_done.to_json(), "dry_run": dry_run})
            else:
                for line in logs_done.describe(dry_run):
                    typer.echo(line)
            return
    if not (containers or worktrees or images or task_data):
        containers = worktrees = True
    if force and not images:
        raise UsageError("--force goes with --images (nothing was removed)")
    plan = plan_clean(
        repo,
        containers=containers,
        worktrees=worktrees,
        images=images,
        task_data=task_data,
        force=force,
    )
    done: list[str] = []
    if not dry_run:
        if not as_json and task_data and plan.task_data:
            for item in plan.task_data:
                say(f"deleting task data: {item}")
        done = apply_clean(repo, plan, task_data=task_data)
    if as_json:
        data = plan.to_json()
        data["dry_run"] = dry_run
        data["removed"] = done
        if logs_done is not None:
            data["logs"] = logs_done.to_json()
        output.print_json(data)
        return
    if logs_done is not None:
        for line in logs_done.describe(dry_run):
            typer.echo(line)
    _print_plan(plan, done, dry_run)


def _print_plan(plan: CleanPlan, done: list[str], dry_run: bool) -> None:
    """What went (or, with --dry-run, what would go, and which runs were interrupted)."""
    for note in plan.notes:
        typer.echo(note)
    if dry_run:
        going = plan.describe()
        settles = "clean records it" if plan.leftovers.markers else "clean --worktrees records it"
        for task_id in plan.interrupted:
            typer.echo(
                f"task {task_id[:8]} was interrupted (its run's process died); {settles} as failed"
            )
        for line in going:
            typer.echo(f"would remove {line}")
        if not going:
            typer.echo("nothing to clean")
        return
    for line in done:
        typer.echo(line)
    if not done:
        typer.echo("nothing to clean")
