"""Tree entries and blobs as the merge reads and writes them (pygit2)."""

from __future__ import annotations

import pygit2

from gittask.store import yamlio
from gittask.store.merge.yamltext import split_chunks

TREE = pygit2.GIT_FILEMODE_TREE
BLOB = pygit2.GIT_FILEMODE_BLOB

#: (object id, file mode) of one tree entry; None where the entry is absent
Entry = tuple[pygit2.Oid, int]


def entries(tree: pygit2.Tree | None) -> dict[str, Entry]:
    """A tree's entries by name (none for a missing tree)."""
    if tree is None:
        return {}
    return {e.name: (e.id, e.filemode) for e in tree if e.name is not None}


def put(builder: pygit2.TreeBuilder, name: str, current: Entry | None, new: Entry | None) -> None:
    """Make ``name`` hold ``new`` in ``builder`` (which now holds ``current``)."""
    if new == current:
        return
    if new is None:
        builder.remove(name)
    else:
        builder.insert(name, new[0], new[1])


def written(builder: pygit2.TreeBuilder) -> Entry | None:
    """The built tree, or None when it is empty (git keeps no empty folders)."""
    return (builder.write(), TREE) if len(builder) else None


def commit_of(git: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Commit:
    obj = git[oid]
    assert isinstance(obj, pygit2.Commit)
    return obj


class Objects:
    """Reads trees and YAML blobs of one repository (chunks cached per blob)."""

    def __init__(self, git: pygit2.Repository) -> None:
        self.git = git
        self._chunk_cache: dict[pygit2.Oid, dict[str, str] | None] = {}

    def tree(self, entry: Entry | None) -> pygit2.Tree | None:
        if entry is None or entry[1] != TREE:
            return None
        obj = self.git[entry[0]]
        return obj if isinstance(obj, pygit2.Tree) else None

    def items(self, entry: Entry | None) -> dict[str, Entry]:
        """The entries of the folder ``entry`` (none when it is not a folder)."""
        return entries(self.tree(entry))

    def builder(self, entry: Entry | None) -> pygit2.TreeBuilder:
        tree = self.tree(entry)
        return self.git.TreeBuilder(tree) if tree is not None else self.git.TreeBuilder()

    def data(self, entry: Entry) -> bytes:
        blob = self.git[entry[0]]
        return blob.data if isinstance(blob, pygit2.Blob) else b""

    def text(self, entry: Entry) -> str | None:
        """A file's content for a merge report (``(folder)`` for a folder)."""
        blob = self.git[entry[0]]
        if not isinstance(blob, pygit2.Blob):
            return "(folder)"
        return ": " + blob.data.decode("utf-8", errors="replace")

    def chunks(self, entry: Entry) -> dict[str, str] | None:
        """The YAML file's top-level chunks; an unusual shape is parsed and rewritten."""
        if entry[0] in self._chunk_cache:
            return self._chunk_cache[entry[0]]
        data = self.data(entry)
        chunks = split_chunks(data)
        if chunks is None:  # an unusual shape: parse it, then write each key as we would
            try:
                loaded = yamlio.load(data)
            except ValueError:
                loaded = None
            if isinstance(loaded, dict):
                chunks = {str(k): yamlio.dump({str(k): v}) for k, v in loaded.items()}
        self._chunk_cache[entry[0]] = chunks
        return chunks
