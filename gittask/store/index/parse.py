"""Reading the changed fan-out folders' task records into index rows for a refresh:
in this process, or, for a large refresh, in worker processes on the machine's
other cores, streamed back a folder at a time while this process writes them.

The workers hand back finished rows (the record's JSON and search text made
there), so the writing process only inserts, and at most a pipe's worth (1 MiB)
of rows is in flight per worker: memory stays flat however many tasks are read.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import suppress
from typing import TYPE_CHECKING, Any, cast

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
PIPE_BYTES = 1 << 20  # Linux lets anyone have pipes of up to 1 MiB
_WORKER_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def large(work: list[FanWork]) -> bool:
    return len(work) >= PARALLEL_MIN_FANS


def parse_fans(store: TaskStore, work: list[FanWork]) -> Iterator[FanResult]:
    """Each changed fan-out folder's rows, in any order."""
    workers = min(cores(), MAX_WORKERS, len(work))
    if not large(work) or workers < 2 or _in_a_worker():
        for item in work:
            yield fan_rows(store.git, item)
        return
    yield from _in_workers(str(store.repo.git_dir), work, workers)


def _in_a_worker() -> bool:
    import multiprocessing  # (only for a large refresh: its import costs a few ms)

    return multiprocessing.parent_process() is not None


def _in_workers(git_dir: str, work: list[FanWork], count: int) -> Iterator[FanResult]:
    """``work`` read by ``count`` forked processes, each taking the next folder from a
    shared counter and sending its rows down a wide pipe of its own, which this
    process reads in its one thread (a pool's result thread fought it for the GIL:
    its workers spent half their time waiting to hand rows over)."""
    import multiprocessing
    from multiprocessing.connection import Connection, wait

    from gittask.errors import GittaskError

    context = multiprocessing.get_context("fork")  # the workers start with the work and imports
    taken = context.Value("i", 0)  # how many items of `work` workers have taken
    pipes: list[Connection] = []  # the readers of workers not finished yet
    opened: list[Connection] = []
    procs = []
    try:
        for _ in range(count):
            reader, writer = context.Pipe(duplex=False)
            _widen(writer.fileno())
            # the child closes every reader it inherits: when this process dies, its
            # writes fail (EPIPE) and it ends instead of waiting on a full pipe forever
            readers = [*pipes, reader]
            args = (git_dir, work, taken, writer, readers)
            proc = context.Process(target=_work, args=args, daemon=True)
            # blocked until the child has its own handlers (a SIGTERM meanwhile waits)
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WORKER_SIGNALS)
            try:
                proc.start()
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            writer.close()
            pipes.append(reader)
            opened.append(reader)
            procs.append(proc)
        while pipes:
            for pipe in cast("list[Connection]", wait(pipes)):
                try:
                    got = pipe.recv()
                except (EOFError, OSError):  # OSError: killed in the middle of a message
                    raise GittaskError("a process reading task records ended early") from None
                if isinstance(got, str):
                    raise GittaskError(f"reading task records failed: {got}")
                if got is None:
                    pipes.remove(pipe)
                else:
                    yield got
    finally:
        for pipe in opened:
            pipe.close()  # a worker still writing gets EPIPE and ends
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()


def _widen(fd: int) -> None:
    """A pipe that holds a folder's rows (64 KiB by default: a worker would wait)."""
    import fcntl

    with suppress(OSError, AttributeError):  # not Linux, or over the user's limit
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _work(git_dir: str, work: list[FanWork], taken: Any, writer: Any, readers: list[Any]) -> None:
    """A worker: folders from ``work`` until none is left, then None (or why it failed)."""
    # forked with the parent's handlers (a worker daemon's, a run's deferred ones) and
    # these signals blocked: a worker ends on SIGTERM, Ctrl-C is the parent's to report
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _WORKER_SIGNALS)
    for reader in readers:
        reader.close()
    try:
        import pygit2

        # every object is read once: libgit2's object cache would only grow (~50 MB at 100k)
        pygit2.settings.enable_caching(False)
        git = pygit2.Repository(git_dir)
        while True:
            with taken.get_lock():
                i = taken.value
                taken.value = i + 1
            if i >= len(work):
                break
            writer.send(fan_rows(git, work[i]))
        writer.send(None)
    except BrokenPipeError:
        pass  # the reading process is gone: nobody to tell
    except Exception as exc:  # the reading process says so and stops
        with suppress(OSError):
            writer.send(f"{type(exc).__name__}: {exc}")
    finally:
        writer.close()


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
