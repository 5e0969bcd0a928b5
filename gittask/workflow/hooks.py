"""Extension points of the run loop.

``after_push`` runs at the end of every successful run, once the branch is
pushed: by default the pull-request layer opens the PR (first run) or comments
on it (continue). :func:`register_after_push` replaces that step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gittask.workflow import pull_requests
from gittask.workflow.run_info import RunInfo

if TYPE_CHECKING:
    from gittask.model import TaskMetadata
    from gittask.store.database import TaskDatabase

__all__ = ["AfterPush", "RunInfo", "after_push", "register_after_push"]

AfterPush = Callable[["TaskDatabase", "TaskMetadata", RunInfo], "str | None"]

_after_push: AfterPush = pull_requests.after_push


def register_after_push(hook: AfterPush | None) -> None:
    """Install ``hook`` (None restores the default). It may return a one-line note."""
    global _after_push
    _after_push = hook or pull_requests.after_push


def after_push(db: TaskDatabase, task: TaskMetadata, run_info: RunInfo) -> str | None:
    return _after_push(db, task, run_info)
