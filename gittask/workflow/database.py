"""Opening the task database the way every command does: linked to the configured remote.

The store knows nothing of the project's settings; this is where they meet it.
:func:`open_database` gives the database its :class:`~gittask.store.sync.SyncLink`
(state a plain ``git fetch`` brought is merged before each read; the first write
sets up the fetch refspecs), for the remote the config names. :func:`fast_index`
is the read-only fast path of ``task list`` (no pygit2).

Imports of the store happen inside the functions: ``task list`` on a current
index must not pay for pygit2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from gittask.config import configured_remote, project_root

if TYPE_CHECKING:  # re-exported for the CLI's annotations
    from gittask.store.database import TaskDatabase as TaskDatabase
    from gittask.store.history import HistoryEntry as HistoryEntry
    from gittask.store.index import IndexRow as IndexRow
    from gittask.store.index import TaskIndex as TaskIndex
    from gittask.store.repo import GitRepo as GitRepo


def open_repo(start: str | os.PathLike[str] | None = None) -> GitRepo:
    """The repository at ``start`` (default: the current folder), for the project commands."""
    from gittask.store.repo import GitRepo

    return GitRepo.discover(start)


def open_database(
    start: str | os.PathLike[str] | None = None, *, reading: bool = False
) -> TaskDatabase:
    """The database of the repository at ``start`` (default: the current folder).

    ``reading``: a command that only reads tasks (it goes on without a writable index).
    """
    from gittask.store.repo import GitRepo

    return database_for(GitRepo.discover(start), reading=reading)


def database_for(repo: GitRepo, *, reading: bool = False) -> TaskDatabase:
    """The database of ``repo``, linked to the remote its project's config names."""
    from gittask.store.database import TaskDatabase
    from gittask.store.sync import SyncLink

    return TaskDatabase(repo, SyncLink(configured_remote(project_root(repo))), reading=reading)


def fast_index(start: Path | None = None) -> TaskIndex | None:
    """The index when it is provably current (else None: take :func:`open_database`)."""
    from gittask.store.fastpath import fast_index as current_index

    return current_index(start, configured_remote)


def recent_history(index: TaskIndex, limit: int) -> list[HistoryEntry]:
    """The newest ``limit`` entries of the task history, read from the tip a current
    index (:func:`fast_index`) was made from: nothing fetched waits to be merged."""
    from gittask.store.history import recent

    return recent(_common_dir(index), index.tip, limit)


def show_in_working_copy(index: TaskIndex, task_id: str) -> bool:
    """Give ``task_id`` its folder in the working copy, as every command that reads one
    task does (from the index alone, no pygit2). False when there is no checkout to
    write it in (a bare or separate git dir) or it could not be written: the full path
    then does it, or says why."""
    import contextlib

    from gittask.errors import GittaskError
    from gittask.store.workcopy import WORKCOPY_DIR, WorkCopy

    common = _common_dir(index)
    if common.name != ".git":
        return False
    workcopy = WorkCopy(common.parent / WORKCOPY_DIR)
    if not workcopy.shows(task_id):
        with contextlib.suppress(OSError, GittaskError):
            workcopy.sync(index, (task_id,))
    return workcopy.shows(task_id)


def _common_dir(index: TaskIndex) -> Path:
    """The repository's shared git dir: the index is <common dir>/claude-tasks/index.sqlite."""
    return Path(index.path).parent.parent


def runs_recorded(index: TaskIndex) -> bool:
    """Whether a live-run marker of the index's repository is on this machine (then
    ``task list`` asks the engine about containers; a stale one is its to judge)."""
    from gittask.runner.naming import runs_dir_in

    # the index lives in the repository's state folder, <common git dir>/claude-tasks/
    try:
        return any(name.endswith(".json") for name in os.listdir(runs_dir_in(index.path.parent)))
    except OSError:
        return False  # no folder: nothing ever ran here
