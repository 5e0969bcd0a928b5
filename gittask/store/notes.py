"""Git notes on ``refs/notes/claude-tasks``: which task and run made a commit.

Each note line is one self-contained record in canonical JSON, so notes from
two clones can be merged by line union (``git notes merge -s cat_sort_uniq``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pygit2

from gittask.store.layout import NOTES_REF
from gittask.store.repo import GitRepo


def _canonical(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def read_notes(repo: GitRepo, commit: str | pygit2.Oid) -> list[dict[str, Any]]:
    """The records attached to ``commit`` (non-JSON lines are returned as text)."""
    try:
        note = repo.pygit.lookup_note(str(commit), NOTES_REF)
    except KeyError:
        return []
    records: list[dict[str, Any]] = []
    for line in note.message.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = {"text": line}
        records.append(value if isinstance(value, dict) else {"text": line})
    return records


def add_note(repo: GitRepo, commit: str | pygit2.Oid, record: dict[str, Any]) -> None:
    """Attach ``record`` to ``commit``, keeping any records already there."""
    line = _canonical(record)
    sig = repo.signature()
    for attempt in range(50):
        try:
            existing = repo.pygit.lookup_note(str(commit), NOTES_REF).message
        except KeyError:
            existing = ""
        lines = [x for x in existing.splitlines() if x.strip()]
        if line in lines:
            return
        message = "\n".join([*lines, line]) + "\n"
        try:
            repo.pygit.create_note(message, sig, sig, str(commit), NOTES_REF, True)
            return
        except (pygit2.GitError, OSError):
            time.sleep(0.005 * (attempt + 1))  # another writer holds the notes ref
    raise pygit2.GitError(f"could not write a note on {commit}: {NOTES_REF} stayed locked")
