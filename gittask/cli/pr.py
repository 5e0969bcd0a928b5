"""``claude-container task pr``: open (or adopt) a task's pull request later; and following
the pull requests' states (merged, closed) for ``list --refresh`` and ``show``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output
from gittask.cli.shared import IdArg, open_db

if TYPE_CHECKING:
    from gittask.model import TaskMetadata
    from gittask.workflow.database import TaskDatabase


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
    app.command("pr")(pr)


def pr(
    task_id: IdArg,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Open the task's pull request (adopting one that already exists for its branch)."""
    from gittask.config import load_config
    from gittask.errors import GittaskError
    from gittask.workflow.database import open_database
    from gittask.workflow.pull_requests import open_pull_request

    db = open_database()
    db.refresh()
    task = db.get(task_id)
    if task.run_count == 0 and not task.commit_hash:
        raise GittaskError(
            f"task {task.id[:8]} has not run yet: there is no branch to propose",
            f"run it with 'task start {task.id[:8]}'",
        )
    result = open_pull_request(db, task.id, load_config(db.repo))
    if result.pull is None:
        raise GittaskError(result.note or "no pull request was opened")
    if as_json:
        output.print_json(
            {
                "id": task.id,
                "pr_url": result.pull.url,
                "pr_number": result.pull.number,
                "created": result.created,
            }
        )
        return
    verb = "opened" if result.created else "adopted existing"
    output.info(f"{verb} pull request {result.pull.url}")
    typer.echo(result.pull.url)


def refresh_pull_states(
    task_ids: list[str] | None, quiet: bool, db: TaskDatabase | None = None
) -> dict[str, TaskMetadata]:
    """Move tasks whose PR was merged or closed; a GitHub problem is a warning."""
    from gittask.config import load_config
    from gittask.errors import GittaskError
    from gittask.workflow.pull_requests import refresh_pull_states as refresh

    db = db or open_db()
    try:
        moved = refresh(db, load_config(db.repo), task_ids)
    except GittaskError as exc:
        output.info(f"warning: pull request states not refreshed: {exc}")
        return {}
    for task, status in moved:
        if not quiet:
            output.info(f"task {task.id[:8]} is now {status}")
    return {task.id: task for task, _ in moved}
