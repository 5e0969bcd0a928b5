"""The project commands: ``init``, ``build``, ``config show|get|set``, ``clean``.

Imports happen inside the commands (docker and pygit2 cost start-up time); the
work is done in :mod:`gittask.workflow.project`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output

if TYPE_CHECKING:
    from collections.abc import Callable

    from gittask.workflow.database import GitRepo
    from gittask.workflow.doctor import Check
    from gittask.workflow.project import BuildResult

config_app = typer.Typer(
    help="Show and change the project configuration (.claude-container/container_config.json).",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich help costs ~80 ms of start-up
    context_settings={"help_option_names": ["-h", "--help"]},
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
    app.command("init")(init)
    app.command("uninit")(uninit)
    app.command("build")(build)
    app.command("doctor")(doctor)
    app.add_typer(config_app, name="config")
    app.command("clean")(clean)


def _repo() -> GitRepo:
    from gittask.workflow.database import open_repo

    return open_repo()


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


# -- init ------------------------------------------------------------------------------


def init(
    force: Annotated[
        bool, typer.Option("--force", help="Replace an edited config file or Dockerfile.")
    ] = False,
) -> None:
    """Set this repository up: config file, Dockerfile.claude, .gitignore, git settings.

    It prints each git setting it makes: fetch refspecs so plain `git fetch` brings
    the task refs, and notes settings so amend/rebase keep the task notes. Plain
    `git push` is left as it was. `uninit` removes the settings again.
    """
    from gittask.workflow.project import init_project

    result = init_project(_repo(), force=force)
    for line in result.lines:
        typer.echo(line)


def uninit() -> None:
    """Remove every git setting init added (fetch refspecs, notes settings)."""
    from gittask.workflow.project import uninit_project

    for line in uninit_project(_repo()):
        typer.echo(line)


# -- build -----------------------------------------------------------------------------


def build(
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Build every step afresh (and the base).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Build even when the Dockerfile fails validation, or when the tag names "
            "an image claude-container did not build.",
        ),
    ] = False,
    base_from_debian: Annotated[
        bool,
        typer.Option(
            "--base-from-debian",
            help="Make the base from Debian's packages (debootstrap, the machine's apt "
            "mirror) and install Claude Code with the host's npm: no registry needed.",
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Then run the image: Claude Code version, uid, git."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build the agent image from .claude-container/Dockerfile.claude.

    The base is the base_image setting; Claude Code claude_code_version comes from
    npm inside the build, or from the host's npm (claude_install). A second build
    with nothing changed reuses the image. The tag is config 'image', else one
    derived from the repository; the image's user gets your uid/gid.
    """
    from gittask.workflow.project import build_project_image

    repo = _repo()

    def run(progress: Callable[[str], None]) -> BuildResult:
        return build_project_image(
            repo,
            nocache=no_cache,
            force=force,
            progress=progress,
            base_from_debian=base_from_debian,
        )

    if output.stdout_is_terminal() and sys.stderr.isatty() and not as_json:
        from rich.console import Console
        from rich.text import Text

        console = Console(stderr=True, highlight=False)
        step = "building the agent image"
        with console.status(step) as status:

            def show(line: str) -> None:
                nonlocal step
                if line.startswith(_MILESTONES):
                    console.print(Text(line))  # the steps stay on screen
                    step = line.split(" :", 1)[0][:60]
                    return
                status.update(Text(f"{step}: {line.strip()}"[:120]))

            result = run(show)
    else:
        result = run(_milestones_only if as_json else _say)
    report = None
    if check:
        from gittask.config import load_config
        from gittask.workflow.doctor import probe_built_image

        config = load_config(repo)
        report = probe_built_image(result.tag, str(config["agent"]), config["engine"])
    if as_json:
        data = result.to_json()
        if report is not None:
            data["check"] = [c.to_json() for c in report.checks()]
        output.print_json(data)
    else:
        _say(result.describe())
        if report is not None:
            _print_checks(report.checks())
        typer.echo(result.tag)
    if report is not None and not all(c.ok for c in report.checks()):
        raise typer.Exit(1)


#: Build progress lines that stay on screen (the rest replace each other).
_MILESTONES = (
    "Step ",
    "warning:",
    "note:",
    "making ",
    "importing ",
    "installing ",
    "base image ",
    "Claude Code ",
)


def _milestones_only(line: str) -> None:
    if line.startswith(_MILESTONES):
        _say(line)


def _print_checks(checks: list[Check]) -> None:
    for item in checks:
        mark = "ok  " if item.ok else ("FAIL" if item.required else "warn")
        hint = f" ({item.hint})" if item.hint and not item.ok else ""
        typer.echo(f"{mark} {item.name:<12} {item.detail}{hint}")


# -- doctor ----------------------------------------------------------------------------


