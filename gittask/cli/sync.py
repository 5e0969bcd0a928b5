"""``claude-container task sync|pull|push``: share task state through a git remote."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import completion, output

if TYPE_CHECKING:
    from gittask.workflow.database import TaskDatabase
    from gittask.workflow.team import SyncResult

RemoteOpt = Annotated[
    str | None,
    typer.Option(
        "--remote", "-r", help="Git remote to sync with (default: the project's, else origin)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _open(remote: str | None) -> tuple[TaskDatabase, str]:
    from gittask.workflow.database import open_database

    db = open_database()
    if remote:
        return db, remote
    from gittask.config import load_config, remote_of

    return db, remote_of(load_config(db.repo))


def _report(db: TaskDatabase, result: SyncResult, as_json: bool) -> None:
    db.refresh()  # index and working copy follow the merged ref
    cycles: list[str] = []
    if result.merges():  # two clones may each have added half of a dependency cycle
        from gittask.workflow.deps import cycle_lines

        cycles = cycle_lines(db)
    if as_json:
        output.print_json({**result.to_dict(), "cycles": cycles})
        return
    for line in cycles:
        output.info(line)
    for merge in result.merges():
        if merge.merge is not None:
            for line in [c.line() for c in merge.merge.conflicts] + [
                d.line() for d in merge.merge.deletes_kept
            ]:
                output.info(line)
    output.info(result.summary())  # what moved, one line on stderr


def _progress() -> Callable[[str], None]:
    """Step-by-step progress on a terminal only: piped, stderr is just the summary."""
    import sys

    if sys.stderr.isatty():
        return output.info
    return lambda _: None


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""

    @app.command("sync")
    def sync_command(remote: RemoteOpt = None, as_json: JsonOpt = False) -> None:
        """Fetch tasks from the remote, merge them with local ones, and push the result."""
        from gittask.workflow.team import sync

        db, name = _open(remote)
        result = sync(db.repo, name, progress=_progress())
        _report(db, result, as_json)

    @app.command("pull")
    def pull_command(remote: RemoteOpt = None, as_json: JsonOpt = False) -> None:
        """Fetch tasks from the remote and merge them into the local ones (no push)."""
        from gittask.workflow.team import pull

        db, name = _open(remote)
        result = pull(db.repo, name, progress=_progress())
        _report(db, result, as_json)

    @app.command("push")
    def push_command(
        task_ids: Annotated[
            list[str] | None,
            typer.Argument(
                metavar="[ID]...",
                help="Tasks whose run did not reach the remote: push their branch and "
                "record, and open the pull request (no new run).",
                autocompletion=completion.task_ids,
            ),
        ] = None,
        remote: RemoteOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Push local tasks and notes (merging first if the remote has moved on).

        With task ids: publish those tasks' existing work (branch, notes, logs,
        record) and open their pull requests, without running the agent again.
        """
        if task_ids:
            publish_tasks(task_ids, as_json)
            return
        from gittask.workflow.team import push_tasks

        db, name = _open(remote)
        result = push_tasks(db.repo, name, progress=_progress())
        _report(db, result, as_json)


def publish_tasks(task_ids: list[str], as_json: bool) -> None:
    """``task push ID...`` and ``task start ID --publish-only``."""
    from gittask.config import load_config
    from gittask.workflow.database import open_database
    from gittask.workflow.records import resolve_many
    from gittask.workflow.republish import publish_task

    db = open_database()
    db.refresh()
    config = load_config(db.repo)
    done: dict[str, list[str]] = {}
    for task_id in resolve_many(db, task_ids):
        done[task_id] = publish_task(db, task_id, config)
        if not as_json:
            for line in done[task_id]:
                output.info(line)
    if as_json:
        output.print_json([{"id": k, "done": v} for k, v in done.items()])
