"""Stage 4, execute: record ``running``, run the agent, judge how it ended, remove the container.

The record says ``running`` (with the container's id) before the container
starts; with sync.auto the claim is pushed first and a run another clone
claimed is refused here (:class:`gittask.workflow.claims.ClaimLost`). While the
agent runs, a signal kills the container; once its output has ended, a signal
is only remembered until the work is on the local branch (and pushed).
"""

from __future__ import annotations

import os
import shlex

from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.model.clock import utcnow
from gittask.runner import live
from gittask.runner.agents import Agent, AgentOutcome, AgentOutput, AgentSettings, StopReason
from gittask.runner.outputcap import LiveView
from gittask.runner.watch import Limits, RunInterrupted, watch
from gittask.text import one_line
from gittask.workflow import claims, lease
from gittask.workflow.heartbeat import Heartbeat
from gittask.workflow.run.context import RunContext
from gittask.workflow.run.handoffs import Claimed, Executed, Plan
from gittask.workflow.run.resources import Container

#: Seconds a Claude run may keep running after its result event.
DEFAULT_RESULT_GRACE = 10.0
RESULT_GRACE_ENV = "GITTASK_RESULT_GRACE_SECONDS"


def execute(ctx: RunContext, claimed: Claimed, planned: Plan, container: Container) -> Executed:
    pre, task = ctx.pre, claimed.task
    record_running(ctx, claimed, planned, container.id)
    ctx.guard.check()
    ctx.say(
        f"task {task.id[:8]}: run {claimed.run} on branch {task.branch_name} "
        f"(agent {pre.agent.name}, image {pre.image})"
    )
    pre.engine.start(container.id)
    ctx.log("container started")
    output = pre.agent.new_output()
    view = LiveView(
        ctx.request.show,
        ctx.config.logs_live_max_bytes,
        f"`claude-container task logs {task.id[:8]} --run {claimed.run}`",
    )
    exit_code, stopped, interrupted = _follow(ctx, container.id, output, view)
    for line in output.flush():
        view.line(ctx.scrub.text(line))
    view.finish()
    if ctx.logs is not None and ctx.logs.agent_output_cut:
        ctx.log("the agent's output passed logs.run_max_bytes: its log keeps the head and tail")
    outcome = judge(ctx, exit_code, stopped, interrupted, output)
    if pre.workspace == "bundle":  # it has exited: what it left is copied out, then it goes
        container.collect()
    if not container.remove():
        # it may still be running and writing: nothing it touched can be read yet
        raise GittaskError(
            f"could not remove the container {container.id[:12]}; the agent's work was "
            "not taken (is the Docker engine answering?)"
        )
    if ctx.credential_files is not None:
        ctx.credential_files.remove()  # no one reads them any more
    claimed.marker.state = live.STATE_FINISHING
    live.update(ctx.db.repo, claimed.marker)
    return Executed(outcome, interrupted, container_gone=True)


def record_running(ctx: RunContext, claimed: Claimed, planned: Plan, container_id: str) -> None:
    """The record says ``running`` (and the claim is pushed): signals wait meanwhile."""
    task, run, db = claimed.task, claimed.run, ctx.db

    def to_running(t: TaskMetadata) -> str:
        ctx.check_lease(t)
        if ctx.request.lease is None and t.lease:  # not a worker's run: no worker's lease holds
            t.lease, t.worker, t.lease_expires = t.lease + 1, None, None
        t.set_status(TaskStatus.RUNNING)
        t.started_at = utcnow()
        t.completed_at = None
        t.run_count = run
        t.agent = ctx.pre.agent.name
        t.container_id = container_id
        t.error_message = None
        t.publish_error = None
        t.claimed_by = claims.identity(db.repo)
        t.base_branch = t.base_branch or planned.base
        if ctx.request.kind == "continue":
            t.last_continued_at = t.started_at
        return f"run {run} in container {container_id[:12]}"

    with ctx.guard.deferred():
        before = db.tip()
        ctx.task = db.update(task.id, to_running, "running")
        ctx.recorded_running = True
        if ctx.sync_remote and ctx.request.lease is not None:
            _publish_leased_claim(ctx)
        elif ctx.sync_remote:
            try:
                claims.publish_claim(db, ctx.sync_remote, task.id, run, ctx.task.started_at)
            except claims.ClaimLost as lost:
                # another clone claimed this run first: ours never happened
                claims.roll_back(db, ctx.sync_remote, task, ctx.task, before)
                ctx.recorded_running = False
                ctx.discard_logs = True
                raise lost.refusal(db) from None
        claimed.marker.state = live.STATE_RUNNING
        live.update(db.repo, claimed.marker)


