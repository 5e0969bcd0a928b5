"""The run shared by ``task create``, ``task start`` and ``task continue``, top to bottom.

Each stage is a module of this package; each takes what the stages before it
handed over (frozen dataclasses, :mod:`~gittask.workflow.run.handoffs`) and
returns the next hand-off:

    preflight   agent, settings, credentials, engine, image          -> Preflight
    claim       live-run marker: one run per task at a time           -> Claimed
    prepare     logs; base and branch plan; worktree; prompt, session -> Plan, Workspace
                the egress proxy (network allowlist); the credentials
                as files on a tmpfs (runner/credentials.py); the
                container, as runner/sandbox.py decides               -> Sandboxed
    execute     record ``running`` (claim pushed); start; follow;
                judge the outcome; the container removed              -> Executed
    harvest     objects, git folder reclaimed, HEAD, leftovers
                committed, credential check, notes, branch moved      -> Harvested
    push        the work branch to the remote                         -> Pushed
    record      ``created``/``continued`` (+ pull request) or ``failed`` -> RunResult
    late        a worker's run whose lease was lost: its work set aside -> RunResult

The record is untouched until ``execute``: a run that cannot start raises
GittaskError and leaves the task as it was. Once the record says ``running``,
every way out records how the run ended. What the run holds is given back by
the ``cleanup`` stack below, in reverse order, whatever happened.

Signals (SIGINT/SIGTERM/SIGHUP) stop the container, keep whatever the agent
did on the local branch, record ``failed`` ("interrupted") and exit 130. Once
the agent's output has ended, a signal is only remembered until its work is on
the local branch (and pushed), and is checked after each such step.

Nothing the agent wrote is trusted: :class:`~gittask.workflow.run.handoffs.Executed`
exists only once its container is gone, and only commits checked for
credential values (:class:`~gittask.workflow.run.handoffs.Harvested`) move the
branch or are pushed. The agent-specific parts are behind
:class:`gittask.runner.agents.Agent`, the container behind
:class:`gittask.runner.engine.Engine`.
"""

from __future__ import annotations

import contextlib

from gittask.errors import GittaskError
from gittask.runner.watch import RunInterrupted
from gittask.store.database import TaskDatabase
from gittask.workflow.lease import LeaseLost
from gittask.workflow.run import claim, execute, harvest, late, prepare, push, record, resources
from gittask.workflow.run.context import RunContext
from gittask.workflow.run.handoffs import (
    Claimed,
    Plan,
    Preflight,
    RunAborted,
    RunRequest,
    RunResult,
    Workspace,
)
from gittask.workflow.run.preflight import preflight, task_overrides


def run_task(db: TaskDatabase, request: RunRequest, pre: Preflight | None = None) -> RunResult:
    """Run the task once, end to end. Raises GittaskError when the run could not start
    (the record is then unchanged), RunAborted when interrupted before it started;
    otherwise returns a RunResult whose ``task`` is the final record."""
    if pre is None:
        pre = preflight(
            db,
            overrides=task_overrides(db.task(request.task_id)),
            allow_host_network=request.allow_host_network,
        )
    ctx = RunContext.open(db, request, pre)
    ctx.guard.install()
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(ctx.guard.restore)  # last of all: the caller's signal handlers
        try:
            return _stages(ctx, cleanup)
        except BaseException as exc:
            if ctx.recorded_running:  # an unexpected error escaped: never leave it running
                ctx.guard.ignore()
                with contextlib.suppress(Exception):
                    message = f"the run crashed: {type(exc).__name__}: {exc}"
                    record.failed(ctx, record.Failure(message))
            raise
        finally:
            ctx.guard.ignore()  # the cleanup is never cut short by a signal
    raise AssertionError("unreachable")  # pragma: no cover (mypy: the with may swallow)


def _stages(ctx: RunContext, cleanup: contextlib.ExitStack) -> RunResult:
    claimed = claim.claim(ctx)
    cleanup.callback(claim.release, ctx, claimed.marker)
    try:
        logs = prepare.open_logs(ctx, claimed)
        cleanup.callback(resources.keep_logs, ctx, logs)
        planned = prepare.plan(ctx, claimed)
        worktree = prepare.checkout(ctx, claimed, planned)
        cleanup.callback(resources.remove_worktree, ctx, worktree)
        ws = prepare.workspace(ctx, claimed, planned, worktree)
        if ws.agent_state is not None:
            cleanup.callback(resources.scrub_agent_state, ctx, ws.agent_state)
        way_out = prepare.open_egress(ctx)
        if way_out is not None:
            cleanup.callback(resources.close_egress, ctx, way_out)
        files = prepare.credential_files(ctx)
        if files is not None:
            cleanup.callback(files.remove)  # also on Ctrl-C and errors
        created = prepare.create_container(ctx, claimed, planned, ws, way_out)
        container = resources.Container(ctx, created, ws)
        cleanup.callback(container.remove)
    except RunInterrupted as exc:
        raise RunAborted(f"interrupted ({exc.signal_name}) before the run started") from None
    try:
        return _run(ctx, claimed, planned, ws, container)
    except LeaseLost as lost:  # a worker's run whose lease another worker holds now
        ctx.recorded_running = False
        return late.set_aside(ctx, claimed, planned, lost)


def _run(
    ctx: RunContext,
    claimed: Claimed,
    planned: Plan,
    ws: Workspace,
    container: resources.Container,
) -> RunResult:
    try:
        executed = execute.execute(ctx, claimed, planned, container)
        harvested = harvest.harvest(ctx, claimed, planned, ws, executed)
        pushed = push.push(ctx, claimed, harvested)
        return record.record(ctx, claimed, planned, pushed)
    except RunInterrupted as exc:
        if not ctx.recorded_running:
            raise RunAborted(f"interrupted ({exc.signal_name}) before the run started") from None
        return record.failed(
            ctx, record.Failure(f"interrupted ({exc.signal_name})", interrupted=True)
        )
    except GittaskError as exc:
        if not ctx.recorded_running:
            raise
        return record.failed(ctx, record.Failure(str(exc)))
