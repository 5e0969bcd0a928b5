"""Reading the changed fan-out folders' task records into index rows for a refresh:
in this process, or, for a large refresh, in worker processes on the machine's
other cores, streamed back a folder at a time while this process writes them.

The workers hand back finished rows (the record's JSON and search text made
there), so the writing process only inserts, and only one folder's rows are in
flight per worker: memory stays flat however many tasks are read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gittask.store.index.rows import Row, indexable_row

if TYPE_CHECKING:
    from gittask.store.taskstore import TaskStore

# (fan name, fan tree id, {task id: tree id} already indexed)
FanWork = tuple[str, str, dict[str, str]]
# (fan name, fan tree id, rows of the tasks read, task ids present, {task id: tree id} known)
FanResult = tuple[str, str, list[Row], set[str], dict[str, str]]

# Reading records (git objects, YAML, the model) is the cost of a large refresh;
# above this many changed fan-out folders it is spread over the machine's cores.
PARALLEL_MIN_FANS = 32
MAX_WORKERS = 8

_worker_git: Any = None  # a worker process's own repository


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def large(work: list[FanWork]) -> bool:
    return len(work) >= PARALLEL_MIN_FANS


def parse_fans(store: TaskStore, work: list[FanWork]) -> Iterator[FanResult]:
    """Each changed fan-out folder's rows, in any order."""
    import multiprocessing

    workers = min(cores(), MAX_WORKERS, len(work))
    if not large(work) or workers < 2 or multiprocessing.parent_process():
        for item in work:
            yield fan_rows(store.git, item)
        return
    context = multiprocessing.get_context("fork")  # the workers start with the imports done
    with context.Pool(workers, _open_repo, (str(store.repo.git_dir),)) as pool:
        yield from pool.imap_unordered(_worker_fan_rows, work)


def _open_repo(git_dir: str) -> None:
    import pygit2

    global _worker_git
    # every object is read once: libgit2's object cache would only grow (~50 MB at 100k)
    pygit2.settings.enable_caching(False)
    _worker_git = pygit2.Repository(git_dir)


def _worker_fan_rows(item: FanWork) -> FanResult:
    return fan_rows(_worker_git, item)


def fan_rows(git: Any, item: FanWork) -> FanResult:
    """The rows of one fan-out folder's tasks that are not indexed as they are."""
    import pygit2

    from gittask.errors import CorruptRecordError
    from gittask.store import layout
    from gittask.store.taskfiles import parse_task_tree

    fan_name, fan_oid, known = item
    rows: list[Row] = []
    present: set[str] = set()
    fan_tree = git[fan_oid]
    for entry in fan_tree if isinstance(fan_tree, pygit2.Tree) else []:
        name = entry.name or ""
        present.add(name)
        oid = str(entry.id)
        if known.get(name) == oid:
            continue
        path = f"{layout.TASKS_DIR}/{fan_name}/{name}"
        record: dict[str, Any] | None = None
        error: str | None = None
        try:
            if not isinstance(entry, pygit2.Tree):  # an entry is its object (pygit2 >= 1.15)
                raise CorruptRecordError(path, "not a folder")
            record = parse_task_tree(git, entry, path).to_dict()
        except CorruptRecordError as exc:
            error = str(exc)
        except Exception as exc:  # one odd record must never stop the others listing
            error = f"{path}: {type(exc).__name__}: {exc}"
        rows.append(indexable_row(fan_name, name, oid, record, error, path))
    return fan_name, fan_oid, rows, present, known
