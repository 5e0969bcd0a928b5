"""Reading the changed fan-out folders' task records for a refresh: in this process,
or, for a large refresh, spread over the machine's cores."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gittask.store.taskstore import TaskStore

# (fan name, fan tree id, {task id: tree id} already indexed)
FanWork = tuple[str, str, dict[str, str]]
# (task id, tree id, record or None, error or None)
ParsedTask = tuple[str, str, dict[str, Any] | None, str | None]
FanResult = tuple[str, str, list[ParsedTask], set[str], dict[str, str]]

# Parsing YAML is the cost of a large refresh (ruamel's constructor runs in
# Python even over the C parser); above this many changed fan-out folders the
# work is spread over the machine's cores.
PARALLEL_MIN_FANS = 32


def parse_fans(store: TaskStore, work: list[FanWork]) -> Iterator[FanResult]:
    workers = min(os.cpu_count() or 1, 8)
    if len(work) < PARALLEL_MIN_FANS or workers < 2 or _in_a_worker():
        for item in work:
            yield _parse_fan(store.git, item)
        return
    import concurrent.futures
    import multiprocessing

    chunks = [work[i::workers] for i in range(workers)]
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [pool.submit(_parse_chunk, str(store.repo.git_dir), chunk) for chunk in chunks]
        for future in futures:
            yield from future.result()


def _in_a_worker() -> bool:
    import multiprocessing  # (only for a large refresh: its import costs a few ms)

    return multiprocessing.parent_process() is not None


def _parse_chunk(git_dir: str, chunk: list[FanWork]) -> list[FanResult]:
    import pygit2

    git = pygit2.Repository(git_dir)
    return [_parse_fan(git, item) for item in chunk]


def _parse_fan(git: Any, item: FanWork) -> FanResult:
    import pygit2

    from gittask.errors import CorruptRecordError
    from gittask.store import layout
    from gittask.store.taskfiles import parse_task_tree

    fan_name, fan_oid, known = item
    parsed: list[ParsedTask] = []
    present: set[str] = set()
    fan_tree = git[fan_oid]
    for entry in fan_tree if isinstance(fan_tree, pygit2.Tree) else []:
        name = entry.name or ""
        present.add(name)
        if known.get(name) == str(entry.id):
            continue
        path = f"{layout.TASKS_DIR}/{fan_name}/{name}"
        obj = git[entry.id]
        try:
            if not isinstance(obj, pygit2.Tree):
                raise CorruptRecordError(path, "not a folder")
            record = parse_task_tree(git, obj, path).to_dict()
        except CorruptRecordError as exc:
            parsed.append((name, str(entry.id), None, str(exc)))
        except Exception as exc:  # one odd record must never stop the others listing
            parsed.append((name, str(entry.id), None, f"{path}: {type(exc).__name__}: {exc}"))
        else:
            parsed.append((name, str(entry.id), record, None))
    return fan_name, fan_oid, parsed, present, known