def _publish_leased_claim(ctx: RunContext) -> None:
    """A worker's run: ``running`` goes out under its lease, or the run does not start."""
    assert ctx.sync_remote is not None and ctx.request.lease is not None
    try:
        problem = claims.publish_result(
            ctx.db,
            ctx.sync_remote,
            [],
            [],
            env=ctx.git_env(),
            on_remote_moved=ctx.remote_guard(),
            attempts=ctx.push_attempts,
        )
    except lease.LeaseLost as lost:
        ctx.recorded_running = False  # the merge gives the record to the newer lease
        ctx.discard_logs = True
        raise GittaskError(f"{lost.lease.describe()} was lost: {lost.why()}") from None
    if problem is not None:  # the lease cannot be confirmed: do not run unconfirmed
        raise GittaskError(f"the run's claim could not be published: {problem}")


def _follow(
    ctx: RunContext, container_id: str, output: AgentOutput, view: LiveView
) -> tuple[int | None, StopReason | None, str | None]:
    """(exit code, why the run stopped it, the signal that interrupted it)."""
    assert ctx.logs is not None
    logs = ctx.logs
    # nobody watches a background run: `task logs --follow` has its own heartbeat
    every = 0 if ctx.request.detached else ctx.config.heartbeat_seconds
    beat = Heartbeat(ctx.request.task_id, every, ctx.say)

    def on_chunk(chunk: bytes) -> None:
        logs.agent_output(chunk)
        beat.output()
        for line in output.feed(chunk):
            shown = ctx.scrub.text(line)
            beat.saw(shown)
            view.line(shown)

    limits = Limits(
        timeout=ctx.config.timeout_seconds,
        silence=ctx.config.silence_timeout_seconds,
        grace=result_grace(),
    )
    try:
        result = watch(
            ctx.pre.engine,
            container_id,
            on_chunk,
            lambda: output.finished,
            limits,
            on_stop=lambda reason: ctx.log(f"stopping the container: {reason}"),
            on_idle=beat.tick,
        )
    except RunInterrupted as exc:
        ctx.guard.defer()
        ctx.log(f"{exc.signal_name} received: container killed")
        return None, "interrupted", exc.signal_name
    # The agent is done: from here until its work is on the local branch
    # (and pushed) a signal is only remembered, then checked (harvest, push).
    ctx.guard.defer()
    ctx.log(f"agent ended: exit code {result.exit_code}, after {result.duration:.1f}s")
    return result.exit_code, result.stopped, None


def judge(
    ctx: RunContext,
    exit_code: int | None,
    stopped: StopReason | None,
    interrupted: str | None,
    output: AgentOutput,
) -> AgentOutcome:
    """The agent's verdict, with the tool's reasons when it stopped the run."""
    pre, config = ctx.pre, ctx.config
    outcome = pre.agent.outcome(exit_code, output, stopped=stopped)
    if exit_code in (126, 127) and stopped is None:
        exe = agent_executable(pre.agent, pre.settings)
        outcome.success = False
        outcome.error_message = (
            f"agent command `{exe}` not found (or not executable) in image {pre.image} "
            f"(exit {exit_code})"
        )
    if stopped == "timeout":
        outcome.error_message = (
            f"agent timed out after {config.timeout_seconds}s and was stopped "
            "(config timeout_seconds)"
        )
    elif stopped == "idle":
        outcome.error_message = (
            f"agent printed nothing for {config.silence_timeout_seconds}s and was "
            "stopped (config silence_timeout_seconds)"
        )
    if interrupted:
        outcome.success = False
        outcome.error_message = f"interrupted ({interrupted})"
    if outcome.error_message:
        outcome.error_message = ctx.scrub.text(one_line(outcome.error_message))
    return outcome


def agent_executable(agent: Agent, settings: AgentSettings) -> str:
    if agent.name == "command" and settings.command:
        try:
            words = shlex.split(settings.command)
        except ValueError:
            words = settings.command.split()
        return words[0] if words else settings.command
    return str(getattr(agent, "executable", agent.name))


def result_grace() -> float:
    try:
        return max(0.0, float(os.environ.get(RESULT_GRACE_ENV, DEFAULT_RESULT_GRACE)))
    except ValueError:
        return DEFAULT_RESULT_GRACE
