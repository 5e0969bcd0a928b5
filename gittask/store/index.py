"""A local, rebuildable cache of the data ref, so list and search stay fast.

It lives under the shared git dir (``.git/claude-tasks/index.sqlite``), is never
committed, and is judged fresh by the data ref's tip id: when the tip moved (a
write, a merge, a plain ``git fetch`` followed by a merge), it is brought up to
date by walking only the fan-out folders and task folders whose tree ids
changed. Deleting the file costs one rebuild.

It also checks itself, so that an index that is valid SQLite but inconsistent
heals instead of silently hiding tasks: on opening, every table and index must
be there and the schema version must be this code's (else the file is rebuilt);
before the first read of a command, the number of task rows must match the
count recorded for each fan-out folder (else the folders that disagree are read
again from the ref).

Being a cache, a damaged index (not a database, a malformed page) is deleted
and rebuilt from the ref without a word; what cannot be cured that way (a lock
held too long, a full disk, a folder that cannot be written) is a one-line
:class:`~gittask.errors.GittaskError` naming the file.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from gittask.errors import GittaskError

if TYPE_CHECKING:
    from gittask.store.taskstore import TaskStore

T = TypeVar("T")

SCHEMA_VERSION = "3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
-- count: the rows of `tasks` this fan-out folder put there (the self-check)
CREATE TABLE IF NOT EXISTS fans (name TEXT PRIMARY KEY, oid TEXT NOT NULL, count INTEGER NOT NULL);
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
# every table and index the schema makes: a missing one means the file was tampered with
_OBJECTS = frozenset({"meta", "fans", "tasks", "tasks_fan", "tasks_branch", "tasks_list"})


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

# sqlite's primary result codes (the low byte of an extended code)
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 5, 6, 11, 13, 26


#: Where an index kept only in memory lives (built from the ref when the file cannot be written).
MEMORY = Path(":memory:")

# what the machine refused: the index cannot be written here, though the ref may be readable
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN = 3, 8, 10, 14
_UNWRITABLE = (_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN)


class IndexUnwritableError(GittaskError):
    """The index file cannot be created or written (a read-only ``.git``, a full disk):
    a read can go on from the ref without it."""


class _OldSchema(Exception):
    """An index written by another version: rebuilt like a damaged one."""


def _sqlite_code(exc: sqlite3.Error) -> int:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else 0


def is_damaged(exc: sqlite3.Error) -> bool:
    """The file is not (or no longer) a sound database: rebuilding it is the cure."""
    if _sqlite_code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    text = str(exc)
    return "malformed" in text or "not a database" in text


def _record_json(record: dict[str, Any]) -> str:
    """JSON for any record a YAML file can hold (dates, odd keys): never raises on types."""
    try:
        return json.dumps(record, ensure_ascii=False, default=str)
    except TypeError:  # a key JSON cannot take (a date, a tuple)
        return json.dumps(_str_keys(record), ensure_ascii=False, default=str)


def _str_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _str_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_str_keys(v) for v in value]
    return value


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


class TaskIndex:
    # seconds to wait for another process's write before giving up
    busy_timeout = 30.0

    def __init__(self, path: Path, store: TaskStore | None = None) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        # where a damaged index is rebuilt from (opened on demand: the fast
        # path of read-only commands does not load pygit2)
        self._store = store
        self._verified = False  # the row counts were checked in this process

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        try:
            if self.path != MEMORY:
                self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise IndexUnwritableError(
                f"cannot create the folder of the task index {self.path.parent}: "
                f"{exc.strerror or exc}",
                f"it must be a folder you can write to inside {self.path.parent.parent}",
            ) from None
        for _ in range(2):
            try:
                conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
            except sqlite3.Error as exc:
                raise self._failure(exc) from None
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                self._check_schema(conn)
                return conn
            except _OldSchema:
                conn.close()
                self.delete()  # a cache: an old one is simply rebuilt
            except sqlite3.Error as exc:
                conn.close()
                if not is_damaged(exc):
                    raise self._failure(exc) from None
                self.delete()  # a cache: a damaged one is simply rebuilt
        raise GittaskError(
            f"cannot open the task index {self.path}: it stays damaged after a rebuild",
            f"check the disk and free space under {self.path.parent}",
        )

    @staticmethod
    def _check_schema(conn: sqlite3.Connection) -> None:
        """Create the schema in a new file; raise _OldSchema unless it is all there."""
        listed = conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') "
            "AND name NOT LIKE 'sqlite_%'"
        )
        names = {row[0] for row in listed}
        if not names:  # a new file (one transaction: a racing opener sees all or nothing)
            conn.executescript(
                f"BEGIN IMMEDIATE;{_SCHEMA};"
                f"INSERT OR IGNORE INTO meta VALUES ('schema', '{SCHEMA_VERSION}');COMMIT;"
            )
            names = set(_OBJECTS)
        if not names >= _OBJECTS:
            raise _OldSchema()  # a table or index was dropped
        version = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            raise _OldSchema()

    def _failure(self, exc: sqlite3.Error) -> GittaskError:
        """What the user reads when the index cannot do its job."""
        code = _sqlite_code(exc)
        text = " ".join(str(exc).split())
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in text:
            return GittaskError(
                f"the task index {self.path} is locked: another claude-container command "
                f"held it for {self.busy_timeout:g} s",
                "try again; if no other command is running, delete the file: it is only a cache",
            )
        if code == _SQLITE_FULL:
            return IndexUnwritableError(
                f"the task index {self.path} cannot grow: the disk is full",
                "free some space and try again",
            )
        kind = IndexUnwritableError if code in _UNWRITABLE else GittaskError
        return kind(
            f"the task index {self.path} failed: {text}",
            f"check that you can write to {self.path.parent} and that the disk has room; "
            "the file is only a cache, deleting it is safe",
        )

    def _source(self) -> TaskStore:
        if self._store is None:
            from gittask.store.repo import GitRepo
            from gittask.store.taskstore import TaskStore

            # the index lives in <common git dir>/claude-tasks/
            self._store = TaskStore(GitRepo(git_dir=self.path.parent.parent, workdir=None))
        return self._store

    def _query(self, op: Callable[[sqlite3.Connection], T], verify: bool = False) -> T:
        """Run a read; a damaged index is rebuilt from the ref and the read done again.

        ``verify``: a read of task rows; the first one of a process checks the row
        counts first and heals the index when they disagree.
        """
        try:
            if verify and not self._verified:
                self._verify()
            return op(self.conn)
        except sqlite3.Error as exc:
            if not is_damaged(exc):
                raise self._failure(exc) from None
        self.rebuild(self._source())
        try:
            return op(self.conn)
        except sqlite3.Error as exc:
            raise self._failure(exc) from None

    def delete(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.path == MEMORY:
            return
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- metadata --------------------------------------------------------------

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def get_meta(self, key: str) -> str | None:
        return self._query(lambda conn: self._meta(conn, key))

    def set_meta(self, key: str, value: str) -> None:
        def put(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

        self._query(put)

    @property
    def tip(self) -> str:
        return self.get_meta("tip") or ""

    # -- queries -----------------------------------------------------------------

    def rows(self, status: str | None = None, fan: str | None = None) -> list[IndexRow]:
        sql = f"SELECT {_COLUMNS} FROM tasks"
        args: tuple[str, ...] = ()
        if status:
            sql += " WHERE status = ?"
            args = (status,)
        elif fan is not None:
            sql += " WHERE fan = ?"
            args = (fan,)
        sql += " ORDER BY created_at DESC, id"
        return self._query(
            lambda conn: list(map(IndexRow._make, conn.execute(sql, args))), verify=True
        )

    def record(self, task_id: str) -> dict[str, Any]:
        sql = "SELECT record FROM tasks WHERE id = ?"
        row = self._query(lambda conn: conn.execute(sql, (task_id,)).fetchone())
        return json.loads(row[0]) if row and row[0] else {}

    def ids(self) -> list[str]:
        return self._query(
            lambda conn: [r[0] for r in conn.execute("SELECT id FROM tasks ORDER BY id")],
            verify=True,
        )

    def neighbours(self, task_id: str) -> list[str]:
        """The ids just before and after ``task_id`` in order (what its short id depends on)."""
        sql = (
            "SELECT * FROM (SELECT id FROM tasks WHERE id < ?1 ORDER BY id DESC LIMIT 1) "
            "UNION ALL SELECT * FROM (SELECT id FROM tasks WHERE id > ?1 ORDER BY id LIMIT 1)"
        )
        return self._query(lambda conn: [r[0] for r in conn.execute(sql, (task_id,))])

    def fans(self) -> dict[str, str]:
        """Fan-out folder name -> tree id, as indexed."""
        return self._query(lambda conn: dict(conn.execute("SELECT name, oid FROM fans")))

    # -- the self-check ------------------------------------------------------------

    def _verify(self) -> None:
        """Heal the index if its rows disagree with the counts the refreshes recorded.

        Cheap when all is well (two counts). Otherwise the fan-out folders whose
        rows are missing (or extra) are forgotten and read again from the ref.
        """
        conn = self.conn
        have, want = conn.execute(
            "SELECT (SELECT count(*) FROM tasks), (SELECT coalesce(sum(count), 0) FROM fans)"
        ).fetchone()
        self._verified = True
        if have == want:
            return
        actual = dict(conn.execute("SELECT fan, count(*) FROM tasks GROUP BY fan"))
        recorded = dict(conn.execute("SELECT name, count FROM fans"))
        bad = {n for n in set(actual) | set(recorded) if actual.get(n, 0) != recorded.get(n, 0)}
        with self._write() as conn:
            for name in bad:
                conn.execute("DELETE FROM fans WHERE name = ?", (name,))
                conn.execute("DELETE FROM tasks WHERE fan = ?", (name,))
        self._refresh(self._source(), force=True)

    def branch_owner(self, branch: str) -> str | None:
        sql = "SELECT id FROM tasks WHERE branch = ?"
        row = self._query(lambda conn: conn.execute(sql, (branch,)).fetchone(), verify=True)
        return row[0] if row else None

    def search(self, query: str) -> list[tuple[IndexRow, float]]:
        terms = [t for t in query.lower().split() if t]
        if not terms:
            return []
        sql = f"SELECT {_COLUMNS}, search FROM tasks WHERE " + " AND ".join(
            "instr(search, ?) > 0" for _ in terms
        )
        found = self._query(lambda conn: conn.execute(sql, terms).fetchall(), verify=True)
        scored = []
        for *cols, text in found:
            row = IndexRow(*cols)
            title = (row.title or "").lower()
            score = 0.0
            for term in terms:
                score += text.count(term) + 5 * title.count(term)
            if query.lower() in text:
                score += 10  # the whole phrase
            scored.append((row, score))
        # best first; ties newest first, as `task list` orders rows (created_at DESC, id)
        scored.sort(key=lambda pair: pair[0].id)
        scored.sort(key=lambda pair: pair[0].created_at or "", reverse=True)
        scored.sort(key=lambda pair: -pair[1])
        return scored

    # -- bringing it up to date --------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # sqlite may have rolled back already (a full disk)
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def refresh(self, store: TaskStore) -> RefreshResult:
        """Bring the index to the data ref's tip, touching only what changed.

        A damaged index is deleted and rebuilt; other trouble is a GittaskError.
        """
        if self._store is None:
            self._store = store
        try:
            return self._refresh(store)
        except sqlite3.Error as exc:
            if not is_damaged(exc):
                raise self._failure(exc) from None
        self.delete()
        try:
            return self._refresh(store)
        except sqlite3.Error as exc:
            raise self._failure(exc) from None

    def _refresh(self, store: TaskStore, force: bool = False) -> RefreshResult:
        from gittask.store import layout
        from gittask.store.trees import subtree

        tip = store.tip()
        tip_hex = str(tip) if tip is not None else ""
        indexed = self._meta(self.conn, "tip") or ""
        if tip_hex == indexed and not force:
            return RefreshResult(set(), set())
        result = RefreshResult(set(), set(), rebuilt=not indexed)
        with self._write() as conn:
            if (self._meta(conn, "tip") or "") == tip_hex and not force:
                return result  # another process did it meanwhile
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
                        try:
                            self._put(conn, fan_name, oid, record)
                        except (ValueError, TypeError, KeyError, AttributeError) as exc:
                            path = f"{layout.TASKS_DIR}/{fan_name}/{task_id}"
                            error = f"{path}: cannot be indexed: {type(exc).__name__}: {exc}"
                            record = None
                    if record is None:
                        self._put_error(conn, fan_name, task_id, oid, error or "unreadable")
                    result.changed.add(task_id)
                gone = set(known) - present
                conn.executemany("DELETE FROM tasks WHERE id = ?", [(t,) for t in gone])
                result.removed |= gone
                row = (fan_name, fan_oid, len(present))
                conn.execute("INSERT OR REPLACE INTO fans VALUES (?, ?, ?)", row)
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
        parts = [str(record.get("description") or "")]
        parts += [str(f.get("feedback") or "") for f in record.get("feedback_history") or []]
        conn.execute(
            "INSERT OR REPLACE INTO tasks VALUES (?,?,?,?,?,?,?,?,?,?,NULL)",
            (
                str(record["id"]),
                fan,
                oid,
                _text_or_none(record.get("status")),
                _text_or_none(record.get("branch_name")),
                _text_or_none(record.get("created_at")),
                _text_or_none(record.get("title")),
                _text_or_none(record.get("pr_url")),
                "\n".join(parts).lower(),
                _record_json(record),
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
