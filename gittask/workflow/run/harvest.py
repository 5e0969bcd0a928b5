"""Stage 5, harvest: take the agent's work onto the task's branch, trusting nothing it wrote.

Only once the container is gone (:class:`Executed`): the objects it wrote are
copied in (regular files only), the worktree's git folder is reduced to what
git puts there before any host git runs in it, HEAD must descend from the
start, what is left uncommitted becomes one commit (with ``Task-Id``), and the
new commits are searched for credential values: a hit refuses the whole run's
work (the branch is not moved, nothing is pushed). Then each commit gets its
note and the branch moves, by compare-and-swap.
"""

from __future__ import annotations

from typing import Any

from gittask.errors import GittaskError
from gittask.model.outcome import NOTHING_CHANGED
from gittask.runner import worktree as wt
from gittask.runner.agents import AgentOutcome
from gittask.store.notes import add_note
from gittask.text import one_line
from gittask.workflow.run.context import RunContext
from gittask.workflow.run.handoffs import Claimed, Executed, Harvested, Plan, Workspace


def harvest(
    ctx: RunContext, claimed: Claimed, planned: Plan, ws: Workspace, executed: Executed
) -> Harvested:
    assert executed.container_gone  # nothing can write the worktree any more
    outcome, worktree, task = executed.outcome, ws.worktree, claimed.task
    error = outcome.error_message if not outcome.success else None
    with ctx.guard.deferred():
        taken = _take(ctx, claimed, worktree, outcome)
        error = error or taken.error
        if taken.leak is not None:
            error = (
                f"refused the agent's work: {taken.leak.describe()}, a credential passed to "
                f"the container; branch {task.branch_name} was not moved and nothing was pushed"
            )
        commits = taken.commits if taken.leak is None else []
        head = taken.head if taken.leak is None else worktree.start
        if commits:
            agent_commits = len(commits) - (1 if taken.made else 0)
            ctx.log(f"{len(commits)} new commit(s), {agent_commits} made by the agent")
            _add_notes(ctx, claimed, outcome, commits)
            wt.move_branch(ctx.db.repo, task.branch_name, head, planned.branch.before)
            ctx.log(f"branch {task.branch_name} -> {head[:12]}")
        elif error is None:
            error = _nothing_changed(ctx, outcome)
    return Harvested(
        outcome=outcome,
        commits=tuple(commits),
        head=head,
        error=error,
        interrupted=executed.interrupted,
        credentials_checked=taken.checked,
        refused=taken.leak is not None,
    )


class _Taken:
    def __init__(self, head: str) -> None:
        self.head = head
        self.commits: list[str] = []
        self.made: str | None = None  # the commit of what the agent left uncommitted
        self.leak: wt.Leak | None = None
        self.checked = False
        self.error: str | None = None


def _take(
    ctx: RunContext, claimed: Claimed, worktree: wt.Worktree, outcome: AgentOutcome
) -> _Taken:
    """Objects, the git folder reclaimed, HEAD, leftovers committed, commits checked."""
    taken = _Taken(worktree.start)
    if ctx.pre.workspace == "bind":
        copied = wt.import_objects(worktree)
        ctx.log(f"took {copied} object file(s) written in the container")
    try:
        if ctx.pre.workspace == "bundle":  # a remote engine's: the objects came as a bundle
            ctx.log(wt.import_bundle(worktree, worktree.scratch / "out.bundle"))
        removed = wt.reclaim_admin(worktree)
        if removed:
            more = f" and {len(removed) - 10} more" if len(removed) > 10 else ""
            ctx.log(f"removed from the worktree's git folder: {', '.join(removed[:10])}{more}")
        taken.head = wt.agent_head(worktree)
        message = commit_message(ctx, claimed, outcome)
        taken.made = wt.commit_changes(worktree, message)
        if taken.made:
            taken.head = taken.made
            ctx.log(f"committed the uncommitted changes as {taken.made[:12]}")
        taken.commits = wt.new_commits(ctx.db.repo, worktree.start, taken.head)
        taken.leak = wt.credential_leak(ctx.db.repo, taken.commits, ctx.pre.credentials)
        taken.checked = True
    except GittaskError as exc:
        taken.error = str(exc)
        taken.commits = []
        ctx.log(f"harvest: {exc}")
    return taken


def commit_message(ctx: RunContext, claimed: Claimed, outcome: AgentOutcome) -> str:
    """The message of the commit made of what the agent left uncommitted."""
    task, run = claimed.task, claimed.run
    subject = task.title if run == 1 else f"{task.title} (run {run})"
    if not outcome.success:
        subject = f"WIP: {subject}"
    body: list[str] = []
    if outcome.summary:
        body = ctx.scrub.text(outcome.summary.strip()).splitlines()[:30]
    if not outcome.success and outcome.error_message:
        body += ["", f"Unfinished: {outcome.error_message}"]
    lines = [subject[:100], ""]
    if body:
        lines += [*body, ""]
    lines += [f"Task-Id: {task.id}", f"Task-Run: {run}"]
    return "\n".join(lines) + "\n"


def _add_notes(
    ctx: RunContext, claimed: Claimed, outcome: AgentOutcome, commits: list[str]
) -> None:
    """``refs/notes/claude-tasks``: which task, run and feedback made each commit."""
    for commit in commits:
        record: dict[str, Any] = {
            "task_id": claimed.task.id,
            "run": claimed.run,
            "feedback_id": ctx.request.feedback_id,
            "agent": ctx.pre.agent.name,
        }
        if outcome.cost_usd is not None:
            record["cost_usd"] = outcome.cost_usd
        if outcome.num_turns is not None:
            record["num_turns"] = outcome.num_turns
        if not outcome.success:
            record["unfinished"] = True
        add_note(ctx.db.repo, commit, ctx.scrub.data(record))


def _nothing_changed(ctx: RunContext, outcome: AgentOutcome) -> str:
    error = f"{NOTHING_CHANGED}: no commit and no modified file (nothing was pushed)"
    if outcome.summary and outcome.summary.strip():
        error += f"; it said: {one_line(ctx.scrub.text(outcome.summary.strip()), 300)}"
    return error
