"""Recording, reading and deleting tasks (no container involved)."""

from __future__ import annotations

from typing import Any

from gittask.config import configured_remote, project_root
from gittask.errors import UsageError
from gittask.model import FeedbackEntry, FeedbackType, TaskMetadata, TaskStatus
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
    labels: list[str] | None = None,
    template: str | None = None,
    extra: dict[str, Any] | None = None,
    depends_on: list[str] | None = None,
) -> TaskMetadata:
    """Validate and store a new ``pending`` task; nothing is written on bad input.

    ``publish``: push it at once (sync.auto); a run publishes its own claim instead.
    ``template``, ``extra``: the template it was made from and what it recorded;
    ``depends_on``: the tasks it waits for (existing ones: no cycle is possible).
    """
    from gittask.config import load_config
    from gittask.workflow.inputs import check_text

    limit = load_config(db.repo).description_max_bytes
    description = check_text("the description", description, limit).strip()
    if not description:
        raise UsageError("the task description is empty; nothing was stored")
    task_id = task_id or new_task_id()
    labels = check_labels(labels or [])
    db.refresh()
    remote = configured_remote(project_root(db.repo))
    name = check_branch_name(branch) if branch else suggest_branch(description, task_id)
    check_branch_free(db, name, remote)
    if base:
        base = check_branch_name(base, "base branch")
        check_base_exists(db, base, remote)
    task = TaskMetadata(
        id=task_id,
        description=description + "\n",
        status=TaskStatus.PENDING,
        branch_name=name,
        base_branch=base,
        author=db.repo.author_string(),
        agent=agent,
        template=template,
        depends_on=list(depends_on or []),
        extra={**({"labels": labels} if labels else {}), **(extra or {})},
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


#: Longest label, in characters.
LABEL_MAX = 50


def check_labels(labels: list[str]) -> list[str]:
    """Labels as stored: trimmed, unique, in order; a bad one is refused."""
    import re

    kept: list[str] = []
    for label in labels:
        text = label.strip()
        if not text or len(text) > LABEL_MAX or not re.fullmatch(r"[^\s,+]+", text):
            raise UsageError(
                f"bad label {label!r}",
                f"a label is 1 to {LABEL_MAX} characters, without spaces, commas or '+'",
            )
        if text not in kept:
            kept.append(text)
    return kept


def change_labels(
    db: TaskDatabase, task_id: str, add: list[str], remove: list[str]
) -> TaskMetadata:
    """Add and remove labels in one commit (published at once, sync.auto)."""
    add, remove = check_labels(add), check_labels(remove)

    def relabel(task: TaskMetadata) -> str:
        current = [str(x) for x in task.extra.get("labels") or []]
        current = [x for x in current if x not in remove] + [x for x in add if x not in current]
        if current:
            task.extra["labels"] = current
        else:
            task.extra.pop("labels", None)
        return "labels: " + (", ".join(current) or "none")

    task = db.update(task_id, relabel, "label")
    after_change(db)
    return task


def new_feedback(db: TaskDatabase, task: TaskMetadata, text: str, kind: str) -> FeedbackEntry:
    """The feedback entry to store; refused (UsageError) when empty or too large for one
    record."""
    from gittask.store import layout
    from gittask.store.taskstore import record_bytes

    if not text.strip():
        raise UsageError("the feedback is empty; nothing was stored")
    entry = FeedbackEntry(
        feedback=text.strip() + "\n",
        feedback_type=FeedbackType(kind),
        author=db.repo.author_string(),
    )
    record_bytes(f"{layout.task_dir(task.id)}/feedback/{entry.id}.yaml", entry.to_dict())
    return entry
