"""A slot is claimed by compare-and-swap on the remote: the first push of its task wins.

Every clone that sees a slot come due makes the same task (same id, same
content: :func:`gittask.workflow.schedules.slots.slot_task`) and pushes it,
never forcing. The push that reaches the remote first wins; a clone whose push
is rejected fetches, and when the remote now holds that task (or its tombstone)
it has lost: it starts nothing and its own copy goes (the remote's identical
one takes its place). When the remote moved for another reason, the clone
merges and pushes again. A remote that does not answer means no slot fires
here: the local copy goes, and the catch-up policy decides later.
"""

from __future__ import annotations

import contextlib

import pygit2

from gittask.errors import GittaskError
from gittask.model import TaskMetadata
from gittask.notices import notice
from gittask.store import layout, sync
from gittask.store.database import TaskDatabase
from gittask.workflow.branches import check_branch_free

WON, TAKEN, OFFLINE = "won", "taken", "offline"


class SlotTaken(Exception):
    """Another clone's push of this slot's task reached the remote first."""


def _on_remote(db: TaskDatabase, remote: str, task_id: str) -> bool:
    """The fetched remote holds this task, or its tombstone."""
    ref = db.repo.pygit.references.get(sync.tracking_ref(remote))
    target = ref.resolve().target if ref is not None else None
    if not isinstance(target, pygit2.Oid):
        return False
    with contextlib.suppress(GittaskError):
        db.task(task_id, at=target)
        return True
    with contextlib.suppress(GittaskError, KeyError, ValueError):
        return db.was_deleted(task_id, at=target)
    return False


def _undo(db: TaskDatabase, task_id: str, before: pygit2.Oid | None, keep: bool) -> None:
    """Take back this clone's commit of the slot's task.

    Right after it, the ref goes back (compare-and-swap). Later (merges were made
    on top while retrying), the copy stays when the remote holds the same task
    (``keep``: the merge takes it as it is), else it is discarded.
    """
    git = db.repo.pygit
    ref = git.references.get(layout.DATA_REF)
    tip = ref.target if ref is not None else None
    commit = git.get(tip) if isinstance(tip, pygit2.Oid) else None
    just_after = isinstance(commit, pygit2.Commit) and commit.parent_ids == [before]
    if ref is not None and before is not None and just_after:
        with contextlib.suppress(pygit2.GitError, OSError):
            ref.set_target(before, "slot not claimed: undo the local copy")
            db.reindex()
            return
    if not keep and db.exists(task_id):
        db.discard(task_id, f"slot {task_id[:8]} not claimed (the remote did not answer)")


def claim_slot(db: TaskDatabase, remote: str | None, task: TaskMetadata) -> str:
    """Store the slot's task and push it; WON, TAKEN (another clone did) or OFFLINE."""
    before = db.tip()
    try:
        db.create(task, lambda: check_branch_free(db, task.branch_name, remote))
    except GittaskError:
        if db.exists(task.id):
            return TAKEN  # it arrived meanwhile (another process of this clone)
        raise
    if remote is None:
        return WON  # no remote: this clone is the only one

    def check() -> None:
        if _on_remote(db, remote, task.id):
            raise SlotTaken(task.id)

    try:
        sync.publish(db.repo, remote, env={"GIT_TERMINAL_PROMPT": "0"}, on_remote_moved=check)
    except SlotTaken:
        _undo(db, task.id, before, keep=True)
        _integrate(db, remote)
        return TAKEN
    except GittaskError as exc:
        _undo(db, task.id, before, keep=False)
        notice(f"warning: slot task {task.id[:8]} not claimed: {exc.message}")
        return OFFLINE
    db.refresh()
    return WON


def _integrate(db: TaskDatabase, remote: str) -> None:
    with contextlib.suppress(GittaskError):
        sync.integrate(db.repo, remote)
        sync.merge_notes(db.repo, remote)
    db.refresh()
