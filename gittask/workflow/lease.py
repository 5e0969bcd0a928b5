"""A worker's lease on a task: the rules, and the guard a leased run publishes through.

A worker claims a queued task by writing, by compare-and-swap on the remote
(:func:`gittask.store.sync.update_remote`), the next lease number, its name and
when the lease expires. It renews the lease while the run goes. Once a lease
has expired, another worker may take the task over: the takeover takes the
next number, and the merge lets the newer number own the run's fields
(:mod:`gittask.store.merge.fencing`). A run under a lease checks before each
write of its record that the lease is still its own, here and on the remote
(:func:`remote_guard`); when it is not, the write is refused
(:class:`LeaseLost`) and the run's work is set aside, never merged over the new
owner's.

Everything here takes ``now`` from its caller: the worker's clock can be a test's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gittask.model import TaskMetadata, TaskStatus
from gittask.model.clock import format_ts
from gittask.model.outcome import NOTHING_CHANGED, STOPPED_PREFIX
from gittask.store.database import TaskDatabase
from gittask.workflow import claims

#: Where the work of a run that lost its lease is kept (and pushed): ``<prefix><task>/lease-<n>``.
LATE_REF_PREFIX = "refs/claude-tasks-late/"


@dataclass(frozen=True)
class Lease:
    """Lease number ``number`` of task ``task_id``, held by worker ``worker``."""

    task_id: str
    number: int
    worker: str

    def describe(self) -> str:
        return f"lease {self.number} of task {self.task_id[:8]} ({self.worker})"

    def late_ref(self) -> str:
        return f"{LATE_REF_PREFIX}{self.task_id}/lease-{self.number}"


class LeaseLost(Exception):
    """The lease is no longer this worker's: another took the task over, or it was stopped."""

    def __init__(self, lease: Lease, holder: TaskMetadata | None) -> None:
        super().__init__(lease.describe())
        self.lease = lease
        self.holder = holder

    def why(self) -> str:
        task = self.holder
        if task is None:
            return f"{self.lease.describe()} is gone"
        if task.lease != self.lease.number and task.worker:
            return f"worker {task.worker} took the task over (lease {task.lease})"
        if task.lease != self.lease.number:
            return f"the task was changed meanwhile (lease {task.lease}, {task.status.value})"
        return f"the task is {task.status.value} now"


class NotTakeable(Exception):
    """The task cannot be claimed (any more): another worker, a person, or its status."""


# -- the rules -------------------------------------------------------------------------


def holds(task: TaskMetadata, lease: Lease) -> bool:
    """Whether ``lease`` is the task's current lease (its run may write the record)."""
    return task.lease == lease.number and task.worker == lease.worker


def expired(task: TaskMetadata, now: datetime) -> bool:
    return task.lease_expires is not None and task.lease_expires <= now


def has_labels(task: TaskMetadata, labels: Iterable[str]) -> bool:
    """A worker given labels takes only tasks with one of them (none given: any task)."""
    wanted = set(labels)
    return not wanted or bool(wanted & {str(x) for x in task.extra.get("labels") or []})


def takeable(task: TaskMetadata, now: datetime, labels: Iterable[str] = ()) -> bool:
    """Queued with no live lease, or running under a lease that expired."""
    if not has_labels(task, labels) or stop_wanted(task) is not None:
        return False
    if task.status is TaskStatus.QUEUED:
        return task.lease_expires is None or expired(task, now)
    return task.status is TaskStatus.RUNNING and bool(task.worker) and expired(task, now)


def claim(task: TaskMetadata, worker: str, now: datetime, seconds: float, max_attempts: int) -> str:
    """Take the next lease (a takeover when the task is running); give up past
    ``max_attempts``. Raises NotTakeable when it cannot be taken."""
    if not takeable(task, now):
        raise NotTakeable(task.id)
    if task.status is TaskStatus.RUNNING:  # its worker stopped renewing: died or cut off
        task.set_status(TaskStatus.QUEUED)
        task.error_message = (
            f"worker {task.worker} stopped renewing lease {task.lease} (run {task.run_count}); "
            f"taken over by {worker}"
        )
    if task.attempts >= max_attempts:
        give_up(task, task.error_message or "it kept failing")
        return f"gave up after {task.attempts} attempts"
    task.lease += 1
    task.worker = worker
    task.lease_expires = now + timedelta(seconds=seconds)
    task.attempts += 1
    return f"lease {task.lease} for {worker} until {format_ts(task.lease_expires)}"