def doctor(
    as_json: JsonOpt = False,
    no_repair: Annotated[
        bool, typer.Option("--no-repair", help="Only report what is wrong; change nothing.")
    ] = False,
) -> None:
    """Check that tasks can run (engine, image, credentials, remote, GitHub token), then
    check everything derived from git (index, working copy, refspecs, ref locks, what
    crashed runs left) and rebuild what is wrong. Exits 1 when something is still wrong."""
    from gittask.workflow.doctor import run_checks
    from gittask.workflow.repair import check_derived

    repo = _repo()
    checks = run_checks(repo)
    findings = check_derived(repo, repair=not no_repair)
    unrepaired = [f for f in findings if f.done is None]
    # a missing remote or GitHub token still lets tasks run (locally, without a PR)
    ok = all(c.ok for c in checks if c.required) and not unrepaired
    if as_json:
        output.print_json(
            {
                "ok": ok,
                "checks": [c.to_json() for c in checks],
                "derived": [f.to_json() for f in findings],
            }
        )
    else:
        _print_checks(checks)
        if not findings:
            typer.echo(f"ok   {'derived':<12} index, working copy, refspecs, locks: as in git")
        for found in findings:
            mark = "FAIL" if found.done is None else "fix "
            did = f": {found.done}" if found.done else " (run doctor without --no-repair)"
            typer.echo(f"{mark} {found.what:<12} {found.problem}{did}")
    if not ok:
        raise typer.Exit(1)


# -- config ----------------------------------------------------------------------------


@config_app.command("show")
def config_show(as_json: JsonOpt = False) -> None:
    """Every key with its value."""
    from gittask.config import KEYS
    from gittask.workflow.project import config_show as show
    from gittask.workflow.project import format_value

    values = show(_repo())
    if as_json:
        output.print_json(values)
        return
    rows = [[key, format_value(values[key]), KEYS[key].help] for key in KEYS]
    output.table(["KEY", "VALUE", "MEANING"], rows)


@config_app.command("get")
def config_get(key: Annotated[str, typer.Argument(metavar="KEY")]) -> None:
    """Print one key's value."""
    from gittask.workflow.project import config_get as get
    from gittask.workflow.project import format_value

    typer.echo(format_value(get(_repo(), key)))


# values may start with "-" (a negative number, a bad branch name): they reach the check
@config_app.command("set", context_settings={"ignore_unknown_options": True})
def config_set(
    key: Annotated[str, typer.Argument(metavar="KEY")],
    value: Annotated[str, typer.Argument(metavar="VALUE")],
) -> None:
    """Set one key (checked; a bad key or value changes nothing).

    'null' (or 'none', or '') clears a key whose default is no value (model,
    max_turns, image, ...); 'config unset KEY' puts any key back to its default."""
    from gittask.workflow.project import config_set as set_value
    from gittask.workflow.project import format_value

    parsed = set_value(_repo(), key, value)
    typer.echo(f"{key} = {format_value(parsed) if parsed is not None else 'null'}")


@config_app.command("unset")
def config_unset(key: Annotated[str, typer.Argument(metavar="KEY")]) -> None:
    """Put one key back to its default."""
    from gittask.workflow.project import config_unset as unset
    from gittask.workflow.project import format_value

    default = unset(_repo(), key)
    shown = format_value(default) if default is not None else "null"
    typer.echo(f"{key} = {shown} (the default)")


# -- clean -----------------------------------------------------------------------------


def clean(
    containers: Annotated[
        bool, typer.Option("--containers", help="Containers left by crashed runs.")
    ] = False,
    worktrees: Annotated[
        bool, typer.Option("--worktrees", help="Worktrees and run markers left by crashed runs.")
    ] = False,
    images: Annotated[
        bool,
        typer.Option(
            "--images", help="The project's agent image (only one claude-container built)."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --images: remove it though another tool built it.")
    ] = False,
    task_data: Annotated[
        bool,
        typer.Option(
            "--task-data",
            help="ALL task records: refs/claude-tasks, its notes, the run logs, the index and the "
            "working copy (needs --yes).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm --task-data.")] = False,
    logs: Annotated[
        bool,
        typer.Option(
            "--logs",
            help="Run logs older than --older-than, in git (here and on the remote) and on disk.",
        ),
    ] = False,
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", metavar="AGE", help="With --logs: 30d (default), 12h, 2w."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Show what would go; change nothing.")
    ] = False,
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
    repo = _repo()
    logs_done = None
    if logs:
        from gittask.config import load_config, remote_of
        from gittask.workflow.tasklogs import clean_logs, parse_age

        age = parse_age(older_than or "30d")
        remote = remote_of(load_config(repo))
        logs_done = clean_logs(repo, remote, age, dry_run=dry_run)
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
    going = plan.describe()
    done: list[str] = []
    if not dry_run:
        if not as_json and task_data and plan.task_data:
            for item in plan.task_data:
                _say(f"deleting task data: {item}")
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
    for note in plan.notes:
        typer.echo(note)
    if dry_run:
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
