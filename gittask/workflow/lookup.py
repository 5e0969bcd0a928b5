"""Finding the task a command names, and whether it may be continued now."""

from __future__ import annotations

from gittask.config import load_config, remote_of
from gittask.errors import GittaskError, TaskNotFoundError
from gittask.forge.urls import looks_like_pull_ref, require_pull_ref
from gittask.model import TaskMetadata, TaskStatus
from gittask.runner import live
from gittask.store.database import TaskDatabase
from gittask.workflow.claims import claimed_elsewhere, running_elsewhere
from gittask.workflow.publish import fetch_and_merge
from gittask.workflow.pull_requests import task_for_pull


def resolve_task(db: TaskDatabase, text: str) -> str:
    """A task id (prefix), or a pull request URL / OWNER/REPO#N of a task.

    Unknown here: the remote's task data is fetched and merged, then looked up again.
    """
    if looks_like_pull_ref(text):
        return task_for_pull(db, require_pull_ref(text), load_config(db.repo))
    try:
        return db.resolve(text)
    except TaskNotFoundError as exc:
        remote = remote_of(load_config(db.repo))
        if not fetch_and_merge(db, remote):
            raise
        try:
            return db.resolve(text)
        except TaskNotFoundError:
            raise TaskNotFoundError(
                exc.message, f"not on {remote} either: no clone has published it"
            ) from None


def check_continuable(db: TaskDatabase, task: TaskMetadata) -> None:
    """Refuse (before any feedback is stored) a task that is merged or running."""
    if claimed_elsewhere(db.repo, task):
        raise running_elsewhere(task)
    if task.status is TaskStatus.MERGED:
        raise GittaskError(
            f"task {task.id[:8]} is merged: there is nothing more to continue",
            "record a new task for further work",
        )
    live.refuse_if_running(db.repo, task.id)
