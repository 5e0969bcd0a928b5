"""The task database as commands use it: store + index + working copy.

Reads go through the index (brought up to date from the ref first); writes go
to the ref by compare-and-swap, then the index and the working copy follow.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from gittask.errors import GittaskError
from gittask.model import FeedbackEntry, TaskMetadata
from gittask.store.fastpath import INDEX_FILE
from gittask.store.index import MEMORY, IndexRow, IndexUnwritableError, TaskIndex
from gittask.store.repo import GitRepo
from gittask.store.taskstore import TaskStore
from gittask.store.workcopy import WORKCOPY_DIR, WorkCopy

# Merges task state that a plain `git fetch` brought in. Called with the
# database before every read; returns the remote-tracking tip it integrated
# ("" when there is none). The default is the sync layer's integrate_fetched.
IntegrateHook = Callable[["TaskDatabase"], str]
_integrate_hook: IntegrateHook | None = None


def set_integrate_hook(hook: IntegrateHook | None) -> None:
    """Replace the read-path integration (None restores the default)."""
    global _integrate_hook
    _integrate_hook = hook


def _integrate_fetched(db: TaskDatabase) -> str:
    from gittask.store.sync import integrate_fetched

    return integrate_fetched(db)


class TaskDatabase:
    def __init__(self, repo: GitRepo, *, reading: bool = False) -> None:
        """``reading``: a command that only reads tasks; it goes on from the ref
        (with one warning) when the index cannot be written."""
        self.repo = repo
        self.reading = reading
        self.store = TaskStore(repo)
        self.index = TaskIndex(repo.state_dir / INDEX_FILE, self.store)
        main = repo.main_workdir
        self.workcopy = WorkCopy(main / WORKCOPY_DIR) if main is not None else None

    @classmethod
    def open(
        cls, start: str | os.PathLike[str] | None = None, *, reading: bool = False
    ) -> TaskDatabase:
        return cls(GitRepo.discover(start), reading=reading)

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
            remote_seen = (_integrate_hook or _integrate_fetched)(self)
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

    # -- writing -------------------------------------------------------------------

    def _after_write(self, task_id: str | None) -> None:
        try:
            self.index.refresh(self.store)
        except GittaskError as exc:  # the ref has moved: say that the change is stored
            raise GittaskError(
                f"the change was stored on {self.store.ref}, but {exc.message}", exc.hint
            ) from None
        self._sync_workcopy((task_id,) if task_id else ())
        from gittask.store.sync import ensure_configured

        ensure_configured(self.repo)  # the first task makes `git push` carry the data ref

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

    def logs_folder(self, task_id: str) -> Path:
        if self.workcopy is not None:
            return self.workcopy.logs_folder(task_id)
        return self.repo.state_dir / "logs" / task_id
