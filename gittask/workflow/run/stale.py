"""A record left ``running`` by a process that died is closed as ``failed``."""

from __future__ import annotations

from gittask.model import TaskMetadata, TaskStatus
from gittask.model.clock import utcnow
from gittask.runner import live
from gittask.store.database import TaskDatabase

DIED = "the run ended without recording its result (its process died)"
PREVIOUS_DIED = "the previous run ended without recording its result (its process died)"


def close_dead_run(db: TaskDatabase, task_id: str, message: str = DIED) -> TaskMetadata:
    """Record ``failed`` with ``message`` if the record still says ``running``."""

    def mark_failed(t: TaskMetadata) -> str:
        if t.status is TaskStatus.RUNNING:
            t.set_status(TaskStatus.FAILED)
            t.error_message = message
            t.completed_at = utcnow()
        return message

    return db.update(task_id, mark_failed, "failed")


def recover_stale_run(db: TaskDatabase, task_id: str) -> bool:
    """For ``clean``/list: a record ``running`` with no live process becomes ``failed``."""
    task = db.task(task_id)
    if task.status is not TaskStatus.RUNNING:
        return False
    held = live.marker_for(db.repo, task_id)
    if held is not None and held.alive:
        return False
    close_dead_run(db, task_id)
    if held is not None:
        live.release(db.repo, held)
    return True
