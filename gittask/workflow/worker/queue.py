"""The queue: tasks recorded ``queued`` wait on the remote until a worker claims them.

``task create --queue`` and ``task queue ID`` record a task as ``queued`` and
publish it; any worker pointed at the remote may then claim it
(:func:`take`), by compare-and-swap on the remote's task branch, so each
claim has exactly one winner.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import datetime

import pygit2

from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.store import sync
from gittask.store.database import TaskDatabase
from gittask.workflow import lease
from gittask.workflow.publish import after_change

#: how many of the oldest takeable tasks a worker picks among (fewer collisions)
SPREAD = 4


def check_queueable(task: TaskMetadata) -> None:
    """A running, queued or merged task cannot be queued (a GittaskError says why)."""
    if task.status in (TaskStatus.RUNNING, TaskStatus.QUEUED, TaskStatus.MERGED):
        raise GittaskError(
            f"task {task.id[:8]} is {task.status.value}: it cannot be queued",
            "stop it first with 'task stop'" if task.status is TaskStatus.RUNNING else None,
        )


def queue_task(db: TaskDatabase, task_id: str, publish: bool = True) -> TaskMetadata:
    """Record the task ``queued`` (with a fresh retry count) and publish it."""
    task = db.task(task_id)
    check_queueable(task)

    def to_queue(t: TaskMetadata) -> str:
        t.set_status(TaskStatus.QUEUED)
        t.attempts = 0
        t.lease_expires = None
        t.error_message = None
        t.publish_error = None
        return "queued for a worker"

    queued = db.update(task.id, to_queue, "queue")
    if publish:
        after_change(db)
    return queued


def candidates(
    db: TaskDatabase, remote: str, now: datetime, labels: Iterable[str] = ()
) -> list[TaskMetadata]:
    """Tasks a worker may claim now, as the remote holds them: queued with no live
    lease, or running under an expired one; the oldest first."""
    found = [t for t in _remote_copies(db, remote) if lease.takeable(t, now, labels)]
    found.sort(key=lambda t: (t.created_at, t.id))
    return found


def orphans_to_stop(db: TaskDatabase, remote: str, now: datetime) -> list[TaskMetadata]:
    """Tasks asked to stop whose worker stopped renewing their lease."""
    return [t for t in _remote_copies(db, remote) if lease.stopped_orphan(t, now)]


def _remote_copies(db: TaskDatabase, remote: str) -> list[TaskMetadata]:
    """The queued and running tasks (by the index, once merged), as the remote holds them."""
    tip = tracking_tip(db, remote)
    if tip is None:
        return []
    rows = db.indexed_rows(TaskStatus.QUEUED.value) + db.indexed_rows(TaskStatus.RUNNING.value)
    found = []
    for row in rows:
        try:
            found.append(db.task(row.id, at=tip))
        except GittaskError:
            continue  # not on the remote (yet), or unreadable there
    return found


def tracking_tip(db: TaskDatabase, remote: str) -> pygit2.Oid | None:
    """The remote-tracking commit of the task branch (the remote's state at the last fetch)."""
    ref = db.repo.pygit.references.get(sync.tracking_ref(remote))
    target = ref.resolve().target if ref is not None else None
    return target if isinstance(target, pygit2.Oid) else None


def take(
    db: TaskDatabase,
    remote: str,
    worker: str,
    now: Callable[[], datetime],
    settings_lease: float,
    max_attempts: int,
    labels: Iterable[str] = (),
) -> lease.Lease | None:
    """Claim one task (a lease, by compare-and-swap on the remote); None: nothing to take.

    Picks among the oldest few at random, so that workers starting together
    seldom race for the same one; a lost race tries the next.
    """
    found = candidates(db, remote, now(), labels)
    head, rest = found[:SPREAD], found[SPREAD:]
    random.shuffle(head)
    for task in head + rest:
        try:
            written = sync.update_remote(
                db.repo,
                remote,
                {task.id: lambda t: lease.claim(t, worker, now(), settings_lease, max_attempts)},
                "claim",
                fetched=True,
            )
        except lease.NotTakeable:
            continue  # another worker was first: the next one
        db.reindex()
        claimed = written[task.id]
        if claimed.status is TaskStatus.QUEUED and claimed.worker == worker:
            return lease.Lease(claimed.id, claimed.lease, worker)
    return None
