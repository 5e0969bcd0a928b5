"""Reading stored runs: which there are, and one run's files (gunzipped, size-capped)."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

import pygit2

from gittask.errors import GittaskError
from gittask.store.repo import GitRepo
from gittask.store.runlogs.names import (
    GZ,
    LOGS_REF_PREFIX,
    MAX_UNCOMPRESSED,
    PRUNED,
    RUN_DIR_NAME,
    RUN_INFO,
    logs_ref,
)


def ref_target(git: pygit2.Repository, ref: str) -> pygit2.Oid | None:
    try:
        target = git.references[ref].resolve().target
    except (KeyError, pygit2.GitError):
        return None
    return target if isinstance(target, pygit2.Oid) else None


def tree_of(git: pygit2.Repository, commit: pygit2.Oid | None) -> pygit2.Tree | None:
    if commit is None:
        return None
    obj = git[commit]
    return obj.peel(pygit2.Tree) if isinstance(obj, pygit2.Commit) else None


def runs_of(git: pygit2.Repository, tree: pygit2.Tree | None) -> dict[int, pygit2.Oid]:
    """run number -> run folder tree id."""
    found: dict[int, pygit2.Oid] = {}
    if tree is None:
        return found
    for entry in tree:
        match = RUN_DIR_NAME.match(entry.name or "")
        if match and entry.type_str == "tree":
            found[int(match.group(1))] = entry.id
    return found


def pruned_of(git: pygit2.Repository, tree: pygit2.Tree | None) -> set[int]:
    if tree is None or PRUNED not in tree:
        return set()
    blob = git[tree[PRUNED].id]
    if not isinstance(blob, pygit2.Blob):
        return set()
    text = blob.data.decode("ascii", "replace")
    return {int(word) for word in text.split() if word.isdigit()}


@dataclass
class StoredRun:
    """One run as the logs ref holds it."""

    run: int
    info: dict[str, Any]
    _git: pygit2.Repository
    tree_of: pygit2.Tree

    @property
    def names(self) -> list[str]:
        """The files stored (without ``.gz``)."""
        return sorted(
            (e.name or "").removesuffix(GZ) for e in self.tree_of if e.name and e.name != RUN_INFO
        )

    def read(self, name: str) -> bytes | None:
        """A file's content (uncompressed), or None when this run has none."""
        for candidate in (name + GZ, name):
            if candidate in self.tree_of:
                blob = self._git[self.tree_of[candidate].id]
                if not isinstance(blob, pygit2.Blob):
                    return None
                data = blob.data
                if candidate.endswith(GZ):
                    return gunzip(data, f"the stored {name} of run {self.run}")
                return bytes(data)
        return None

    def size(self) -> int:
        """Bytes its blobs take (compressed)."""
        return sum(blob_sizes(self._git, self.tree_of).values())


def gunzip(data: bytes, what: str) -> bytes:
    """Uncompressed, at most :data:`MAX_UNCOMPRESSED` bytes (a teammate's logs
    are not trusted to be small)."""
    inflate = zlib.decompressobj(wbits=31)
    try:
        out = inflate.decompress(data, MAX_UNCOMPRESSED + 1)
    except zlib.error as exc:
        raise GittaskError(f"{what} is damaged: {exc}") from None
    if len(out) > MAX_UNCOMPRESSED:
        raise GittaskError(f"{what} is larger than {MAX_UNCOMPRESSED} bytes uncompressed")
    return out


def blob_sizes(git: pygit2.Repository, tree: pygit2.Tree) -> dict[pygit2.Oid, int]:
    sizes: dict[pygit2.Oid, int] = {}
    for entry in tree:
        obj = git[entry.id]
        if isinstance(obj, pygit2.Blob):
            sizes[entry.id] = obj.size
        elif isinstance(obj, pygit2.Tree):
            sizes.update(blob_sizes(git, obj))
    return sizes


def info_of(git: pygit2.Repository, tree: pygit2.Tree) -> dict[str, Any]:
    if RUN_INFO not in tree:
        return {}
    blob = git[tree[RUN_INFO].id]
    if not isinstance(blob, pygit2.Blob):
        return {}
    try:
        data = json.loads(blob.data.decode("utf-8", "replace"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def stored_runs(repo: GitRepo, task_id: str) -> list[int]:
    """Run numbers the local logs ref holds, oldest first."""
    git = repo.pygit
    return sorted(runs_of(git, tree_of(git, ref_target(git, logs_ref(task_id)))))


def read_run(repo: GitRepo, task_id: str, run: int) -> StoredRun | None:
    git = repo.pygit
    tree = tree_of(git, ref_target(git, logs_ref(task_id)))
    folder = runs_of(git, tree).get(run)
    if folder is None:
        return None
    sub = git[folder]
    assert isinstance(sub, pygit2.Tree)
    return StoredRun(run, info_of(git, sub), git, sub)


def all_refs(repo: GitRepo) -> list[str]:
    """Task ids that have a local logs ref."""
    proc = repo.git("for-each-ref", "--format=%(refname)", LOGS_REF_PREFIX, check=False)
    return [line[len(LOGS_REF_PREFIX) :] for line in proc.stdout.split() if line.strip()]
