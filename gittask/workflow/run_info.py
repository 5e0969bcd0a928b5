"""What one run did, handed to whoever acts after the push (the pull-request step)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gittask.config import ProjectConfig
    from gittask.model import FeedbackEntry


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
