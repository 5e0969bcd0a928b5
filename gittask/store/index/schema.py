"""The index file's schema, its rows, and what its SQLite errors mean (a damaged
file is rebuilt; a locked, full or unwritable one is a one-line error naming it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple

from gittask.errors import GittaskError

SCHEMA_VERSION = "4"
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
    error TEXT,
    -- what a list or search line shows of the record besides the columns (JSON; NULL: none)
    brief TEXT
);
CREATE INDEX IF NOT EXISTS tasks_fan ON tasks(fan);
CREATE INDEX IF NOT EXISTS tasks_branch ON tasks(branch);
-- covers `task list`: the scan never touches the large record/search columns
CREATE INDEX IF NOT EXISTS tasks_list
    ON tasks(created_at DESC, id, oid, status, branch, title, pr_url, error, brief);
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
    # the record's fields a task line or JSON row shows (:data:`BRIEF_KEYS`), as JSON
    brief: str | None = None


COLUMNS = "id, oid, status, branch, created_at, title, pr_url, error, brief"
#: what ``brief`` keeps of a record (those set; ``dependency`` when present at all)
BRIEF_KEYS = ("error_message", "worker", "labels", "depends_on", "dependency")

# sqlite's primary result codes (the low byte of an extended code)
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 5, 6, 11, 13, 26


# what the machine refused: the index cannot be written here, though the ref may be readable
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN = 3, 8, 10, 14
_UNWRITABLE = (_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN)


class IndexUnwritableError(GittaskError):
    """The index file cannot be created or written (a read-only ``.git``, a full disk):
    a read can go on from the ref without it."""


class OldSchema(Exception):
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


def check_schema(conn: sqlite3.Connection) -> None:
    """Create the schema in a new file; raise OldSchema unless it is all there."""
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
        raise OldSchema()  # a table or index was dropped
    version = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    if version is None or version[0] != SCHEMA_VERSION:
        raise OldSchema()


def failure(path: Path, exc: sqlite3.Error, busy_timeout: float) -> GittaskError:
    """What the user reads when the index cannot do its job."""
    code = _sqlite_code(exc)
    text = " ".join(str(exc).split())
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in text:
        return GittaskError(
            f"the task index {path} is locked: another claude-container command "
            f"held it for {busy_timeout:g} s",
            "try again; if no other command is running, delete the file: it is only a cache",
        )
    if code == _SQLITE_FULL:
        return IndexUnwritableError(
            f"the task index {path} cannot grow: the disk is full",
            "free some space and try again",
        )
    kind = IndexUnwritableError if code in _UNWRITABLE else GittaskError
    return kind(
        f"the task index {path} failed: {text}",
        f"check that you can write to {path.parent} and that the disk has room; "
        "the file is only a cache, deleting it is safe",
    )
