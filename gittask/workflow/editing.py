"""``task edit``: a new description (and so a new title, its first line) as one commit.

Refused while the task runs (the agent works from the text it was given) and
when the text is empty; unchanged text stores nothing. The write is
compare-and-swap on the ref: when the description changed while the editor was
open (another command, another clone's change merged in), the edit is refused
rather than overwriting it.
"""

from __future__ import annotations

from gittask.errors import GittaskError, UsageError
from gittask.model import TaskMetadata, TaskStatus
from gittask.store.database import TaskDatabase
from gittask.workflow import claims
from gittask.workflow.publish import after_change


def check_editable(db: TaskDatabase, task: TaskMetadata) -> None:
    """Refuse a running task, naming the run (as ``delete`` does)."""
    if task.status is not TaskStatus.RUNNING:
        return
    from gittask.workflow.stop import running_run

    short = task.id[:8]
    marker = running_run(db, task)
    if marker is not None:
        raise GittaskError(
            f"task {short} is running (run {marker.run}, pid {marker.pid}); nothing was changed",
            f"edit it once the run ends, or stop it with 'task stop {short}'",
        )
    if claims.claimed_elsewhere(db.repo, task):
        raise GittaskError(
            f"task {short} is being run by {task.claimed_by} (run {task.run_count}); "
            "nothing was changed",
            "edit it once that run ends",
        )
    raise GittaskError(
        f"task {short} is recorded as running but no run is alive here; nothing was changed",
        "'claude-container clean' records it as failed",
    )


def same_text(old: str, new: str) -> bool:
    return old.strip() == new.strip()


def edit_description(db: TaskDatabase, task: TaskMetadata, text: str) -> TaskMetadata | None:
    """Store ``text`` as the description of ``task`` (as read before the editor opened).

    None when nothing changed (no commit). Refused (nothing stored): empty text, a
    running task, a description that changed meanwhile.
    """
    new = text.strip()
    if not new:
        raise UsageError("the description is empty; nothing was changed")
    if same_text(task.description, new):
        return None
    before = task.description

    def change(current: TaskMetadata) -> str:
        check_editable(db, current)
        if not same_text(current.description, before):
            raise GittaskError(
                f"the description of task {current.id[:8]} changed while you edited it; "
                "nothing was changed",
                "run 'task edit' again to edit the new text",
            )
        old_title = current.title
        current.description = new + "\n"
        return "description edited" if current.title == old_title else f"title was: {old_title}"

    edited = db.update(task.id, change, "edit")
    after_change(db)
    return edited
