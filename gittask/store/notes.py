"""Git notes on ``refs/notes/claude-tasks``: which task and run made a commit.

Each note line is one self-contained record in canonical JSON, so notes from
two clones can be merged by line union (``git notes merge -s cat_sort_uniq``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pygit2

from gittask.errors import GittaskError
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
    reason = ""
    for attempt in range(50):
        before = _notes_tip(repo)
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
        except (pygit2.GitError, OSError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            if _notes_tip(repo) == before and "lock" not in reason.lower():
                # nobody else is writing notes: the repository refuses (a read-only
                # or full disk), and trying again will not help
                raise _note_error(commit, reason) from None
            time.sleep(0.005 * (attempt + 1))  # another writer holds the notes ref
    raise _note_error(commit, f"{NOTES_REF} stayed locked ({reason})")


def _notes_tip(repo: GitRepo) -> str | None:
    try:
        return str(repo.pygit.references[NOTES_REF].target)
    except (KeyError, pygit2.GitError):
        return None


def _note_error(commit: str | pygit2.Oid, reason: str) -> GittaskError:
    return GittaskError(
        f"could not write a note on commit {str(commit)[:12]}: {reason}",
        "check free disk space and that you may write to the repository's .git folder",
    )
