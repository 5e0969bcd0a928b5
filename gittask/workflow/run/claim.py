"""Stage 2, claim: this process takes the task (record untouched but for a crashed run).

With sync.auto the remote's newest state is merged first, so the run's number
is claimed on it. The live-run marker (under a file lock) makes one run per
task at a time on this machine; another clone's claim is refused here and, at
the latest, when the ``running`` record is pushed (:mod:`gittask.workflow.claims`).
What a crashed run of the task left (its container, its worktree, its
credential files, a record still ``running``) is cleared first.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.runner import credentials, live, naming
from gittask.runner import worktree as wt
from gittask.workflow import claims, lease
from gittask.workflow.run.context import RunContext
from gittask.workflow.run.handoffs import Claimed
from gittask.workflow.run.stale import PREVIOUS_DIED, close_dead_run


def claim(ctx: RunContext) -> Claimed:
    db = ctx.db
    if ctx.sync_remote:
        claims.fetch_and_merge(db, ctx.sync_remote)  # claim on the newest state
    db.refresh()
    task = db.task(ctx.request.task_id)
    check_runnable(ctx, task)
    run = task.run_count + 1
    stale = live.marker_for(db.repo, task.id)
    marker = live.RunMarker(task_id=task.id, pid=os.getpid(), run=run)
    live.claim(db.repo, marker)
    ctx.run = run
    try:
        _remove_leftovers(ctx, task.id, stale)
        task = _close_crashed_run(ctx, db.task(task.id))
    except BaseException:
        release(ctx, marker)
        raise
    ctx.task = task
    return Claimed(task, run, marker)


def release(ctx: RunContext, marker: live.RunMarker) -> None:
    """Cleanup: the marker goes (last of all: ``task list`` shows the run until then)."""
    live.release(ctx.db.repo, marker)


def check_runnable(ctx: RunContext, task: TaskMetadata) -> None:
    if ctx.request.lease is not None:  # a worker's run: the claim is the lease
        _check_leased(ctx, task)
        return
    if task.status is TaskStatus.MERGED:
        raise GittaskError(
            f"task {task.id[:8]} is merged: there is nothing more to run",
            "record a new task for further work",
        )
    if task.status is TaskStatus.RUNNING:
        live.refuse_if_running(ctx.db.repo, task.id)
        if claims.claimed_elsewhere(ctx.db.repo, task):
            raise claims.running_elsewhere(task)


def _check_leased(ctx: RunContext, task: TaskMetadata) -> None:
    held = ctx.request.lease
    assert held is not None
    if not lease.holds(task, held) or task.status is not TaskStatus.QUEUED:
        raise GittaskError(
            f"{held.describe()} is not this worker's any more: {lease.LeaseLost(held, task).why()}"
        )
    live.refuse_if_running(ctx.db.repo, task.id)


def _remove_leftovers(ctx: RunContext, task_id: str, stale: live.RunMarker | None) -> None:
    """What a crashed run of this task left: its container, its worktree, its credential files."""
    repo, engine = ctx.db.repo, ctx.pre.engine
    if stale is not None and stale.worktree:
        wt.remove_worktree_folders(repo, Path(stale.worktree))
    if stale is not None:
        for folder in credentials.leftovers(stale.pid):
            credentials.remove_folder(folder)
    with contextlib.suppress(Exception):
        for item in engine.containers(naming.repo_key(repo)):
            if item.task_id == task_id and not live.pid_alive(item.host_pid):
                engine.remove(item.id)
                ctx.request.say(f"removed container {item.name} left by a crashed run")


def _close_crashed_run(ctx: RunContext, task: TaskMetadata) -> TaskMetadata:
    """A record left ``running`` by a crashed run is closed before this run starts."""
    if task.status is TaskStatus.RUNNING:
        task = close_dead_run(ctx.db, task.id, PREVIOUS_DIED)
        ctx.request.say(f"note: {PREVIOUS_DIED}; recorded it as failed")
    return task
