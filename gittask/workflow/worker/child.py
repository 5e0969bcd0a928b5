"""One leased run, in a process of its own: what ``task _work ID --lease N`` does.

A worker starts one such process per task it claimed (so a run's signals,
working folder and crash stay its own). The run is the ordinary pipeline
(:func:`gittask.workflow.run.run_task`) told its lease: it refuses to start
unless the lease is still the worker's, and each write of its record checks it
(:mod:`gittask.workflow.lease`).
"""

from __future__ import annotations

from collections.abc import Callable

from gittask.model import TaskMetadata
from gittask.store.database import TaskDatabase
from gittask.workflow.lease import Lease
from gittask.workflow.publish import refresh_from_remote
from gittask.workflow.run import RunKind, RunRequest, RunResult, run_task


def run_leased(
    db: TaskDatabase,
    task_id: str,
    lease_number: int,
    worker: str,
    say: Callable[[str], None] = lambda line: None,
    show: Callable[[str], None] = lambda line: None,
) -> RunResult:
    """Run the task under lease ``lease_number`` of ``worker``."""
    refresh_from_remote(db)
    task = db.task(task_id)
    kind, feedback_id = run_kind(task)
    request = RunRequest(
        task_id=task.id,
        kind=kind,
        feedback_id=feedback_id,
        show=show,
        say=say,
        detached=True,
        lease=Lease(task.id, lease_number, worker),
    )
    return run_task(db, request)  # its preflight takes the task's template settings


def run_kind(task: TaskMetadata) -> tuple[RunKind, str | None]:
    """A continue answering the feedback given since the last run, a continue of earlier
    work, or a first run (also when earlier runs left nothing: as ``task start`` does)."""
    newest = task.feedback_history[-1] if task.feedback_history else None
    if newest is not None and (task.started_at is None or newest.timestamp > task.started_at):
        return "continue", newest.id
    return ("continue" if task.commit_hash else "create"), None
