"""Extension points of the run loop.

``after_push`` runs at the end of every successful run, once the branch is
pushed: by default the pull-request layer opens the PR (first run) or comments
on it (continue). :func:`register_after_push` replaces that step.
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


def _pull_requests(db: TaskDatabase, task: TaskMetadata, run_info: RunInfo) -> str | None:
    from gittask.workflow import pull_requests

    return pull_requests.after_push(db, task, run_info)


_after_push: AfterPush = _pull_requests


def register_after_push(hook: AfterPush | None) -> None:
    """Install ``hook`` (None restores the default). It may return a one-line note."""
    global _after_push
    _after_push = hook or _pull_requests


def after_push(db: TaskDatabase, task: TaskMetadata, run_info: RunInfo) -> str | None:
    return _after_push(db, task, run_info)
