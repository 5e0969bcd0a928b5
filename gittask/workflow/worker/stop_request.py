"""``task stop`` of a task a worker holds, from any clone: a stop request in the record.

The request (``stop_requested: lease N by NAME at TIME``) is written by
compare-and-swap on the remote. The worker holding lease N sees it at its next
look at the remote (``worker.poll_seconds``), stops the run's container and
records the task ``stopped``; this waits for that. A task still waiting in the
queue, or whose worker went silent (its lease expired), is recorded stopped at
once: the stop takes the next lease number, which fences out that worker's
late writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.model.clock import utcnow
from gittask.store import sync
from gittask.store.database import TaskDatabase
from gittask.workflow import claims, lease
from gittask.workflow.publish import auto_remote


@dataclass(frozen=True)
class Stopped:
    task: TaskMetadata
    run: int | None  # the run asked to stop (None: it never ran)
    note: str  # what happened, in one line


def held_by_worker(task: TaskMetadata) -> bool:
    """Queued, or running under a worker's lease (a worker may hold it)."""
    if task.status is TaskStatus.QUEUED:
        return True
    return (
        task.status is TaskStatus.RUNNING and bool(task.worker) and task.lease_expires is not None
    )


def request_stop(
    db: TaskDatabase,
    task_id: str,
    wait: float,
    clock: Callable[[], datetime] = utcnow,
    poll: float = 0.5,
) -> Stopped:
    """Stop a queued task, or ask its worker to stop its run and wait (up to ``wait``)."""
    remote = auto_remote(db)
    who = db.repo.author_string()
    if remote is None:  # no remote: nobody else can hold it
        stopped = db.update(task_id, lambda t: lease.close_stopped(t, who), "stop")
        return Stopped(stopped, None, _stopped_line(stopped, None))
    asked: list[int] = []

    def stop(t: TaskMetadata) -> str:
        asked.clear()
        if not held_by_worker(t):
            raise GittaskError(f"task {t.id[:8]} is not queued or run by a worker any more")
        live = t.lease_expires is not None and not lease.expired(t, clock())
        if not live:  # waiting in the queue, or its worker went silent
            return lease.close_stopped(t, who)
        t.stop_requested = lease.stop_request(t.lease, who, clock())
        asked.append(t.lease)
        return f"stop requested for lease {t.lease} ({t.worker})"

    written = sync.update_remote(db.repo, remote, {task_id: stop}, "stop")[task_id]
    db.reindex()
    if not asked:
        return Stopped(written, None, _stopped_line(written, None))
    final = _wait(db, remote, written, wait, poll)
    db.refresh()
    if final is None:
        return Stopped(
            written,
            written.run_count,
            f"asked worker {written.worker} to stop task {task_id[:8]}; it has not answered "
            f"within {wait:.0f}s (it stops the run at its next look at {remote})",
        )
    return Stopped(final, final.run_count, _stopped_line(final, written.worker))


def _wait(
    db: TaskDatabase, remote: str, asked: TaskMetadata, wait: float, poll: float
) -> TaskMetadata | None:
    """The record once the worker answered (the run ended or the lease moved on); None: not yet."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(poll)
        try:
            sync.fetch(db.repo, remote)
        except GittaskError:
            continue
        now = claims.remote_copy(db, remote, asked.id)
        if now is None:
            continue
        if now.lease != asked.lease or _over(now):
            return now
    return None


def _over(task: TaskMetadata) -> bool:
    """The worker settled the run (a stop, or an end that came first)."""
    if task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        return False
    return task.status is not TaskStatus.FAILED or task.lease_expires is None


def _stopped_line(task: TaskMetadata, worker: str | None) -> str:
    where = f" on worker {worker}" if worker else ""
    return f"stopped task {task.id[:8]}{where}: {task.error_message or task.status.value}"
