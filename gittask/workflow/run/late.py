"""A worker's run whose lease was lost: its work is set aside, never merged over the new owner's.

The lease of a worker's run (:mod:`gittask.workflow.lease`) can be lost while
the run goes: its worker stopped renewing (it died, it was paused, its machine
lost the network) and another worker took the task over. The run's record
writes are then refused (:class:`~gittask.workflow.lease.LeaseLost`): the task
is the new owner's. What the agent did is not thrown away either: its commits
are kept on ``refs/claude-tasks-late/<task>/lease-<n>`` (here and, when it
answers, on the remote), and the task's branch goes back to where the run found
it, so the new owner's work is what the branch gets.
"""

from __future__ import annotations

import contextlib

from gittask.errors import GittaskError
from gittask.runner import worktree as wt
from gittask.workflow.lease import LeaseLost
from gittask.workflow.run.context import RunContext
from gittask.workflow.run.handoffs import Claimed, Plan, RunResult


def set_aside(ctx: RunContext, claimed: Claimed, planned: Plan, lost: LeaseLost) -> RunResult:
    """Keep the run's commits aside, put the branch back, say so; the record is not touched."""
    repo, task = ctx.db.repo, claimed.task
    kept = None
    current = repo.git("rev-parse", "--verify", "-q", f"refs/heads/{task.branch_name}", check=False)
    head = current.stdout.strip() if current.returncode == 0 else None
    if head and head != planned.branch.before:
        kept = lost.lease.late_ref()
        repo.git("update-ref", "-m", "claude-container: lease lost", kept, head)
        if planned.branch.before:
            with contextlib.suppress(GittaskError):
                wt.move_branch(repo, task.branch_name, planned.branch.before, head)
        else:
            repo.git("update-ref", "-d", f"refs/heads/{task.branch_name}", head, check=False)
        if ctx.sync_remote:
            proc = repo.git(
                "push", "--quiet", ctx.sync_remote, f"{kept}:{kept}", check=False, env=ctx.git_env()
            )
            ctx.log(f"pushed {kept} to {ctx.sync_remote}: exit {proc.returncode}")
    error = f"the result of run {claimed.run} was refused: {lost.why()}"
    error += f"; its work is kept at {kept}" if kept else ""
    ctx.say(f"task {task.id[:8]}: {error}")
    with contextlib.suppress(GittaskError):
        ctx.db.refresh()
    final = lost.holder or task
    with contextlib.suppress(GittaskError):
        final = ctx.db.task(task.id)
    if ctx.logs is not None:
        ctx.logs.save_info(status="refused", error=error, late_ref=kept)
    return RunResult(final, False, claimed.run, error)