def give_up(task: TaskMetadata, error: str) -> None:
    task.set_status(TaskStatus.FAILED)
    task.error_message = f"{error} (gave up after {task.attempts} attempts)"
    task.lease_expires = None


def renew(task: TaskMetadata, lease: Lease, now: datetime, seconds: float) -> str:
    if not holds(task, lease) or task.status not in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        raise LeaseLost(lease, task)
    task.lease_expires = now + timedelta(seconds=seconds)
    return f"lease {lease.number} renewed until {format_ts(task.lease_expires)}"


def retryable(task: TaskMetadata) -> bool:
    """A failed run worth another attempt (not a stop, not an agent that changed nothing)."""
    text = task.error_message or ""
    return (
        task.status is TaskStatus.FAILED
        and not text.startswith((STOPPED_PREFIX, NOTHING_CHANGED))
        and not task.publish_error
    )


def settle(task: TaskMetadata, lease: Lease, max_attempts: int, died: str | None) -> str:
    """The run under ``lease`` is over: retry, give up, or record a stop; the lease ends.

    ``died``: why the run's process ended without recording its end (the record
    still says queued or running), else None.
    """
    if not holds(task, lease):
        raise LeaseLost(lease, task)
    stop = stop_wanted(task)
    ended = task.status in (TaskStatus.CREATED, TaskStatus.CONTINUED)
    if stop is not None and stop[0] == lease.number and not ended:  # (it finished first)
        if task.status is not TaskStatus.FAILED:
            task.set_status(TaskStatus.FAILED)
        task.error_message = f"{STOPPED_PREFIX} by {stop[1]} during run {task.run_count}"
        task.lease_expires = None
        return f"stopped by {stop[1]}"
    if died is not None and task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        task.set_status(TaskStatus.FAILED)
        task.error_message = died
    if retryable(task) and task.attempts < max_attempts:
        task.set_status(TaskStatus.QUEUED)
        task.error_message = f"attempt {task.attempts} failed: {task.error_message}"
        task.lease_expires = None
        return f"queued again after attempt {task.attempts}"
    if task.status is TaskStatus.FAILED and retryable(task):
        task.error_message = f"{task.error_message} (gave up after {task.attempts} attempts)"
    task.lease_expires = None
    return f"lease {lease.number} released ({task.status.value})"


# -- stop requests ---------------------------------------------------------------------

_STOP = re.compile(r"lease (\d+) by (.*) at (\S+)$")


def stop_request(lease_number: int, who: str, now: datetime) -> str:
    return f"lease {lease_number} by {who} at {format_ts(now)}"


def stop_wanted(task: TaskMetadata) -> tuple[int, str] | None:
    """(lease number, who) of a stop request for the task's current lease, or None."""
    found = _STOP.match(task.stop_requested or "")
    if found is None or int(found.group(1)) != task.lease or task.lease == 0:
        return None
    return int(found.group(1)), found.group(2)


def stopped_orphan(task: TaskMetadata, now: datetime) -> bool:
    """Asked to stop, and its worker stopped renewing: nobody else will stop it."""
    return (
        task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)
        and expired(task, now)
        and stop_wanted(task) is not None
    )


def close_stopped(task: TaskMetadata, who: str) -> str:
    """Record a stop without the lease's worker: the next lease number fences it out."""
    if task.status is not TaskStatus.FAILED:
        task.set_status(TaskStatus.FAILED)
    when = f"during run {task.run_count}" if task.status is TaskStatus.RUNNING else "before it ran"
    task.error_message = f"{STOPPED_PREFIX} by {who} {when}"
    task.lease += 1
    task.worker = None
    task.lease_expires = None
    return f"stopped by {who}"


# -- the guard of a leased run -----------------------------------------------------------


def check(task: TaskMetadata, lease: Lease | None) -> None:
    """Before a leased run writes its record: raise LeaseLost unless the lease is its own."""
    if lease is not None and not holds(task, lease):
        raise LeaseLost(lease, task)


def remote_guard(db: TaskDatabase, remote: str, lease: Lease) -> Callable[[], None]:
    """For a push of the run's record: after the fetch of a remote that moved, and
    before any merge, raise LeaseLost when the remote's copy is another lease's."""

    def guard() -> None:
        theirs = claims.remote_copy(db, remote, lease.task_id)
        if theirs is not None and not holds(theirs, lease):
            raise LeaseLost(lease, theirs)

    return guard
