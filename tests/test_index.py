"""The rebuildable index and the derived working copy."""

from __future__ import annotations

import json
from pathlib import Path

from gittask.model import FeedbackEntry, TaskMetadata
from gittask.model.task import new_task_id
from gittask.store import layout
from gittask.store.database import TaskDatabase
from gittask.store.fastpath import fast_index
from tests.conftest import git


def _task(description: str) -> TaskMetadata:
    tid = new_task_id()
    return TaskMetadata(id=tid, description=description, branch_name=f"b-{tid[:8]}")


def test_index_follows_the_ref_incrementally(repo: Path) -> None:
    db = TaskDatabase.open(repo)
    tasks = [db.create(_task(f"task {i}")) for i in range(5)]
    assert {r.id for r in db.rows()} == {t.id for t in tasks}
    before = db.index.tip
    db.add_feedback(tasks[0].id, FeedbackEntry(feedback="needle in feedback"))
    # a refresh after one change re-reads exactly that task
    fresh = TaskDatabase.open(repo)
    fresh.index.refresh(fresh.store)  # already current: nothing to do
    assert fresh.index.tip != before
    other = TaskDatabase.open(repo)
    other.index.delete()
    result = other.index.refresh(other.store)
    assert result.rebuilt and len(result.changed) == 5
    assert [row.id for row, _score in other.index.search("NEEDLE")] == [tasks[0].id]


def test_a_ref_moved_by_plain_git_is_picked_up(repo: Path) -> None:
    db = TaskDatabase.open(repo)
    kept = db.create(_task("kept"))
    gone = db.create(_task("gone"))
    assert len(db.rows()) == 2
    # roll the ref back with plain git: the index must not show the stale task
    git(repo, "update-ref", layout.DATA_REF, f"{layout.DATA_REF}~1")
    rows = TaskDatabase.open(repo).rows()
    assert [r.id for r in rows] == [kept.id]
    assert gone.id not in {r.id for r in rows}


def test_fast_index_is_used_only_when_current(repo: Path) -> None:
    db = TaskDatabase.open(repo)
    db.create(_task("one"))
    db.rows()
    index = fast_index(repo)
    assert index is not None and len(index.rows()) == 1
    TaskDatabase.open(repo).store.create(_task("written behind the index's back"))
    assert fast_index(repo) is None  # stale: callers take the slow, correct path
    git(repo, "pack-refs", "--all")
    assert TaskDatabase.open(repo).rows() and fast_index(repo) is not None


def test_deleting_the_index_costs_only_a_rebuild(repo: Path) -> None:
    db = TaskDatabase.open(repo)
    for i in range(3):
        db.create(_task(f"t{i}"))
    rows = [(r.id, r.status, r.title) for r in db.rows()]
    db.index.path.unlink()
    db2 = TaskDatabase.open(repo)
    assert [(r.id, r.status, r.title) for r in db2.rows()] == rows
    db2.index.path.write_bytes(b"this is not sqlite")
    db3 = TaskDatabase.open(repo)
    assert [(r.id, r.status, r.title) for r in db3.rows()] == rows


def test_working_copy_mirrors_the_ref(repo: Path) -> None:
    db = TaskDatabase.open(repo)
    task = db.create(_task("Write docs\n\nIn detail."))
    db.add_feedback(task.id, FeedbackEntry(feedback="shorter please"))
    root = repo / ".claude-container" / "tasks"
    registry = json.loads((root / "task_registry.json").read_text())
    assert registry["tip"] == db.index.tip
    assert registry["tasks"][task.id]["title"] == "Write docs"
    folder = root / "tasks" / task.id
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["continuation_count"] == 1
    assert (folder / "feedback" / "001_initial.md").read_text().startswith("Write docs")
    assert "shorter please" in (folder / "feedback" / "002_continue.md").read_text()
    # derived, and ignored by git even before `init`
    assert git(repo, "status", "--porcelain") == ""
    # edits to the working copy are not read back: the ref wins
    (folder / "metadata.json").write_text("{}")
    (root / "task_registry.json").write_text("garbage")
    db.create(_task("another"))
    assert TaskDatabase.open(repo).get(task.id[:8]).title == "Write docs"
    registry = json.loads((root / "task_registry.json").read_text())
    assert set(registry["tasks"]) == {r.id for r in db.rows()}
    db.delete(task.id)
    assert not folder.exists()
