"""The task database on the orphan ref ``refs/claude-tasks``.

Every write is one commit on the ref, made by compare-and-swap: the new commit
is built on the tip we read, and the ref moves only if it still points there;
otherwise the change is rebuilt on the new tip and tried again. Objects are
written before the ref moves, so a crash at any instant leaves the ref at a
valid commit, and concurrent writers never lose each other's changes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pygit2

from gittask.errors import (
    AmbiguousTaskIdError,
    ConcurrentUpdateError,
    CorruptRecordError,
    GittaskError,
    TaskNotFoundError,
)
from gittask.model import FeedbackEntry, TaskMetadata
from gittask.model.clock import format_ts, utcnow
from gittask.model.task import normalize_id
from gittask.store import layout, locks, yamlio
from gittask.store.repo import GitRepo
from gittask.store.taskfiles import parse_task_tree, task_files
from gittask.store.trees import replace_path, subtree, with_readme, write_folder

MAX_ATTEMPTS = 200


@dataclass(frozen=True)
class Tombstone:
    task_id: str
    deleted_at: str | None
    deleted_by: str | None
    title: str | None


def commit_message(verb: str, task: TaskMetadata, detail: str | None = None) -> str:
    lines = [f"{verb} {task.id[:8]}: {task.title}", ""]
    if detail:
        lines += [detail, ""]
    lines += [f"Task-Id: {task.id}", f"Task-Action: {verb}"]
    return "\n".join(lines) + "\n"


def object_write_error(repo: GitRepo, exc: Exception) -> GittaskError:
    """What the user reads when git cannot store an object (a read-only or full disk)."""
    text = " ".join(str(exc).split())
    objects = repo.common_dir / "objects"
    return GittaskError(
        f"cannot write to the git object database {objects}: {text}; nothing was changed",
        "check free disk space and that you may write to the repository's .git folder",
    )


class TaskStore:
    def __init__(self, repo: GitRepo, ref: str = layout.DATA_REF) -> None:
        self.repo = repo
        self.git = repo.pygit
        self.ref = ref

    # -- reading -------------------------------------------------------------

    def tip(self) -> pygit2.Oid | None:
        try:
            target = self.git.references[self.ref].resolve().target
        except KeyError:
            return None
        return target if isinstance(target, pygit2.Oid) else None

    def root(self, commit_id: pygit2.Oid | None = None) -> pygit2.Tree | None:
        oid = commit_id or self.tip()
        if oid is None:
            return None
        try:
            commit = self.git[oid]
            tree = commit.tree if isinstance(commit, pygit2.Commit) else None
        except (KeyError, ValueError, pygit2.GitError):
            tree = None
        if tree is None:
            raise GittaskError(
                f"{self.ref} points at {oid}, which is not a readable commit here",
                "run 'git fsck'; 'git reflog show " + self.ref + "' lists earlier tips",
            )
        return tree

    def task_tree(self, task_id: str, root: pygit2.Tree | None = None) -> pygit2.Tree | None:
        root = root if root is not None else self.root()
        try:
            entry = root[layout.task_dir(task_id)] if root is not None else None
        except KeyError:
            return None
        if entry is None:
            return None
        obj = self.git[entry.id]
        return obj if isinstance(obj, pygit2.Tree) else None

    def get(self, task_id: str, root: pygit2.Tree | None = None) -> TaskMetadata:
        tree = self.task_tree(task_id, root)
        if tree is None:
            raise TaskNotFoundError(f"no task matches '{task_id}'")
        return parse_task_tree(self.git, tree, layout.task_dir(task_id))

    def exists(self, task_id: str) -> bool:
        return self.task_tree(task_id) is not None

    def ids(self, root: pygit2.Tree | None = None) -> Iterator[str]:
        root = root if root is not None else self.root()
        tasks = subtree(self.git, root, layout.TASKS_DIR)
        if tasks is None:
            return
        for fan in tasks:
            fan_tree = self.git[fan.id]
            if isinstance(fan_tree, pygit2.Tree):
                for entry in fan_tree:
                    if entry.name:
                        yield entry.name

    def tombstone(self, task_id: str, root: pygit2.Tree | None = None) -> Tombstone | None:
        root = root if root is not None else self.root()
        if root is None:
            return None
        try:
            entry = root[layout.tombstone_path(task_id)]
        except KeyError:
            return None
        blob = self.git[entry.id]
        try:
            data = yamlio.load(blob.data) if isinstance(blob, pygit2.Blob) else {}
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        return Tombstone(
            task_id=task_id,
            deleted_at=data.get("deleted_at"),
            deleted_by=data.get("deleted_by"),
            title=data.get("title"),
        )

    def resolve(self, prefix: str) -> str:
        """The full id of the one task whose id starts with ``prefix``."""
        wanted = normalize_id(prefix)
        if not wanted or any(c not in "0123456789abcdef" for c in wanted):
            raise TaskNotFoundError(
                f"no task matches '{prefix}'", "a task id is hexadecimal; see 'task list'"
            )
        root = self.root()
        matches = self._matching(root, layout.TASKS_DIR, wanted)
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise AmbiguousTaskIdError(prefix, sorted(m[:12] for m in matches))
        gone = [t for t in self._matching(root, layout.TOMBSTONES_DIR, wanted)]
        if len(gone) == 1:
            stone = self.tombstone(gone[0], root)
            when = f" on {stone.deleted_at}" if stone and stone.deleted_at else ""
            who = f" by {stone.deleted_by}" if stone and stone.deleted_by else ""
            raise TaskNotFoundError(f"task {gone[0][:8]} was deleted{when}{who}")
        raise TaskNotFoundError(f"no task matches '{prefix}'", "see 'claude-container task list'")

    def _matching(self, root: pygit2.Tree | None, top: str, wanted: str) -> list[str]:
        base = subtree(self.git, root, top)
        if base is None:
            return []
        if len(wanted) >= 2:
            fans = [base[wanted[:2]].id] if wanted[:2] in base else []
        else:
            fans = [e.id for e in base if (e.name or "").startswith(wanted)]
        found = []
        for fan in fans:
            fan_tree = self.git[fan]
            if isinstance(fan_tree, pygit2.Tree):
                for entry in fan_tree:
                    name = (entry.name or "").removesuffix(".yaml")
                    if name.startswith(wanted):
                        found.append(name)
        return found

    # -- writing -------------------------------------------------------------

    def commit(
        self,
        build: Callable[[pygit2.Tree | None], tuple[pygit2.Oid, str]],
        extra_parents: list[pygit2.Oid] | None = None,
    ) -> pygit2.Oid:
        """Make one commit on the ref by compare-and-swap, rebuilding on conflict.

        ``build`` gets the current root tree (None before the first commit) and
        returns (new tree id, message); it may raise to abort without writing.
        """
        sig = self.repo.signature()
        last_error = ""
        for attempt in range(MAX_ATTEMPTS):
            ref = self._ref_object()
            target = ref.resolve().target if ref is not None else None
            tip = target if isinstance(target, pygit2.Oid) else None
            root = self.root(tip) if tip is not None else None
            tree_oid, message = build(root)
            parents = [tip] if tip is not None else []
            parents += extra_parents or []
            with self.writing_objects():
                commit_oid = self.git.create_commit(None, sig, sig, message, tree_oid, parents)
            swapped = self._swap(ref, commit_oid, message)
            if swapped is None:
                return commit_oid
            last_error = swapped
            stale = locks.stale_lock(self.repo, self.ref) if ".lock" in swapped else None
            if stale is not None:  # a crash's leftover: retrying will not help
                raise ConcurrentUpdateError(*locks.describe(self.repo, self.ref, stale))
            time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 20)))
        held = locks.lock_file(self.repo, self.ref)
        if held.exists():
            raise ConcurrentUpdateError(*locks.describe(self.repo, self.ref, held))
        raise ConcurrentUpdateError(
            f"could not move {self.ref} in {MAX_ATTEMPTS} attempts ({last_error}); "
            "nothing was written",
            "try again; if it keeps failing, check that you may write to the repository's "
            ".git folder",
        )

    @contextmanager
    def writing_objects(self) -> Iterator[None]:
        """Around writes of blobs, trees and commits: a refusal is one line.

        Only objects are written there, never the ref, so nothing has changed.
        """
        try:
            yield
        except (pygit2.GitError, OSError) as exc:
            raise object_write_error(self.repo, exc) from None

    def _ref_object(self) -> pygit2.Reference | None:
        try:
            return self.git.references[self.ref]
        except KeyError:
            return None

    def _swap(self, ref: pygit2.Reference | None, new: pygit2.Oid, message: str) -> str | None:
        """Move the ref to ``new`` if nobody else did; None on success, else why not."""
        summary = message.splitlines()[0]
        try:
            if ref is None:
                self.git.create_reference_direct(self.ref, new, False, message=summary)
            else:
                ref.set_target(new, summary)
        except (pygit2.AlreadyExistsError, pygit2.GitError, OSError) as exc:
            # someone else moved the ref (or holds its lock): rebuild and retry
            return " ".join(str(exc).split()) or type(exc).__name__
        return None

    def _write_task(self, root: pygit2.Tree | None, task: TaskMetadata) -> pygit2.Oid:
        path = layout.task_dir(task.id)
        old = self.task_tree(task.id, root)
        files = task_files(task)
        with self.writing_objects():
            folder = write_folder(self.git, old, files)
            return replace_path(self.git, with_readme(self.git, root), path, folder)

    def create(self, task: TaskMetadata, check: Callable[[], None] | None = None) -> TaskMetadata:
        """Store a new task. ``check`` runs before every attempt (again after a lost
        compare-and-swap) and may raise to abort: rules that other writers can break."""

        def build(root: pygit2.Tree | None) -> tuple[pygit2.Oid, str]:
            if self.task_tree(task.id, root) is not None:
                raise GittaskError(f"task {task.id} already exists")
            if check is not None:
                check()
            return self._write_task(root, task), commit_message("create", task)

        self.commit(build)
        return task

    def update(
        self,
        task_id: str,
        change: Callable[[TaskMetadata], str | None],
        verb: str = "update",
    ) -> TaskMetadata:
        """Read-modify-write one task atomically.

        ``change`` edits the task in place (it runs again on a fresh copy if the
        ref moved) and may return a detail line for the commit message.
        """
        result: list[TaskMetadata] = []

        def build(root: pygit2.Tree | None) -> tuple[pygit2.Oid, str]:
            task = self.get(task_id, root)
            detail = change(task)
            result[:] = [task]
            return self._write_task(root, task), commit_message(verb, task, detail)

        self.commit(build)
        return result[0]

    def add_feedback(self, task_id: str, entry: FeedbackEntry) -> TaskMetadata:
        def change(task: TaskMetadata) -> str:
            task.feedback_history.append(entry)
            return f"{entry.feedback_type.value} feedback {entry.id}"

        return self.update(task_id, change, verb="feedback")

    def delete(self, task_id: str, deleted_by: str | None = None) -> TaskMetadata:
        result: list[TaskMetadata] = []

        def build(root: pygit2.Tree | None) -> tuple[pygit2.Oid, str]:
            tree = self.task_tree(task_id, root)
            if tree is None:
                if self.tombstone(task_id, root) is not None:
                    raise TaskNotFoundError(f"task {task_id[:8]} was already deleted")
                raise TaskNotFoundError(f"no task matches '{task_id}'")
            try:
                task = parse_task_tree(self.git, tree, layout.task_dir(task_id))
                title = task.title
            except CorruptRecordError:
                task = TaskMetadata(id=task_id, description="(unreadable record)")
                title = task.description
            result[:] = [task]
            stone = yamlio.dump(
                {
                    "id": task_id,
                    "deleted_at": format_ts(utcnow()),
                    "deleted_by": deleted_by,
                    "title": title,
                    "branch_name": task.branch_name,
                }
            ).encode()
            with self.writing_objects():
                new_root = self.git[replace_path(self.git, root, layout.task_dir(task_id), None)]
                assert isinstance(new_root, pygit2.Tree)
                blob = self.git.create_blob(stone)
                tree_oid = replace_path(
                    self.git,
                    new_root,
                    layout.tombstone_path(task_id),
                    blob,
                    pygit2.GIT_FILEMODE_BLOB,
                )
            return tree_oid, commit_message("delete", task)

        self.commit(build)
        return result[0]

    def discard(self, task_id: str, message: str) -> None:
        """Remove a task's folder without a tombstone: for a record that never left this
        clone (a schedule's slot it could not claim), so no other clone knows it."""

        def build(root: pygit2.Tree | None) -> tuple[pygit2.Oid, str]:
            if self.task_tree(task_id, root) is None:
                raise TaskNotFoundError(f"no task matches '{task_id}'")
            with self.writing_objects():
                tree = replace_path(self.git, root, layout.task_dir(task_id), None)
            return tree, f"{message}\n\nTask-Id: {task_id}\nTask-Action: discard\n"

        self.commit(build)
