"""A local, rebuildable cache of the data ref, so list and search stay fast.

It lives under the shared git dir (``.git/claude-tasks/index.sqlite``), is never
committed, and is judged fresh by the data ref's tip id: when the tip moved (a
write, a merge, a plain ``git fetch`` followed by a merge), it is brought up to
date by walking only the fan-out folders and task folders whose tree ids
changed. Deleting the file costs one rebuild.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from gittask.store.taskstore import TaskStore

SCHEMA_VERSION = "2"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS fans (name TEXT PRIMARY KEY, oid TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    fan TEXT NOT NULL,
    oid TEXT NOT NULL,
    status TEXT,
    branch TEXT,
    created_at TEXT,
    title TEXT,
    pr_url TEXT,
    search TEXT,
    record TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS tasks_fan ON tasks(fan);
CREATE INDEX IF NOT EXISTS tasks_branch ON tasks(branch);
-- covers `task list`: the scan never touches the large record/search columns
CREATE INDEX IF NOT EXISTS tasks_list
    ON tasks(created_at DESC, id, oid, status, branch, title, pr_url, error);
"""


class IndexRow(NamedTuple):
    id: str
    oid: str
    status: str | None
    branch: str | None
    created_at: str | None
    title: str | None
    pr_url: str | None
    error: str | None  # set when the record could not be read


@dataclass
class RefreshResult:
    changed: set[str]
    removed: set[str]
    rebuilt: bool = False


_COLUMNS = "id, oid, status, branch, created_at, title, pr_url, error"


class TaskIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
                version = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                if version is None:
                    conn.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,)
                    )
                elif version[0] != SCHEMA_VERSION:
                    raise sqlite3.DatabaseError("old schema")
                return conn
            except sqlite3.DatabaseError:
                conn.close()
                self.delete()  # a cache: a damaged or old one is simply rebuilt
        raise RuntimeError(f"cannot open the task index at {self.path}")

    def delete(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- metadata --------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def tip(self) -> str:
        return self.get_meta("tip") or ""

    # -- queries -----------------------------------------------------------------

    def rows(self, status: str | None = None) -> list[IndexRow]:
        sql = f"SELECT {_COLUMNS} FROM tasks"
        args: tuple[str, ...] = ()
        if status:
            sql += " WHERE status = ?"
            args = (status,)
        sql += " ORDER BY created_at DESC, id"
        return list(map(IndexRow._make, self.conn.execute(sql, args)))

    def record(self, task_id: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT record FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM tasks ORDER BY id")]

    def branch_owner(self, branch: str) -> str | None:
        row = self.conn.execute("SELECT id FROM tasks WHERE branch = ?", (branch,)).fetchone()
        return row[0] if row else None

    def search(self, query: str) -> list[tuple[IndexRow, float]]:
        terms = [t for t in query.lower().split() if t]
        if not terms:
            return []
        sql = f"SELECT {_COLUMNS}, search FROM tasks WHERE " + " AND ".join(
            "instr(search, ?) > 0" for _ in terms
        )
        scored = []
        for *cols, text in self.conn.execute(sql, terms):
            row = IndexRow(*cols)
            title = (row.title or "").lower()
            score = 0.0
            for term in terms:
                score += text.count(term) + 5 * title.count(term)
            if query.lower() in text:
                score += 10  # the whole phrase
            scored.append((row, score))
        scored.sort(key=lambda pair: (-pair[1], pair[0].created_at or ""), reverse=False)
        return scored

    # -- bringing it up to date --------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def refresh(self, store: TaskStore) -> RefreshResult:
        """Bring the index to the data ref's tip, touching only what changed."""
        from gittask.store import layout
        from gittask.store.trees import subtree

        tip = store.tip()
        tip_hex = str(tip) if tip is not None else ""
        if tip_hex == self.tip:
            return RefreshResult(set(), set())
        result = RefreshResult(set(), set(), rebuilt=not self.tip)
        with self._write() as conn:
            if self.tip == tip_hex:  # another process did it while we waited
                return result
            root = store.root(tip) if tip is not None else None
            tasks_tree = subtree(store.git, root, layout.TASKS_DIR)
            known_fans = dict(conn.execute("SELECT name, oid FROM fans").fetchall())
            work: list[FanWork] = []
            seen_fans = set()
            for fan in tasks_tree or []:
                assert fan.name is not None
                seen_fans.add(fan.name)
                if known_fans.get(fan.name) != str(fan.id):
                    rows = conn.execute("SELECT id, oid FROM tasks WHERE fan = ?", (fan.name,))
                    work.append((fan.name, str(fan.id), dict(rows.fetchall())))
            for fan_name, fan_oid, parsed, present, known in _parse_fans(store, work):
                for task_id, oid, record, error in parsed:
                    if record is not None:
                        self._put(conn, fan_name, oid, record)
                    else:
                        self._put_error(conn, fan_name, task_id, oid, error or "unreadable")
                    result.changed.add(task_id)
                gone = set(known) - present
                conn.executemany("DELETE FROM tasks WHERE id = ?", [(t,) for t in gone])
                result.removed |= gone
                conn.execute("INSERT OR REPLACE INTO fans VALUES (?, ?)", (fan_name, fan_oid))
            for fan_name in set(known_fans) - seen_fans:
                rows = conn.execute("SELECT id FROM tasks WHERE fan = ?", (fan_name,))
                result.removed |= {r[0] for r in rows}
                conn.execute("DELETE FROM tasks WHERE fan = ?", (fan_name,))
                conn.execute("DELETE FROM fans WHERE name = ?", (fan_name,))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('tip', ?)", (tip_hex,))
        return result

    def rebuild(self, store: TaskStore) -> RefreshResult:
        self.delete()
        return self.refresh(store)

    @staticmethod
    def _put(conn: sqlite3.Connection, fan: str, oid: str, record: dict[str, Any]) -> None:
        parts = [record.get("description") or ""]
        parts += [f.get("feedback") or "" for f in record.get("feedback_history") or []]
        conn.execute(
            "INSERT OR REPLACE INTO tasks VALUES (?,?,?,?,?,?,?,?,?,?,NULL)",
            (
                record["id"],
                fan,
                oid,
                record.get("status"),
                record.get("branch_name"),
                record.get("created_at"),
                record.get("title"),
                record.get("pr_url"),
                "\n".join(parts).lower(),
                json.dumps(record, ensure_ascii=False),
            ),
        )

    @staticmethod
    def _put_error(conn: sqlite3.Connection, fan: str, task_id: str, oid: str, error: str) -> None:
        from gittask.model.task import title_of

        conn.execute(
            "INSERT OR REPLACE INTO tasks VALUES (?,?,?,NULL,NULL,NULL,?,NULL,'',NULL,?)",
            (task_id, fan, oid, title_of(""), error),
        )


# (fan name, fan tree id, {task id: tree id} already indexed)
FanWork = tuple[str, str, dict[str, str]]
# (task id, tree id, record or None, error or None)
ParsedTask = tuple[str, str, dict[str, Any] | None, str | None]
FanResult = tuple[str, str, list[ParsedTask], set[str], dict[str, str]]

# Parsing YAML is the cost of a large refresh (ruamel's constructor runs in
# Python even over the C parser); above this many changed fan-out folders the
# work is spread over the machine's cores.
PARALLEL_MIN_FANS = 32


def _parse_fans(store: TaskStore, work: list[FanWork]) -> Iterator[FanResult]:
    import multiprocessing

    workers = min(os.cpu_count() or 1, 8)
    if len(work) < PARALLEL_MIN_FANS or workers < 2 or multiprocessing.parent_process():
        for item in work:
            yield _parse_fan(store.git, item)
        return
    import concurrent.futures

    chunks = [work[i::workers] for i in range(workers)]
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [pool.submit(_parse_chunk, str(store.repo.git_dir), chunk) for chunk in chunks]
        for future in futures:
            yield from future.result()


def _parse_chunk(git_dir: str, chunk: list[FanWork]) -> list[FanResult]:
    import pygit2

    git = pygit2.Repository(git_dir)
    return [_parse_fan(git, item) for item in chunk]


def _parse_fan(git: Any, item: FanWork) -> FanResult:
    import pygit2

    from gittask.errors import CorruptRecordError
    from gittask.store import layout
    from gittask.store.taskstore import parse_task_tree

    fan_name, fan_oid, known = item
    parsed: list[ParsedTask] = []
    present: set[str] = set()
    fan_tree = git[fan_oid]
    for entry in fan_tree if isinstance(fan_tree, pygit2.Tree) else []:
        name = entry.name or ""
        present.add(name)
        if known.get(name) == str(entry.id):
            continue
        path = f"{layout.TASKS_DIR}/{fan_name}/{name}"
        obj = git[entry.id]
        try:
            if not isinstance(obj, pygit2.Tree):
                raise CorruptRecordError(path, "not a folder")
            record = parse_task_tree(git, obj, path).to_dict()
        except CorruptRecordError as exc:
            parsed.append((name, str(entry.id), None, str(exc)))
        except Exception as exc:  # one odd record must never stop the others listing
            parsed.append((name, str(entry.id), None, f"{path}: {type(exc).__name__}: {exc}"))
        else:
            parsed.append((name, str(entry.id), record, None))
    return fan_name, fan_oid, parsed, present, known
