"""Writing runs: one commit per run by compare-and-swap; combining two clones' refs; pruning."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pygit2

from gittask.errors import ConcurrentUpdateError, GittaskError
from gittask.store.repo import GitRepo
from gittask.store.runlogs.names import (
    GZ,
    MAX_ATTEMPTS,
    PRUNED,
    RUN_INFO,
    gzip_bytes,
    logs_ref,
    run_dir,
)
from gittask.store.runlogs.read import (
    blob_sizes,
    info_of,
    pruned_of,
    ref_target,
    runs_of,
    tree_of,
)


def _write_error(repo: GitRepo, exc: Exception) -> GittaskError:
    text = " ".join(str(exc).split())
    return GittaskError(
        f"cannot write the run logs to {repo.common_dir / 'objects'}: {text}",
        "check free disk space and that you may write to the repository's .git folder",
    )


def swap_ref(
    git: pygit2.Repository, ref: str, old: pygit2.Oid | None, new: pygit2.Oid | None, message: str
) -> bool:
    """Move (or create, or delete when ``new`` is None) ``ref`` if it still holds ``old``."""
    try:
        if old is None:
            if new is not None:
                git.create_reference_direct(ref, new, False, message=message)
            return True
        current = git.references[ref]
        if current.target != old:
            return False
        if new is None:
            current.delete()
        else:
            current.set_target(new, message)
    except (KeyError, pygit2.AlreadyExistsError, pygit2.GitError, OSError):
        return False
    return True


def _commit_on_ref(
    repo: GitRepo,
    ref: str,
    build: Callable[[pygit2.Oid | None], tuple[pygit2.Oid | None, list[pygit2.Oid], str] | None],
) -> pygit2.Oid | None:
    """One compare-and-swap write of ``ref``: ``build(tip)`` returns (tree, parents,
    message), or None for "nothing to do"; a None tree deletes the ref."""
    git = repo.pygit
    sig = repo.signature()
    for attempt in range(MAX_ATTEMPTS):
        tip = ref_target(git, ref)
        plan = build(tip)
        if plan is None:
            return tip
        tree, parents, message = plan
        new: pygit2.Oid | None = None
        if tree is not None:
            try:
                new = git.create_commit(None, sig, sig, message, tree, parents)
            except (pygit2.GitError, OSError) as exc:
                raise _write_error(repo, exc) from None
        if swap_ref(git, ref, tip, new, message.splitlines()[0]):
            return new
        time.sleep(0.002 * (attempt + 1))
    raise ConcurrentUpdateError(f"could not move {ref} in {MAX_ATTEMPTS} attempts")


def _folder(
    git: pygit2.Repository, info: Mapping[str, Any], files: Mapping[str, bytes]
) -> pygit2.Oid:
    builder = git.TreeBuilder()
    text = json.dumps(dict(info), indent=1, sort_keys=True, default=str) + "\n"
    builder.insert(RUN_INFO, git.create_blob(text.encode()), pygit2.GIT_FILEMODE_BLOB)
    for name, data in files.items():
        blob = git.create_blob(gzip_bytes(data))
        builder.insert(name + GZ, blob, pygit2.GIT_FILEMODE_BLOB)
    return builder.write()


def _root(
    git: pygit2.Repository, runs: Mapping[int, pygit2.Oid], pruned: Iterable[int]
) -> pygit2.Oid:
    builder = git.TreeBuilder()
    for run, folder in runs.items():
        builder.insert(run_dir(run), folder, pygit2.GIT_FILEMODE_TREE)
    gone = sorted(set(pruned))
    if gone:
        text = "".join(f"{n}\n" for n in gone)
        builder.insert(PRUNED, git.create_blob(text.encode()), pygit2.GIT_FILEMODE_BLOB)
    return builder.write()


def store_run(
    repo: GitRepo,
    task_id: str,
    run: int,
    info: Mapping[str, Any],
    files: Mapping[str, bytes],
) -> str:
    """Commit one run's folder (``files``: name -> content, gzipped here) on the
    task's logs ref, replacing what this clone stored for that run before; returns
    the ref's name."""
    ref = logs_ref(task_id)
    git = repo.pygit
    try:
        folder = _folder(git, info, files)
    except (pygit2.GitError, OSError) as exc:
        raise _write_error(repo, exc) from None

    def build(tip: pygit2.Oid | None) -> tuple[pygit2.Oid, list[pygit2.Oid], str] | None:
        tree = tree_of(git, tip)
        runs = runs_of(git, tree)
        if runs.get(run) == folder:
            return None
        runs[run] = folder
        pruned = pruned_of(git, tree) - {run}
        message = f"logs {task_id[:8]}: run {run}\n\nTask-Id: {task_id}\nTask-Run: {run}\n"
        return _root(git, runs, pruned), [tip] if tip is not None else [], message

    _commit_on_ref(repo, ref, build)
    return ref


