"""Named records on the data ref: ``templates/<name>.yaml``, ``schedules/<id>.yaml``.

One YAML file per record, written by compare-and-swap on the ref like a task
(one commit per change, trailer ``Record-Id: <path>`` so a merge knows which
side changed a record last). A sync merges them key by key
(:mod:`gittask.store.merge`). A delete keeps the file as a tombstone
(``deleted_at``, ``deleted_by``): a delete on one clone and an edit on another
merge to a deleted record, and the name can be taken again later.

Reading is bounded work: the same parser and limits as task records
(:mod:`gittask.store.yamlio`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pygit2

from gittask.errors import CorruptRecordError, UsageError
from gittask.store import yamlio
from gittask.store.taskfiles import record_bytes
from gittask.store.taskstore import TaskStore
from gittask.store.trees import replace_path, subtree, with_readme

RECORD_SUFFIX = ".yaml"


@dataclass(frozen=True)
class StoredRecord:
    path: str
    data: dict[str, Any]
    blob: str  # the git blob id of the file as read


def parse_record(path: str, raw: bytes) -> dict[str, Any]:
    """One record's fields; CorruptRecordError naming the file when it cannot be read."""
    try:
        data = yamlio.load(raw)
    except ValueError as exc:
        raise CorruptRecordError(path, " ".join(str(exc).split())) from None
    if not isinstance(data, dict):
        raise CorruptRecordError(path, "expected a mapping of fields")
    return data


def record_message(verb: str, path: str, title: str, detail: str | None = None) -> str:
    lines = [f"{verb} {title}", ""]
    if detail:
        lines += [detail, ""]
    lines += [f"Record-Id: {path}", f"Task-Action: {verb}"]
    return "\n".join(lines) + "\n"


class RecordStore:
    """Read and write the named records of one folder kind on the data ref."""

    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self.git = store.git

    def get(self, path: str, root: pygit2.Tree | None = None) -> StoredRecord | None:
        root = root if root is not None else self.store.root()
        if root is None:
            return None
        try:
            entry = root[path]
        except KeyError:
            return None
        blob = self.git[entry.id]
        if not isinstance(blob, pygit2.Blob):
            raise CorruptRecordError(path, "is a folder, not a file")
        return StoredRecord(path, parse_record(path, blob.data), str(blob.id))

    def names(self, folder: str, root: pygit2.Tree | None = None) -> list[str]:
        """The record names (file names without ``.yaml``) in ``folder``, sorted."""
        root = root if root is not None else self.store.root()
        tree = subtree(self.git, root, folder)
        if tree is None:
            return []
        return sorted(
            (e.name or "").removesuffix(RECORD_SUFFIX)
            for e in tree
            if (e.name or "").endswith(RECORD_SUFFIX) and e.filemode == pygit2.GIT_FILEMODE_BLOB
        )

    def all(self, folder: str) -> list[StoredRecord | CorruptRecordError]:
        """Every record of ``folder``; an unreadable one is its error (the rest still list)."""
        root = self.store.root()
        found: list[StoredRecord | CorruptRecordError] = []
        for name in self.names(folder, root):
            path = f"{folder}/{name}{RECORD_SUFFIX}"
            try:
                record = self.get(path, root)
            except CorruptRecordError as exc:
                found.append(exc)
                continue
            if record is not None:
                found.append(record)
        return found

    def write(
        self,
        path: str,
        change: Callable[[dict[str, Any] | None], tuple[dict[str, Any], str]],
    ) -> StoredRecord:
        """Read-modify-write one record by compare-and-swap on the ref.

        ``change`` gets the stored fields (None: no such file) and returns the new
        fields and the commit message; it runs again on a fresh copy when another
        writer got in first, and may raise to abort without writing.
        """
        result: list[StoredRecord] = []

        def build(root: pygit2.Tree | None) -> tuple[pygit2.Oid, str]:
            old = self.get(path, root) if root is not None else None
            data, message = change(dict(old.data) if old is not None else None)
            raw = record_bytes(path, data)
            with self.store.writing_objects():
                blob = self.git.create_blob(raw)
                root = with_readme(self.git, root)
                tree = replace_path(self.git, root, path, blob, pygit2.GIT_FILEMODE_BLOB)
            result[:] = [StoredRecord(path, data, str(blob))]
            return tree, message

        self.store.commit(build)
        return result[0]


def check_name(kind: str, name: str, pattern: Any) -> str:
    """A record name as a file name: refused (UsageError) unless it matches ``pattern``."""
    text = name.strip()
    if not pattern.fullmatch(text):
        raise UsageError(
            f"bad {kind} name {name!r}",
            f"a {kind} name is 1 to 64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit",
        )
    return text
