"""What a run gives back, whatever happened: each function is one entry of the
pipeline's cleanup stack (:mod:`gittask.workflow.run.pipeline`), which runs them
in reverse order: container, egress proxy, agent state, worktree, logs, live-run marker."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from gittask.errors import GittaskError
from gittask.runner import egress, transfer
from gittask.runner import worktree as wt
from gittask.runner.logs import AGENT_LOG, EXECUTION_LOG, RunLogs, scrub_folder
from gittask.workflow import tasklogs
from gittask.workflow.run.context import RunContext
from gittask.workflow.run.handoffs import Sandboxed, Workspace
from gittask.workflow.run.preflight import agent_state_dir


class Container:
    """The run's container until it is removed (by the run, or by the cleanup)."""

    def __init__(self, ctx: RunContext, created: Sandboxed, ws: Workspace) -> None:
        self.ctx = ctx
        self.id = created.container_id
        self.ws = ws
        self.gone = False

    def collect(self) -> None:
        """A run without mounts: copy the agent's bundle and state out of the exited container."""
        engine, worktree, agent_state = self.ctx.pre.engine, self.ws.worktree, self.ws.agent_state
        try:
            bundle = engine.copy_out(self.id, transfer.BUNDLE_OUT)
        except GittaskError as exc:
            self.ctx.log(f"no bundle came out of the container: {exc.message}")
        else:
            (worktree.scratch / "out.bundle").write_bytes(bundle)
            self.ctx.log(f"copied the agent's bundle out ({len(bundle)} bytes)")
        if agent_state is None:
            return
        try:
            count = transfer.unpack_state(engine.copy_out(self.id, transfer.STATE_OUT), agent_state)
            self.ctx.log(f"copied the agent's state out ({count} files)")
        except (GittaskError, OSError, ValueError) as exc:  # tarfile's errors are ValueErrors
            self.ctx.log(f"the agent's state did not come out: {exc}")

    def remove(self) -> bool:
        """Remove it (once); True when it is gone."""
        if not self.gone:
            self.gone = self.ctx.pre.engine.remove(self.id)
            self.ctx.log("container removed" if self.gone else "could not remove the container")
        return self.gone


def close_egress(ctx: RunContext, way_out: egress.Egress) -> None:
    """Stop the run's proxy (once its container is gone); it logs its totals."""
    way_out.stop()


def scrub_agent_state(ctx: RunContext, folder: Path) -> None:
    """What tools printed may sit in the agent's transcripts: mask credentials."""
    with contextlib.suppress(OSError):
        changed = scrub_folder(folder, ctx.scrub)
        if changed:
            ctx.log(f"masked credentials in {len(changed)} file(s) of the agent's state")


def remove_worktree(ctx: RunContext, worktree: wt.Worktree) -> None:
    wt.remove_worktree(worktree)
    ctx.log("worktree removed")


def keep_logs(ctx: RunContext, logs: RunLogs) -> None:
    """Close the run's logs and store them in git (a run that lost its claim: delete them)."""
    logs.close()
    ctx.logs = None
    if ctx.discard_logs:
        _discard_run_logs(logs.root, logs.folder)
        return
    state = None
    if ctx.task is not None and ctx.pre.agent.state_dir:
        state = agent_state_dir(ctx.db, ctx.task.id)
    tasklogs.keep_run(
        ctx.db,
        ctx.config,
        ctx.task,
        ctx.run,
        logs.folder,
        state,
        ctx.scrub,
        ctx.pre.credentials,
        ctx.remote,
        ctx.request.say,
        ctx.pre.agent.session_file,
    )


def _discard_run_logs(root: Path, folder: Path) -> None:
    """A run that lost its claim leaves no log folder (its number is another clone's)."""
    shutil.rmtree(folder, ignore_errors=True)
    runs = sorted(p for p in root.glob("run-*") if p.is_dir())
    for link in (root / name for name in (AGENT_LOG, EXECUTION_LOG)):
        with contextlib.suppress(OSError):
            if link.is_symlink():
                link.unlink()
                if runs:
                    os.symlink(f"{runs[-1].name}/{link.name}", link)
