"""Recording, reading and deleting tasks (no container involved)."""

from __future__ import annotations

from gittask.config import configured_remote, project_root
from gittask.errors import UsageError
from gittask.model import TaskMetadata, TaskStatus
from gittask.model.task import new_task_id
from gittask.store.database import TaskDatabase
from gittask.store.history import HistoryEntry
from gittask.workflow.branches import (
    check_base_exists,
    check_branch_free,
    check_branch_name,
    suggest_branch,
)
from gittask.workflow.publish import after_change


def record_task(
    db: TaskDatabase,
    description: str,
    branch: str | None,
    base: str | None,
    task_id: str | None = None,
    agent: str | None = None,
    publish: bool = False,
) -> TaskMetadata:
    """Validate and store a new ``pending`` task; nothing is written on bad input.

    ``publish``: push it at once (sync.auto); a run publishes its own claim instead.
    """
    description = description.strip()
    if not description:
        raise UsageError("the task description is empty; nothing was stored")
    task_id = task_id or new_task_id()
    db.refresh()
    remote = configured_remote(project_root(db.repo))
    name = check_branch_name(branch) if branch else suggest_branch(description, task_id)
    check_branch_free(db, name, remote)
    if base:
        base = check_branch_name(base)
        check_base_exists(db, base, remote)
    task = TaskMetadata(
        id=task_id,
        description=description + "\n",
        status=TaskStatus.PENDING,
        branch_name=name,
        base_branch=base,
        author=db.repo.author_string(),
        agent=agent,
    )
    # checked again as part of the write: two creates racing for one branch, one wins
    stored = db.create(task, lambda: check_branch_free(db, name, remote))
    if publish:
        after_change(db)
    return stored


def resolve_many(db: TaskDatabase, prefixes: list[str]) -> list[str]:
    """Resolve every prefix first, so one bad id changes nothing."""
    ids: list[str] = []
    for prefix in prefixes:
        task_id = db.resolve(prefix)
        if task_id not in ids:
            ids.append(task_id)
    return ids


def ids_with_status(db: TaskDatabase, status: TaskStatus) -> list[str]:
    return [row.id for row in db.rows(status.value)]


def delete_tasks(db: TaskDatabase, ids: list[str]) -> list[TaskMetadata]:
    deleted = [db.delete(task_id) for task_id in ids]
    if deleted:
        after_change(db)
    return deleted


def history(db: TaskDatabase, task_ids: set[str] | None, limit: int) -> list[HistoryEntry]:
    """What happened to tasks (all, or ``task_ids``), newest first, at most ``limit``."""
    from itertools import islice

    return list(islice(db.history(task_ids), limit))
