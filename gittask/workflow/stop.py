"""Stopping a task's run from any terminal on the machine (``task stop``, ``delete --force``).

A queued task, or one a worker runs (on any machine), is stopped through the
remote instead: :mod:`gittask.workflow.worker.stop_request`.

The run's own process is asked to stop (SIGTERM, as Ctrl-C would): it stops the
container, keeps what the agent did on the local branch, records the task failed
and cleans up. This waits for that, then marks the record as stopped by the user
(its stored status stays ``failed``; it is shown as ``stopped``).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.model.clock import utcnow
from gittask.model.outcome import STOPPED_PREFIX
from gittask.runner import live
from gittask.store.database import TaskDatabase
from gittask.workflow import claims
from gittask.workflow.worker.stop_request import held_by_worker, request_stop

#: How long a run gets to stop its container and record its end.
STOP_WAIT_SECONDS = 120.0


@dataclass
class StopResult:
    task: TaskMetadata
    run: int | None  # the run that was stopped; None: there was no live process
    pid: int | None
    note: str | None = None  # a worker's run (stopped on request), or a queued task

    def describe(self) -> str:
        if self.note is not None:
            return self.note
        short = self.task.id[:8]
        if self.pid is None:
            return (
                f"task {short} had no live run on this machine: recorded as failed "
                f"(retry with 'task start {short}')"
            )
        kept = ""
        if self.task.commits:
            kept = f"; what the agent did is on the local branch {self.task.branch_name}"
        return (
            f"stopped task {short} (run {self.run}, pid {self.pid}){kept}; "
            f"run it again with 'task start {short}'"
        )


def running_run(db: TaskDatabase, task: TaskMetadata) -> live.RunMarker | None:
    """The live run of ``task`` on this machine, or None."""
    marker = live.marker_for(db.repo, task.id)
    return marker if marker is not None and marker.alive else None


def _stop_without_a_run_here(
    db: TaskDatabase, task: TaskMetadata, wait: float, publish: bool
) -> StopResult:
    """A worker's run (any machine), or a record left ``running`` by a dead run here."""
    from gittask.workflow.publish import after_change
    from gittask.workflow.run import recover_stale_run

    if held_by_worker(task):  # queued, or a worker's run: on any machine
        done = request_stop(db, task.id, wait)
        return StopResult(done.task, done.run, None, note=done.note)
    if task.status is not TaskStatus.RUNNING:
        raise GittaskError(f"task {task.id[:8]} is not running (it is {task.status.value})")
    if claims.claimed_elsewhere(db.repo, task):
        raise GittaskError(
            f"task {task.id[:8]} is being run by {task.claimed_by} (run {task.run_count}): "
            "it can only be stopped on that machine"
        )
    recover_stale_run(db, task.id)
    if publish:
        after_change(db)
    return StopResult(db.task(task.id), None, None)


def stop_task(
    db: TaskDatabase, task_id: str, wait: float = STOP_WAIT_SECONDS, publish: bool = True
) -> StopResult:
    """Stop the task's run and record it; refuses a task that is not running here."""
    from gittask.workflow.publish import after_change

    task = db.task(task_id)
    marker = running_run(db, task)
    if marker is None:
        return _stop_without_a_run_here(db, _newest(db, task), wait, publish)
    try:
        os.kill(marker.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # it ended meanwhile
    except PermissionError:
        raise GittaskError(
            f"task {task.id[:8]} is run by another user's process (pid {marker.pid}): "
            "not allowed to stop it",
            "ask that user, or stop it as root",
        ) from None
    deadline = time.monotonic() + wait
    while live.pid_alive(marker.pid):
        if time.monotonic() > deadline:
            raise GittaskError(
                f"the run of task {task.id[:8]} (pid {marker.pid}) did not stop within {wait:.0f}s",
                f"kill it with 'kill -9 {marker.pid}', then 'claude-container clean'",
            )
        time.sleep(0.1)
    db.refresh()
    current = db.task(task.id)
    if current.status not in (TaskStatus.RUNNING, TaskStatus.FAILED):
        return StopResult(current, marker.run, marker.pid)  # it finished first
    by = db.repo.author_string()

    def stopped(t: TaskMetadata) -> str:
        if t.status is TaskStatus.RUNNING:  # the process died before recording its end
            t.set_status(TaskStatus.FAILED)
            t.completed_at = utcnow()
        if t.status is TaskStatus.FAILED:
            detail = f" ({t.error_message})" if t.error_message else ""
            t.error_message = f"{STOPPED_PREFIX} by {by} during run {marker.run}{detail}"
        return f"run {marker.run} stopped by {by}"

    final = db.update(task.id, stopped, "stop")
    if publish:
        after_change(db)
    return StopResult(final, marker.run, marker.pid)


def _newest(db: TaskDatabase, task: TaskMetadata) -> TaskMetadata:
    """The task as the remote has it now (sync.auto): a worker elsewhere may run it."""
    from gittask.workflow.publish import refresh_from_remote

    if refresh_from_remote(db):
        return db.task(task.id)
    return task


def was_stopped(task: TaskMetadata) -> bool:
    return task.status is TaskStatus.FAILED and (task.error_message or "").startswith(
        STOPPED_PREFIX
    )
