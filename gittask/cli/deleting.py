"""What ``task delete`` does, without typer: the typer command (:mod:`gittask.cli.delete`)
and the fast path (:mod:`gittask.cli.fast.writing`) both call :func:`delete_tasks`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gittask.cli import output

if TYPE_CHECKING:
    from gittask.model import TaskMetadata
    from gittask.workflow.database import TaskDatabase
    from gittask.workflow.deletion import Leftovers


@dataclass
class DeleteRequest:
    """``task delete``'s options, as given."""

    ids: list[str]
    status: str | None = None
    yes: bool = False
    force: bool = False
    branches: bool = False
    close_pr: bool = False
    as_json: bool = False


def delete_tasks(req: DeleteRequest) -> None:
    """Delete the tasks named (or with --status), leaving tombstones; stop running ones
    with --force; remove their branches / close their pull requests when asked."""
    from gittask.config import load_config, remote_of
    from gittask.errors import UsageError
    from gittask.model.status import TaskStatus
    from gittask.workflow import deletion
    from gittask.workflow.database import open_database
    from gittask.workflow.publish import after_change
    from gittask.workflow.records import delete_tasks as delete_records
    from gittask.workflow.records import ids_with_status, resolve_many

    if bool(req.ids) == (req.status is not None):
        raise UsageError("name the tasks to delete, or give --status (not both)")
    wanted = TaskStatus.parse(req.status) if req.status is not None else None
    db = open_database()
    db.refresh()
    ids = ids_with_status(db, wanted) if wanted is not None else resolve_many(db, req.ids)
    if not ids:
        output.info(f"no tasks with status {wanted}")
        return
    readable = {task_id: _readable(db, task_id) for task_id in ids}
    to_stop = _running(db, [t for t in readable.values() if t is not None], req.force)
    if not req.yes:
        _confirm(db, readable, to_stop)
    config = load_config(db.repo)
    remote = remote_of(config)
    _stop_first(db, to_stop, req.as_json)
    if to_stop or not req.yes:
        db.refresh()  # their runs wrote to them, or another clone did while we asked
    left = []
    for task_id in ids:
        now = _readable(db, task_id)
        left.append(deletion.leftovers_of(db, now, remote) if now else deletion.Leftovers(task_id))
    deleted = delete_records(db, ids)
    for found in left:
        if req.branches:
            deletion.remove_branches(db, found, remote)
        if req.close_pr:
            deletion.close_pull(db, found, config)
    if req.branches and any(f.removed for f in left):
        after_change(db, config)
    _report(deleted, left, req.as_json)


def _stop_first(db: TaskDatabase, to_stop: list[str], as_json: bool) -> None:
    """Stop the runs --force stops."""
    if not to_stop:
        return
    from gittask.workflow.stop import stop_task

    for task_id in to_stop:
        stopped = stop_task(db, task_id, publish=False)
        if not as_json:
            output.info(stopped.describe().split("; run it again")[0])


def _running(db: TaskDatabase, tasks: list[TaskMetadata], force: bool) -> list[str]:
    """The tasks whose runs --force stops first; without it, a running one is refused
    (all are checked before anything changes)."""
    from gittask.errors import GittaskError
    from gittask.workflow.claims import claimed_elsewhere
    from gittask.workflow.stop import running_run

    to_stop = []
    for task in tasks:
        marker = running_run(db, task)
        if marker is not None:
            if not force:
                raise GittaskError(
                    f"task {task.id[:8]} is running (run {marker.run}, pid {marker.pid}); "
                    "nothing was deleted",
                    f"stop it with 'task stop {task.id[:8]}', or delete with --force",
                )
            to_stop.append(task.id)
        elif claimed_elsewhere(db.repo, task) and not force:
            raise GittaskError(
                f"task {task.id[:8]} is being run by {task.claimed_by} "
                f"(run {task.run_count}); nothing was deleted",
                "wait for it, or delete with --force (that run goes on there)",
            )
    return to_stop


def _confirm(
    db: TaskDatabase, readable: dict[str, TaskMetadata | None], to_stop: list[str]
) -> None:
    """Name the tasks and ask (on a terminal; elsewhere --yes is needed)."""
    from gittask.cli import prompts
    from gittask.errors import UsageError
    from gittask.model.ids import short_ids

    if not prompts.interactive():
        raise UsageError(
            f"refusing to delete {len(readable)} task(s) without confirmation", "pass --yes"
        )
    short = short_ids(db.indexed_ids())
    for task_id, one in readable.items():
        title = one.title if one is not None else "(unreadable record)"
        running = " (running: --force stops it)" if task_id in to_stop else ""
        output.info(f"  {short.get(task_id, task_id[:8])}  {title}{running}")
    if not prompts.confirm(f"Delete {len(readable)} task(s)?", default=False):
        raise UsageError("nothing deleted")


def _report(deleted: list[TaskMetadata], left: list[Leftovers], as_json: bool) -> None:
    """What was deleted, removed and left behind (with the options that remove it)."""
    if as_json:
        output.print_json(
            [
                {"id": t.id, "title": t.title, **f.to_json()}
                for t, f in zip(deleted, left, strict=True)
            ]
        )
        return
    for task, found in zip(deleted, left, strict=True):
        output.info(f"deleted task {task.id[:8]}: {task.title}")
        for item in found.removed:
            output.info(f"  removed {item}")
        for item in found.kept:
            output.info(f"  kept {item}")
        items = found.items()
        if items:
            offers = []
            if found.local_branch or found.remote_branch:
                offers.append("--branches")
            if found.open_pull:
                offers.append("--close-pr")
            hint = f" (delete with {' / '.join(offers)} removes them)" if offers else ""
            output.info(f"  left behind: {', '.join(items)}{hint}")


def _readable(db: TaskDatabase, task_id: str) -> TaskMetadata | None:
    from gittask.errors import CorruptRecordError

    try:
        return db.task(task_id)
    except CorruptRecordError:
        return None  # deleting it is how it goes away
