"""Stage 7, record: the task says how the run ended; the pull request follows a success.

``created``/``continued`` with the commits, cost and session; with sync.auto
the branch, its notes, the run's logs and the record go out in one push. Then
the after-push step (:mod:`gittask.workflow.hooks`: the pull request) runs;
its problems are notes, never a failed run: the work is pushed and recorded.
Anything else is ``failed`` with a one-line ``error_message``.
"""

from __future__ import annotations

import contextlib
import traceback
from dataclasses import dataclass

from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.model.clock import utcnow
from gittask.runner.agents import AgentOutcome
from gittask.runner.watch import RunInterrupted
from gittask.text import one_line
from gittask.workflow import claims, hooks
from gittask.workflow.publish import after_change
from gittask.workflow.run.context import RunContext
from gittask.workflow.run.handoffs import Claimed, Plan, Pushed, RunResult


@dataclass(frozen=True)
class Failure:
    """Why a run failed, and what it leaves (unfinished commits stay on the local branch)."""

    error: str
    outcome: AgentOutcome | None = None
    commits: tuple[str, ...] = ()
    head: str | None = None
    interrupted: bool = False
    publish_error: str | None = None


def record(ctx: RunContext, claimed: Claimed, planned: Plan, pushed: Pushed) -> RunResult:
    harvested = pushed.harvested
    if pushed.error is not None:
        return failed(
            ctx,
            Failure(
                pushed.error,
                outcome=harvested.outcome,
                commits=harvested.commits,
                head=harvested.head,
                interrupted=bool(pushed.interrupted),
                publish_error=pushed.publish_error,
            ),
        )
    return succeeded(ctx, claimed, planned, pushed)


def apply_outcome(ctx: RunContext, t: TaskMetadata, outcome: AgentOutcome | None) -> None:
    """Session, totals (cost, tokens, turns) and the answer to the feedback."""
    if outcome is None:
        return
    if outcome.session_id:
        t.session_id = outcome.session_id
    if outcome.cost_usd is not None:
        t.cost_usd = round((t.cost_usd or 0.0) + outcome.cost_usd, 6)
    if outcome.input_tokens is not None:
        t.input_tokens = (t.input_tokens or 0) + outcome.input_tokens
    if outcome.output_tokens is not None:
        t.output_tokens = (t.output_tokens or 0) + outcome.output_tokens
    if outcome.num_turns is not None:
        t.num_turns = (t.num_turns or 0) + outcome.num_turns
    if outcome.summary and ctx.request.feedback_id:
        for entry in t.feedback_history:
            if entry.id == ctx.request.feedback_id:
                entry.claude_response_summary = ctx.scrub.text(outcome.summary.strip())[:4000]


def _add_commits(t: TaskMetadata, commits: tuple[str, ...], head: str) -> None:
    t.commit_hash = head
    t.commits = [*t.commits, *(c for c in commits if c not in t.commits)]


def succeeded(ctx: RunContext, claimed: Claimed, planned: Plan, pushed: Pushed) -> RunResult:
    task, run = claimed.task, claimed.run
    outcome, commits, head = (
        pushed.harvested.outcome,
        pushed.harvested.commits,
        pushed.harvested.head,
    )
    status = (
        TaskStatus.CONTINUED if ctx.request.kind == "continue" and run > 1 else TaskStatus.CREATED
    )

    pr_note = None
    if pushed.pushed and not (ctx.request.kind == "continue" and task.pr_number):
        with contextlib.suppress(GittaskError):
            pr_note = hooks.known_pr_note(ctx.db, ctx.config)

    def finish(t: TaskMetadata) -> str:
        ctx.check_lease(t)
        t.set_status(status)
        t.error_message = None
        t.completed_at = utcnow()
        _add_commits(t, commits, head)
        apply_outcome(ctx, t, outcome)
        if pr_note is not None and not t.pr_number:
            t.pr_note = pr_note  # goes out with the result: no second push for it
        return f"run {run}: {len(commits)} commit(s), head {head[:12]}"

    with ctx.guard.deferred():
        final = ctx.db.update(task.id, finish, status.value)
        ctx.recorded_running = False
        if ctx.sync_remote and pushed.pushed:
            # the branch, its notes, the run logs and this record, in one push
            ctx.say(f"pushing {task.branch_name} and the task to {ctx.sync_remote}")
            problem = claims.publish_result(
                ctx.db,
                ctx.sync_remote,
                [task.branch_name],
                [],
                env=ctx.git_env(),
                on_remote_moved=ctx.remote_guard(),
                attempts=ctx.push_attempts,
            )
            if problem is not None:
                return publish_failed(ctx, claimed, commits, head, problem)
    interrupted = bool(pushed.interrupted) or ctx.guard.received is not None
    ctx.say(
        f"task {task.id[:8]} {status.value}: {len(commits)} new commit(s) on "
        f"{task.branch_name}" + (f", pushed to {ctx.remote}" if pushed.pushed else "")
    )
    _save_info(ctx, status, pushed)
    notes = list(pushed.notes)
    run_info = _run_info(ctx, claimed, planned, final, pushed, notes)
    note, interrupted = _after_push(ctx, final, run_info, interrupted)
    if note:
        notes.append(ctx.scrub.text(note))
        ctx.log(note)
    with contextlib.suppress(GittaskError):
        final = ctx.db.task(task.id)
    return RunResult(final, True, run, None, list(commits), pushed.pushed, notes, interrupted)


