"""Extension points of the run loop.

``after_push`` runs at the end of every successful run, once the branch is
pushed (the pull-request layer opens or comments on the PR there). Register a
function with :func:`register_after_push`; by default nothing happens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gittask.config import ProjectConfig
    from gittask.model import FeedbackEntry, TaskMetadata
    from gittask.store.database import TaskDatabase


@dataclass
class RunInfo:
    """What one run did, for whoever acts after the push."""

    task_id: str
    run: int  # run number of the task (1 = the first run)
    kind: str  # "create" (first run or a retry) or "continue"
    branch: str
    base_branch: str
    commits: list[str]  # new commits of this run, oldest first
    head: str  # the branch's commit after the run
    pushed: bool  # False when there is no remote to push to
    remote: str
    summary: str | None  # the agent's final message (credentials scrubbed)
    feedback: FeedbackEntry | None  # the feedback this run answered (continue)
    config: ProjectConfig
    cost_usd: float | None = None
    notes: list[str] = field(default_factory=list)  # one-line remarks to show the user


AfterPush = Callable[["TaskDatabase", "TaskMetadata", RunInfo], "str | None"]


def _no_op(db: TaskDatabase, task: TaskMetadata, run_info: RunInfo) -> str | None:
    return None


_after_push: AfterPush = _no_op


def register_after_push(hook: AfterPush | None) -> None:
    """Install ``hook`` (None restores the no-op). It may return a one-line note to show."""
    global _after_push
    _after_push = hook or _no_op


def after_push(db: TaskDatabase, task: TaskMetadata, run_info: RunInfo) -> str | None:
    return _after_push(db, task, run_info)