def combine(repo: GitRepo, task_id: str, theirs: pygit2.Oid) -> bool:
    """Fold a remote's logs commit into the local ref (see the module's docstring);
    True when the local ref changed."""
    ref = logs_ref(task_id)
    git = repo.pygit
    their_tree = tree_of(git, theirs)
    their_runs = runs_of(git, their_tree)
    their_pruned = pruned_of(git, their_tree)
    sig = repo.signature()
    for attempt in range(MAX_ATTEMPTS):
        tip = ref_target(git, ref)
        if tip is not None and (tip == theirs or git.descendant_of(tip, theirs)):
            return False
        if tip is None or git.descendant_of(theirs, tip):
            new = theirs  # a fast-forward: their commit itself
        else:
            tree = tree_of(git, tip)
            pruned = their_pruned | pruned_of(git, tree)
            runs = {n: t for n, t in their_runs.items() if n not in pruned}
            for number, folder in runs_of(git, tree).items():
                if number not in pruned and number not in runs:
                    runs[number] = folder
            message = f"logs {task_id[:8]}: combine with the remote's runs\n\nTask-Id: {task_id}\n"
            try:
                new = git.create_commit(None, sig, sig, message, _root(git, runs, pruned), [theirs])
            except (pygit2.GitError, OSError) as exc:
                raise _write_error(repo, exc) from None
        if swap_ref(git, ref, tip, new, f"logs {task_id[:8]}: combine"):
            return True
        time.sleep(0.002 * (attempt + 1))
    raise ConcurrentUpdateError(f"could not move {ref} in {MAX_ATTEMPTS} attempts")


@dataclass
class PruneResult:
    runs: list[int] = field(default_factory=list)
    freed: int = 0  # bytes of blobs no longer reachable from the ref


def prune(
    repo: GitRepo,
    task_id: str,
    drop: Callable[[int, dict[str, Any]], bool],
    rewrite: bool = False,
    dry_run: bool = False,
) -> PruneResult:
    """Drop the runs ``drop(run, info)`` selects: the ref becomes one root commit
    holding the rest (and the list of pruned runs, so no clone brings them back).
    ``rewrite`` makes that root commit even when nothing is dropped."""
    ref = logs_ref(task_id)
    git = repo.pygit
    result = PruneResult()

    def build(tip: pygit2.Oid | None) -> tuple[pygit2.Oid, list[pygit2.Oid], str] | None:
        result.runs, result.freed = [], 0
        tree = tree_of(git, tip)
        if tree is None:
            return None
        runs = runs_of(git, tree)
        gone = []
        for number, folder in runs.items():
            sub = git[folder]
            assert isinstance(sub, pygit2.Tree)
            if drop(number, info_of(git, sub)):
                gone.append(number)
        head = git[tip] if tip is not None else None
        assert isinstance(head, pygit2.Commit)
        if not gone and not (rewrite and head.parent_ids):
            return None
        kept = {n: t for n, t in runs.items() if n not in gone}
        kept_blobs: set[pygit2.Oid] = set()
        for folder in kept.values():
            sub = git[folder]
            assert isinstance(sub, pygit2.Tree)
            kept_blobs |= set(blob_sizes(git, sub))
        dropped: dict[pygit2.Oid, int] = {}
        for number in gone:
            sub = git[runs[number]]
            assert isinstance(sub, pygit2.Tree)
            dropped.update(blob_sizes(git, sub))
        result.runs = sorted(gone)
        result.freed = sum(size for oid, size in dropped.items() if oid not in kept_blobs)
        if dry_run:
            return None
        pruned = pruned_of(git, tree) | set(gone)
        listed = ", ".join(str(n) for n in sorted(gone)) or "none"
        message = f"logs {task_id[:8]}: pruned run(s) {listed}\n\nTask-Id: {task_id}\n"
        return _root(git, kept, pruned), [], message

    _commit_on_ref(repo, ref, build)
    return result


def delete_local(repo: GitRepo, task_id: str) -> None:
    repo.git("update-ref", "-d", logs_ref(task_id), check=False)
