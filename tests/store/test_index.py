"""The rebuildable index and the derived working copy."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from gittask.errors import GittaskError
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


def _registry_ids(root: Path) -> set[str]:
    ids: set[str] = set()
    for shard in (root / "registry").glob("*.json"):
        entries = json.loads(shard.read_text())
        assert all(task_id.startswith(shard.stem) for task_id in entries)
        ids |= set(entries)
    return ids


def test_working_copy_mirrors_the_ref(repo: Path) -> None:
    db = TaskDatabase.open(repo)
    task = db.create(_task("Write docs\n\nIn detail."))
    db.add_feedback(task.id, FeedbackEntry(feedback="shorter please"))
    root = repo / ".claude-container" / "tasks"
    registry = json.loads((root / "task_registry.json").read_text())
    assert registry["tip"] == db.index.tip and registry["tasks"] == 1
    shard = json.loads((root / "registry" / f"{task.id[:2]}.json").read_text())
    assert shard[task.id]["title"] == "Write docs"
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
    assert _registry_ids(root) == {r.id for r in db.rows()} and registry["tasks"] == 2
    db.delete(task.id)
    assert not folder.exists()
    assert _registry_ids(root) == {r.id for r in db.rows()}


def test_working_copy_follows_changes_from_elsewhere(repo: Path) -> None:
    """Written behind its back (another clone's merge, plain git): the next command shows it."""
    db = TaskDatabase.open(repo)
    tasks = [db.create(_task(f"task {i}")) for i in range(6)]
    root = repo / ".claude-container" / "tasks"
    other = TaskDatabase.open(repo)
    other.store.add_feedback(tasks[0].id, FeedbackEntry(feedback="from elsewhere"))
    other.store.delete(tasks[1].id)
    added = _task("added elsewhere")
    other.store.create(added)
    TaskDatabase.open(repo).rows()
    assert _registry_ids(root) == {t.id for t in [*tasks[:1], *tasks[2:], added]}
    assert (
        "from elsewhere"
        in (root / "tasks" / tasks[0].id / "feedback" / "002_continue.md").read_text()
    )
    assert not (root / "tasks" / tasks[1].id).exists()
    # a lost state file or an older layout: rewritten from scratch, strays removed
    (root / ".state.json").unlink()
    stray = root / "tasks" / ("f" * 32)
    stray.mkdir(parents=True)
    TaskDatabase.open(repo).create(_task("one more"))
    assert not stray.exists()
    assert len(_registry_ids(root)) == 7


def test_working_copy_stays_small(repo: Path) -> None:
    """Registry entries for every task; a folder only for the tasks a command worked with."""
    db = TaskDatabase.open(repo)
    made = [db.create(_task(f"task {i}")) for i in range(5)]
    root = repo / ".claude-container" / "tasks"
    for task in made:
        shutil.rmtree(root / "tasks" / task.id)
    TaskDatabase.open(repo).create(_task("one more"))
    assert not any((root / "tasks" / t.id).exists() for t in made)  # no O(N) rewrite
    TaskDatabase.open(repo).get(made[2].id)  # `task show` works with it: its folder appears
    assert (root / "tasks" / made[2].id / "metadata.json").is_file()


def damage_tables(path: Path) -> None:
    """Overwrite the pages of the tasks table and its indexes, leaving the header and
    the meta table sound: sqlite opens the file and fails only in the middle of a query."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = [
        page
        for (page,) in conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'tasks' AND rootpage > 0"
        )
    ]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    for page in pages:
        data[(page - 1) * size : page * size] = b"\xff" * size
    path.write_bytes(bytes(data))


def test_a_damaged_index_is_rebuilt_in_the_middle_of_any_command(repo: Path) -> None:
    db = TaskDatabase.open(repo)
    tasks = [db.create(_task(f"task {i}")) for i in range(3)]
    db.add_feedback(tasks[0].id, FeedbackEntry(feedback="needle"))
    expected = [(r.id, r.status, r.title) for r in db.rows()]
    db.index.close()

    damage_tables(db.index.path)  # a read on a current index (task list's fast path)
    index = fast_index(repo)
    assert index is not None
    assert [(r.id, r.status, r.title) for r in index.rows()] == expected
    index.close()

    damage_tables(db.index.path)  # the slow path
    fresh = TaskDatabase.open(repo)
    assert [(r.id, r.status, r.title) for r in fresh.rows()] == expected
    assert [row.id for row, _ in fresh.index.search("needle")] == [tasks[0].id]
    fresh.index.close()

    damage_tables(db.index.path)  # a write: stored, and the index follows
    writer = TaskDatabase.open(repo)
    added = writer.create(_task("after the damage"))
    assert {r.id for r in TaskDatabase.open(repo).rows()} == {t.id for t in [*tasks, added]}


def test_a_locked_index_is_one_clear_error(repo: Path) -> None:
    db = TaskDatabase.open(repo)
    db.create(_task("one"))
    db.index.close()
    holder = sqlite3.connect(db.index.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a long write
    try:
        TaskDatabase.open(repo).store.create(_task("written meanwhile"))
        waiting = TaskDatabase.open(repo)
        waiting.index.busy_timeout = 0.05
        with pytest.raises(GittaskError) as info:
            waiting.rows()
        message = str(info.value)
        assert "locked" in message and str(db.index.path) in message
        assert "\n" not in message
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(TaskDatabase.open(repo).rows()) == 2


def test_an_index_folder_that_cannot_be_made_is_one_clear_error(repo: Path) -> None:
    db = TaskDatabase.open(repo)
    state = db.index.path.parent
    state.parent.mkdir(exist_ok=True)
    state.write_text("a file where the index folder belongs\n")
    with pytest.raises(GittaskError, match="cannot create the folder of the task index"):
        db.rows()


def test_records_index_whatever_values_they_hold() -> None:
    from gittask.store.index.rows import record_json as _record_json

    text = _record_json({"id": "x", "due": date(2024, 5, 1), (1, 2): "pair", 3: "three"})
    assert json.loads(text) == {"id": "x", "due": "2024-05-01", "(1, 2)": "pair", "3": "three"}


# -- the self-check (issue 11, item 2): valid SQLite, inconsistent contents ---------------


def _twelve(repo: Path) -> tuple[TaskDatabase, list[str]]:
    db = TaskDatabase.open(repo)
    ids = [db.create(_task(f"needle task {i}")).id for i in range(12)]
    assert len(db.rows()) == 12
    db.index.close()
    return db, sorted(ids)


def _listed(repo: Path) -> tuple[list[str], list[str], list[str]]:
    """What the read-only fast path, the slow path and search show."""
    fast = fast_index(repo)
    assert fast is not None  # the tip still matches: only the self-check can notice
    quick = sorted(r.id for r in fast.rows())
    fast.close()
    db = TaskDatabase.open(repo)
    slow = sorted(r.id for r in db.rows())
    found = sorted(r.id for r, _ in db.index.search("needle"))
    db.index.close()
    return quick, slow, found


def test_rows_deleted_from_the_index_come_back(repo: Path) -> None:
    db, ids = _twelve(repo)
    conn = sqlite3.connect(db.index.path)
    conn.execute("DELETE FROM tasks WHERE rowid % 2 = 0")  # a crash, a hand edit: 6 of 12 left
    conn.commit()
    conn.close()
    assert _listed(repo) == (ids, ids, ids)


def test_rows_deleted_from_the_index_come_back_in_search(repo: Path) -> None:
    db, ids = _twelve(repo)
    conn = sqlite3.connect(db.index.path)
    conn.execute("DELETE FROM tasks WHERE id IN (?, ?)", (ids[0], ids[5]))
    conn.commit()
    conn.close()
    fresh = TaskDatabase.open(repo)
    fresh.refresh()
    assert sorted(r.id for r, _ in fresh.index.search("needle")) == ids


@pytest.mark.parametrize("table", ["tasks", "fans", "meta"])
def test_a_dropped_table_is_rebuilt(repo: Path, table: str) -> None:
    db, ids = _twelve(repo)
    conn = sqlite3.connect(db.index.path)
    conn.execute(f"DROP TABLE {table}")
    conn.commit()
    conn.close()
    db2 = TaskDatabase.open(repo)
    assert sorted(r.id for r in db2.rows()) == ids
    assert sorted(r.id for r, _ in db2.index.search("needle")) == ids


def test_an_index_of_another_schema_version_is_rebuilt(repo: Path) -> None:
    db, ids = _twelve(repo)
    conn = sqlite3.connect(db.index.path)
    conn.execute("DELETE FROM tasks")  # an index another version wrote, with other contents
    conn.execute("UPDATE meta SET value = 'older' WHERE key = 'schema'")
    conn.commit()
    conn.close()
    fast = fast_index(repo)  # opening it notices the version
    assert fast is None or sorted(r.id for r in fast.rows()) == ids
    assert sorted(r.id for r in TaskDatabase.open(repo).rows()) == ids
    check = sqlite3.connect(db.index.path)
    from gittask.store.index import SCHEMA_VERSION

    assert check.execute("SELECT value FROM meta WHERE key='schema'").fetchone() == (
        SCHEMA_VERSION,
    )
    check.close()


def test_a_dropped_index_is_rebuilt(repo: Path) -> None:
    db, ids = _twelve(repo)
    conn = sqlite3.connect(db.index.path)
    conn.execute("DROP INDEX tasks_list")
    conn.commit()
    conn.close()
    assert sorted(r.id for r in TaskDatabase.open(repo).rows()) == ids
    conn = sqlite3.connect(db.index.path)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'tasks_list'").fetchone()
    conn.close()


def _contents(db: TaskDatabase) -> tuple[list[tuple[object, ...]], ...]:
    conn = db.index.conn
    tasks = conn.execute("SELECT * FROM tasks ORDER BY id").fetchall()
    fans = conn.execute("SELECT * FROM fans ORDER BY name").fetchall()
    made = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' ORDER BY 1"
    return tasks, fans, conn.execute(made).fetchall()


def test_a_large_rebuild_in_worker_processes_gives_the_same_index(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pygit2

    from gittask.store.index import parse
    from gittask.store.trees import replace_path

    db = TaskDatabase.open(repo)
    tasks = [db.create(_task(f"task {i} needle")) for i in range(8)]
    db.add_feedback(tasks[1].id, FeedbackEntry(feedback="a second needle"))
    # one record edited by hand into something unreadable: listed with its error
    broken = db.store.git.create_blob(b"id: [unclosed\nstatus: pending\n")
    path = f"{layout.task_dir(tasks[2].id)}/{layout.METADATA_FILE}"
    tree = replace_path(db.store.git, db.store.root(), path, broken, pygit2.GIT_FILEMODE_BLOB)
    commit = git(repo, "commit-tree", str(tree), "-p", layout.DATA_REF, "-m", "by hand")
    git(repo, "update-ref", layout.DATA_REF, commit)
    fans = len({layout.fan(t.id) for t in tasks})
    monkeypatch.setattr(parse, "PARALLEL_MIN_FANS", fans + 1)  # in this process
    db.index.rebuild(db.store)
    serial = _contents(db)
    monkeypatch.setattr(parse, "PARALLEL_MIN_FANS", 2)  # in workers, indexes made after
    monkeypatch.setattr(parse, "cores", lambda: 2)
    result = db.index.rebuild(db.store)
    assert result.rebuilt and result.changed == {t.id for t in tasks}
    assert _contents(db) == serial
    rows = {r.id: r for r in db.index.rows()}
    assert path in (rows[tasks[2].id].error or "") and rows[tasks[0].id].status == "pending"
    assert {r.id for r, _ in db.index.search("needle")} == {t.id for t in tasks} - {tasks[2].id}
    db.index.close()
    assert TaskDatabase.open(repo).index.tip == str(db.store.tip())  # the schema checks out


def test_a_failed_or_killed_worker_is_one_clear_error_and_changes_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from gittask.store.index import parse

    db = TaskDatabase.open(repo)
    tasks = [db.create(_task(f"task {i}")) for i in range(6)]
    db.index.delete()
    monkeypatch.setattr(parse, "PARALLEL_MIN_FANS", 2)
    monkeypatch.setattr(parse, "cores", lambda: 2)  # workers on any machine

    def failing(git: object, item: parse.FanWork) -> parse.FanResult:
        raise OSError("the disk went away")

    def killed(git: object, item: parse.FanWork) -> parse.FanResult:
        os._exit(9)

    for broken, said in ((failing, "the disk went away"), (killed, "ended early")):
        with monkeypatch.context() as patch:
            patch.setattr(parse, "fan_rows", broken)
            with pytest.raises(GittaskError, match=said):
                db.index.refresh(db.store)
        assert db.index.tip == "" and db.index.ids() == []  # rolled back as a whole
    db.index.refresh(db.store)
    assert db.index.ids() == sorted(t.id for t in tasks)


def test_a_failed_worker_stops_the_others_even_where_sigterm_is_handled(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker daemon (and a run) handle SIGTERM without exiting; the index's workers,
    forked from them, must still end when one of them fails (not hang the refresh)."""
    import signal
    import time

    from gittask.store.index import parse

    db = TaskDatabase.open(repo)
    fans = sorted({layout.fan(db.create(_task(f"task {i}")).id) for i in range(6)})
    assert len(fans) >= 2
    db.index.delete()
    monkeypatch.setattr(parse, "PARALLEL_MIN_FANS", 2)
    monkeypatch.setattr(parse, "cores", lambda: 2)

    def fail_first_then_hang(git: object, item: parse.FanWork) -> parse.FanResult:
        if item[0] == fans[0]:
            raise OSError("the disk went away")
        time.sleep(600)  # the other worker, still busy
        raise AssertionError("not reached")

    def hung(signum: int, frame: object) -> None:
        raise AssertionError("the refresh hung on its workers")

    monkeypatch.setattr(parse, "fan_rows", fail_first_then_hang)
    old_term = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    old_alarm = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        with pytest.raises(GittaskError, match="the disk went away"):
            db.index.refresh(db.store)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_alarm)
        signal.signal(signal.SIGTERM, old_term)
    assert db.index.tip == "" and db.index.ids() == []
