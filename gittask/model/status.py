"""Task status and its legal transitions."""

from __future__ import annotations

from enum import StrEnum

from gittask.errors import InvalidTransitionError, UsageError


class TaskStatus(StrEnum):
    PENDING = "pending"  # recorded, not yet run
    RUNNING = "running"  # a container is working on it
    CREATED = "created"  # first run finished, branch pushed / PR opened
    CONTINUED = "continued"  # a later run finished
    FAILED = "failed"  # the last run failed; error_message says why
    MERGED = "merged"  # its pull request was merged
    CLOSED = "closed"  # its pull request was closed unmerged, or given up
    QUEUED = "queued"  # waiting for a worker (`task create --queue`, `claude-container worker`)

    @classmethod
    def parse(cls, text: str) -> TaskStatus:
        try:
            return cls(text.strip().lower())
        except ValueError:
            valid = ", ".join(s.value for s in cls)
            raise UsageError(f"unknown status '{text}'", f"valid statuses: {valid}") from None


_RUNNABLE_FROM = {
    TaskStatus.PENDING,
    TaskStatus.CREATED,
    TaskStatus.CONTINUED,
    TaskStatus.FAILED,
    TaskStatus.CLOSED,
    TaskStatus.QUEUED,  # a worker's run
}

TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset({TaskStatus.RUNNING, TaskStatus.CLOSED}),
    TaskStatus.RUNNING: frozenset({TaskStatus.CREATED, TaskStatus.CONTINUED, TaskStatus.FAILED}),
    TaskStatus.CREATED: frozenset({TaskStatus.RUNNING, TaskStatus.MERGED, TaskStatus.CLOSED}),
    TaskStatus.CONTINUED: frozenset({TaskStatus.RUNNING, TaskStatus.MERGED, TaskStatus.CLOSED}),
    # a failed run can be retried; a failed continue may still have an open PR
    TaskStatus.FAILED: frozenset({TaskStatus.RUNNING, TaskStatus.MERGED, TaskStatus.CLOSED}),
    TaskStatus.MERGED: frozenset(),
    # a closed PR can be reopened by continuing the task
    TaskStatus.CLOSED: frozenset({TaskStatus.RUNNING, TaskStatus.MERGED}),
    # a worker runs it, or it is stopped (or given up) before that
    TaskStatus.QUEUED: frozenset({TaskStatus.RUNNING, TaskStatus.FAILED, TaskStatus.CLOSED}),
}
# queued from anywhere but merged: a worker then runs it (a retry, a takeover, a continue)
for _status in set(TaskStatus) - {TaskStatus.MERGED, TaskStatus.QUEUED}:
    TRANSITIONS[_status] = TRANSITIONS[_status] | {TaskStatus.QUEUED}
assert {s for s, targets in TRANSITIONS.items() if TaskStatus.RUNNING in targets} == _RUNNABLE_FROM


def check_transition(current: TaskStatus, new: TaskStatus) -> None:
    """Raise InvalidTransitionError unless current -> new is allowed."""
    if new == current or new in TRANSITIONS[current]:
        return
    allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none (final)"
    raise InvalidTransitionError(
        f"a {current.value} task cannot become {new.value}",
        f"from {current.value} it can become: {allowed}",
    )


def is_runnable(status: TaskStatus) -> bool:
    return status in _RUNNABLE_FROM
