"""One run of a task: read :mod:`gittask.workflow.run.pipeline` first, it lists the stages."""

from __future__ import annotations

from gittask.workflow.run.handoffs import (
    Preflight,
    RunAborted,
    RunFailed,
    RunKind,
    RunRequest,
    RunResult,
)
from gittask.workflow.run.pipeline import run_task
from gittask.workflow.run.preflight import (
    agent_settings,
    agent_state_dir,
    image_name,
    preflight,
    task_overrides,
)
from gittask.workflow.run.signals import SignalGuard
from gittask.workflow.run.stale import recover_stale_run

__all__ = [
    "Preflight",
    "RunAborted",
    "RunFailed",
    "RunKind",
    "RunRequest",
    "RunResult",
    "SignalGuard",
    "agent_settings",
    "agent_state_dir",
    "image_name",
    "preflight",
    "recover_stale_run",
    "run_task",
    "task_overrides",
]