def _save_info(ctx: RunContext, status: TaskStatus, pushed: Pushed) -> None:
    """How the run ended, into its run.json."""
    if ctx.logs is None:
        return
    harvested = pushed.harvested
    ctx.logs.save_info(
        status=status.value,
        commits=list(harvested.commits),
        head=harvested.head,
        pushed=pushed.pushed,
        cost_usd=harvested.outcome.cost_usd,
        session_id=harvested.outcome.session_id,
        completed_at=utcnow().isoformat(),
    )


def _run_info(
    ctx: RunContext,
    claimed: Claimed,
    planned: Plan,
    final: TaskMetadata,
    pushed: Pushed,
    notes: list[str],
) -> hooks.RunInfo:
    """What the run did, for the after-push step (``notes``: shared, it may add one)."""
    task, outcome = claimed.task, pushed.harvested.outcome
    feedback = None
    if ctx.request.feedback_id:
        feedback = next(
            (f for f in final.feedback_history if f.id == ctx.request.feedback_id), None
        )
    return hooks.RunInfo(
        task_id=task.id,
        run=claimed.run,
        kind=ctx.request.kind,
        branch=task.branch_name,
        base_branch=final.base_branch or planned.base,
        commits=list(pushed.harvested.commits),
        head=pushed.harvested.head,
        pushed=pushed.pushed,
        remote=ctx.remote,
        summary=ctx.scrub.text(outcome.summary) if outcome.summary else None,
        feedback=feedback,
        config=ctx.config,
        cost_usd=outcome.cost_usd,
        notes=notes,
    )


def _after_push(
    ctx: RunContext, final: TaskMetadata, run_info: hooks.RunInfo, interrupted: bool
) -> tuple[str | None, bool]:
    """The after-push step (the pull request): (a note for the user, interrupted)."""
    if interrupted:
        note = (
            f"interrupted ({ctx.guard.received or 'signal'}) after the push: "
            "the after-push step (pull request) did not run"
        )
        return note, True
    try:
        ctx.guard.allow()  # opening a pull request may be cut short
        return hooks.after_push(ctx.db, final, run_info), False
    except GittaskError as exc:
        return f"after the push: {exc}", False
    except RunInterrupted as exc:
        return f"interrupted ({exc.signal_name}) after the push", True
    except Exception as exc:  # the work is pushed and recorded: never lose that
        ctx.log("".join(traceback.format_exception(exc)).rstrip())
        note = (
            f"after the push: unexpected {type(exc).__name__}: {exc} (see 'task logs --execution')"
        )
        return note, False
    finally:
        ctx.guard.defer()


def publish_failed(
    ctx: RunContext, claimed: Claimed, commits: tuple[str, ...], head: str, problem: str
) -> RunResult:
    """The run succeeded but its work did not reach the remote: the record says so."""
    task = claimed.task
    remote = ctx.sync_remote or ctx.remote
    problem = ctx.scrub.text(one_line(problem))
    error = (
        f"push to {remote} failed: {problem}; the work is on the local branch "
        f"{task.branch_name} ({head[:12]}): publish it with `task push {task.id[:8]}`"
    )

    def unpublished(t: TaskMetadata) -> str:
        ctx.check_lease(t)
        t.status = TaskStatus.FAILED  # the same run, corrected: not a new transition
        t.error_message = error
        t.publish_error = problem
        return error

    ctx.log(f"failed: {error}")
    with ctx.guard.deferred():
        final = ctx.db.update(task.id, unpublished, "failed")
        # at least the record may go (a refused branch, say): the claim must not stay
        after_change(
            ctx.db, ctx.config, on_remote_moved=ctx.remote_guard(), attempts=ctx.push_attempts
        )
    if ctx.logs is not None:
        ctx.logs.save_info(status="failed", error=error, pushed=False)
    interrupted = ctx.guard.received is not None
    return RunResult(final, False, claimed.run, error, list(commits), interrupted=interrupted)


def failed(ctx: RunContext, failure: Failure) -> RunResult:
    """Record ``failed``: the error, and the unfinished commits when there are some."""
    assert ctx.task is not None
    error = ctx.scrub.text(one_line(failure.error))
    if failure.interrupted:
        ctx.guard.ignore()  # a second Ctrl-C must not break the record

    def fail(t: TaskMetadata) -> str:
        ctx.check_lease(t)
        if t.status is TaskStatus.RUNNING:
            t.set_status(TaskStatus.FAILED)
        t.error_message = error
        t.completed_at = utcnow()
        if failure.commits and failure.head:
            _add_commits(t, failure.commits, failure.head)
        t.publish_error = failure.publish_error
        apply_outcome(ctx, t, failure.outcome)
        return error

    ctx.log(f"failed: {error}")
    with ctx.guard.deferred():
        final = ctx.db.update(ctx.task.id, fail, "failed")
        ctx.recorded_running = False
        if ctx.sync_remote:
            # the claim was published: so is its end (the work branch stays local)
            after_change(
                ctx.db, ctx.config, on_remote_moved=ctx.remote_guard(), attempts=ctx.push_attempts
            )
    interrupted = failure.interrupted or ctx.guard.received is not None
    if ctx.logs is not None:
        ctx.logs.save_info(
            status="failed",
            error=error,
            commits=list(failure.commits),
            completed_at=utcnow().isoformat(),
            cost_usd=failure.outcome.cost_usd if failure.outcome else None,
        )
    return RunResult(final, False, ctx.run, error, list(failure.commits), interrupted=interrupted)
