"""The task database as commands use it: store + index + working copy.

Reads go through the index (brought up to date from the ref first); writes go
to the ref by compare-and-swap, then the index and the working copy follow.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pygit2

from gittask.errors import CorruptRecordError, GittaskError
from gittask.model import FeedbackEntry, TaskMetadata
from gittask.store.fastpath import INDEX_FILE
from gittask.store.history import HistoryEntry
from gittask.store.history import history as walk_history
from gittask.store.index import MEMORY, IndexRow, IndexUnwritableError, TaskIndex
from gittask.store.records import RecordStore, StoredRecord
from gittask.store.repo import GitRepo
from gittask.store.taskstore import TaskStore
from gittask.store.workcopy import WORKCOPY_DIR, WorkCopy


class RemoteLink(Protocol):
    """The remote side of the database, given to it by whoever opens it.

    The database never imports the sync layer: :func:`gittask.workflow.database.open_database`
    passes :class:`gittask.store.sync.SyncLink` for the configured remote. Without a
    link the database is local only (nothing fetched is merged on read).
    """

    def integrate(self, repo: GitRepo, index: TaskIndex) -> str:
        """Merge task state a plain ``git fetch`` brought, before a read; the
        remote-tracking tip now contained ("" when there is none)."""
        ...

    def after_write(self, repo: GitRepo) -> None:
        """After a write to the data ref (the first task sets up the fetch refspecs)."""
        ...


class TaskDatabase:
    def __init__(
        self, repo: GitRepo, link: RemoteLink | None = None, *, reading: bool = False
    ) -> None:
        """``link``: the remote side (none: local only); ``reading``: a command that only
        reads tasks; it goes on from the ref (with one warning) when the index cannot
        be written."""
        self.repo = repo
        self.link = link
        self.reading = reading
        self.store = TaskStore(repo)
        self.named = RecordStore(self.store)  # templates/, schedules/
        self.index = TaskIndex(repo.state_dir / INDEX_FILE, self.store)
        main = repo.main_workdir
        self.workcopy = WorkCopy(main / WORKCOPY_DIR) if main is not None else None

    @classmethod
    def open(
        cls,
        start: str | os.PathLike[str] | None = None,
        link: RemoteLink | None = None,
        *,
        reading: bool = False,
    ) -> TaskDatabase:
        return cls(GitRepo.discover(start), link, reading=reading)

    # -- freshness -----------------------------------------------------------------

    def refresh(self) -> None:
        """Merge fetched state if any, then bring index and working copy up to date.

        When the index cannot be written (a read-only ``.git``, a full disk), reads
        go on from the ref through an index kept in memory, with one warning.
        """
        if self.index.path == MEMORY:
            self.index.refresh(self.store)
            return
        try:
            remote_seen = self.link.integrate(self.repo, self.index) if self.link else ""
            self.index.refresh(self.store)
            if self.index.get_meta("remote_seen") != remote_seen:
                self.index.set_meta("remote_seen", remote_seen)
        except IndexUnwritableError as exc:
            if not self.reading:
                raise  # a change is not made while its index cannot follow
            self._without_index_file(exc)
            return
        self._sync_workcopy()

    def _without_index_file(self, exc: IndexUnwritableError) -> None:
        from gittask.notices import warn

        warn(
            f"{exc.message}; reading tasks from {self.store.ref} directly "
            "(slower; tasks fetched but not yet merged are not shown)"
        )
        self.index.close()
        self.index = TaskIndex(MEMORY, self.store)
        self.index.refresh(self.store)

    def _sync_workcopy(self, touched: tuple[str, ...] = ()) -> None:
        """``touched``: the tasks this command works with get their folder."""
        if self.workcopy is not None:
            # a browsing aid: never fail a command because of it
            with contextlib.suppress(OSError, GittaskError):
                self.workcopy.sync(self.index, touched)

    # -- reading -------------------------------------------------------------------

    def rows(self, status: str | None = None) -> list[IndexRow]:
        self.refresh()
        return self.index.rows(status)

    def resolve(self, prefix: str) -> str:
        return self.store.resolve(prefix)

    def get(self, prefix: str) -> TaskMetadata:
        task = self.store.get(self.resolve(prefix))
        self._sync_workcopy((task.id,))
        return task

    def task(self, task_id: str, at: pygit2.Oid | None = None) -> TaskMetadata:
        """The record of the task with this full id (as of commit ``at``, default the tip)."""
        return self.store.get(task_id, self.store.root(at) if at is not None else None)

    def exists(self, task_id: str) -> bool:
        return self.store.exists(task_id)

    def was_deleted(self, task_id: str, at: pygit2.Oid | None = None) -> bool:
        """A tombstone says this task was deleted (as of commit ``at``, default the tip)."""
        root = self.store.root(at) if at is not None else None
        return self.store.tombstone(task_id, root) is not None

    def discard(self, task_id: str, message: str) -> None:
        """Remove a task folder that never left this clone, without a tombstone."""
        self.store.discard(task_id, message)
        self._after_write(None)

    def tip(self) -> pygit2.Oid | None:
        """The data ref's commit (for an undo by compare-and-swap)."""
        return self.store.tip()

    # the index as it is (call refresh() first when fetched state may matter)

    def indexed_rows(self, status: str | None = None) -> list[IndexRow]:
        return self.index.rows(status)

    def indexed_ids(self) -> list[str]:
        return self.index.ids()

    def indexed_record(self, task_id: str) -> dict[str, Any]:
        return self.index.record(task_id)

    def search(self, query: str) -> list[tuple[IndexRow, float]]:
        return self.index.search(query)

    def branch_owner(self, branch: str) -> str | None:
        """The task whose branch this is, if any."""
        return self.index.branch_owner(branch)

    def history(self, task_ids: set[str] | None = None) -> Iterator[HistoryEntry]:
        """What happened to tasks (all, or ``task_ids``), newest first, from the data ref."""
        return walk_history(self.store, task_ids)

    def index_problems(self) -> list[str]:
        """How the index disagrees with the data ref (``doctor``); empty when it agrees."""
        from gittask.store.selfcheck import index_disagreements

        return index_disagreements(self.store, self.index)

    def rebuild_index(self) -> int:
        """Rebuild the index from the data ref; the number of tasks it lists."""
        self.index.rebuild(self.store)
        return len(self.index.ids())

    def workcopy_problems(self) -> list[str]:
        """How the working copy disagrees with the index (``doctor``)."""
        from gittask.store.selfcheck import workcopy_disagreements

        if self.workcopy is None:
            return []
        return workcopy_disagreements(self.workcopy.root, self.index.tip, set(self.index.fans()))

    def rewrite_workcopy(self) -> None:
        """Write the working copy again in full, from the index."""
        if self.workcopy is not None:
            self.workcopy.forget()
            self.workcopy.sync(self.index)

    def reindex(self) -> None:
        """Bring the index up to the data ref (no fetched state merged)."""
        self.index.refresh(self.store)

    # -- writing -------------------------------------------------------------------

    def _after_write(self, task_id: str | None) -> None:
        try:
            self.index.refresh(self.store)
        except GittaskError as exc:  # the ref has moved: say that the change is stored
            raise GittaskError(
                f"the change was stored on {self.store.ref}, but {exc.message}", exc.hint
            ) from None
        self._sync_workcopy((task_id,) if task_id else ())
        if self.link is not None:
            self.link.after_write(self.repo)  # the first task sets up the fetch refspecs

    def create(self, task: TaskMetadata, check: Callable[[], None] | None = None) -> TaskMetadata:
        """Store a new task; ``check`` sees the index as of the ref it writes on."""
        guard = None
        if check is not None:

            def guard() -> None:
                self.index.refresh(self.store)  # a no-op unless another writer got in first
                check()

        self.store.create(task, guard)
        self._after_write(task.id)
        return task

    def update(
        self, task_id: str, change: Callable[[TaskMetadata], str | None], verb: str = "update"
    ) -> TaskMetadata:
        task = self.store.update(task_id, change, verb)
        self._after_write(task.id)
        return task

    def add_feedback(self, task_id: str, entry: FeedbackEntry) -> TaskMetadata:
        task = self.store.add_feedback(task_id, entry)
        self._after_write(task.id)
        return task

    def delete(self, task_id: str) -> TaskMetadata:
        task = self.store.delete(task_id, deleted_by=self.repo.author_string())
        self._after_write(None)
        return task

    # -- named records (templates, schedules) ----------------------------------------

    def record(self, path: str) -> StoredRecord | None:
        """The named record at ``path`` (e.g. ``templates/bug-fix.yaml``), or None."""
        return self.named.get(path)

    def records(self, folder: str) -> list[StoredRecord | CorruptRecordError]:
        """Every named record of ``folder``; an unreadable one is its error."""
        return self.named.all(folder)

    def write_record(
        self,
        path: str,
        change: Callable[[dict[str, Any] | None], tuple[dict[str, Any], str]],
    ) -> StoredRecord:
        """Read-modify-write one named record by compare-and-swap (see RecordStore.write)."""
        stored = self.named.write(path, change)
        self._after_write(None)
        return stored

    def logs_folder(self, task_id: str) -> Path:
        if self.workcopy is not None:
            return self.workcopy.logs_folder(task_id)
        return self.repo.state_dir / "logs" / task_id
