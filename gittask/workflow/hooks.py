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
    from gittask.config import ProjectConfig
    from gittask.model import TaskMetadata
    from gittask.store.database import TaskDatabase

__all__ = ["AfterPush", "RunInfo", "after_push", "known_pr_note", "register_after_push"]

AfterPush = Callable[["TaskDatabase", "TaskMetadata", RunInfo], "str | None"]

_after_push: AfterPush = pull_requests.after_push


def register_after_push(hook: AfterPush | None) -> None:
    """Install ``hook`` (None restores the default). It may return a one-line note."""
    global _after_push
    _after_push = hook or pull_requests.after_push


def after_push(db: TaskDatabase, task: TaskMetadata, run_info: RunInfo) -> str | None:
    return _after_push(db, task, run_info)


def known_pr_note(db: TaskDatabase, config: ProjectConfig) -> str | None:
    """Why the default step will open no pull request, known before the push (else None).

    A run records it with its result, so that the step finds it recorded and
    need not publish the record a second time. None with a replaced step.
    """
    if _after_push is not pull_requests.after_push:
        return None
    return pull_requests.unavailable_note(db, config)
