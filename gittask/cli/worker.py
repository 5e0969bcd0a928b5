"""``claude-container worker``, ``task workers``, ``task queue`` and the hidden ``task _work``.

A worker watches the remote, claims queued tasks (a lease, by compare-and-swap
on the remote's task branch), runs each in a process of its own and publishes
the results, as a run does; see :mod:`gittask.workflow.worker.loop`.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output

if TYPE_CHECKING:
    from gittask.workflow.database import TaskDatabase

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def register(app: typer.Typer, task_app: typer.Typer) -> None:
    """``worker`` on the top level; ``workers``, ``queue`` and ``_work`` under ``task``."""
    app.command("worker")(worker)
    task_app.command("queue")(queue_tasks)
    task_app.command("workers")(workers)
    task_app.command("_work", hidden=True)(work_hidden)


def _db() -> TaskDatabase:
    from gittask.workflow.database import open_database

    return open_database()


def parse_duration(text: str) -> float:
    """``90s``, ``10m``, ``2h``, ``1d`` or plain seconds."""
    from gittask.errors import UsageError

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if match is None:
        raise UsageError(f"cannot read the duration '{text}'", "give 30s, 10m, 2h or 1d")
    size = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return float(match.group(1)) * size


def _say(line: str) -> None:
    sys.stderr.write(f"claude-container: {line}\n")
    sys.stderr.flush()


def worker(
    max_parallel: Annotated[
        int, typer.Option("--max-parallel", "-j", min=1, help="Runs at the same time.")
    ] = 1,
    labels: Annotated[
        str | None,
        typer.Option("--labels", help="Only tasks with one of these labels (comma-separated)."),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Exit when nothing is queued and nothing runs.")
    ] = False,
    idle_exit: Annotated[
        str | None,
        typer.Option("--idle-exit", metavar="DURATION", help="Exit after this long idle (10m)."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="This worker's name (default: HOST-PID).")
    ] = None,
    status: Annotated[
        bool, typer.Option("--status", help="List the workers seen recently, and exit.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Claim queued tasks from the remote, run them here, publish the results.

    Each claim is a lease written by compare-and-swap on the remote, renewed
    while the run goes; a worker that dies loses it, and another worker takes
    the task over. 'task stop ID' on any clone stops a run within seconds.
    """
    if status:
        workers(as_json=as_json)
        return
    from gittask.errors import UsageError
    from gittask.workflow.worker.setup import start_worker

    wanted = tuple(x.strip() for x in (labels or "").split(",") if x.strip())
    if labels is not None and not wanted:
        raise UsageError("--labels needs at least one label")
    ended = start_worker(
        _db(),
        name=name,
        max_parallel=max_parallel,
        labels=wanted,
        once=once,
        idle_exit=parse_duration(idle_exit) if idle_exit is not None else None,
        say=_say,
    )
    if as_json:
        output.print_json([{"id": e.task_id, "result": e.how} for e in ended])
    else:
        output.info(f"worker done: {len(ended)} run(s) ended")


def workers(
    all_: Annotated[
        bool, typer.Option("--all", help="Also workers not heard of for a day.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the workers seen recently, with their last heartbeat and what they run."""
    from gittask.workflow.worker.setup import seen_workers

    rows = seen_workers(_db(), include_old=all_)
    if as_json:
        output.print_json([row.to_json() for row in rows])
        return
    if not rows:
        output.info("no workers seen")
        return
    output.table(
        ["WORKER", "HOST", "STATE", "LAST SEEN", "RUNS", "DONE", "LABELS", "ENGINE"],
        [
            [
                r.name,
                r.host,
                r.shown_state,
                r.last_seen,
                " ".join(f"{t['task'][:8]}" for t in r.heartbeat.tasks) or "-",
                str(r.heartbeat.done),
                ",".join(r.heartbeat.labels) or "-",
                r.heartbeat.engine or "-",
            ]
            for r in rows
        ],
    )


def queue_tasks(
    task_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Tasks to queue.")],
    as_json: JsonOpt = False,
) -> None:
    """Queue tasks for the workers (pending, failed or finished ones: a worker runs them)."""
    from gittask.cli.queueing import queue_and_say

    queue_and_say(task_ids, as_json)


def work_hidden(
    task_id: Annotated[str, typer.Argument()],
    lease: Annotated[int, typer.Option("--lease")],
    worker_name: Annotated[str, typer.Option("--worker")],
) -> None:
    """Internal: one leased run, started by a worker (its output is the worker's log)."""
    from gittask.errors import GittaskError
    from gittask.workflow.worker.child import run_leased

    db = _db()
    result = run_leased(db, db.resolve(task_id), lease, worker_name, say=_say)
    if not result.success:
        raise GittaskError(f"task {task_id[:8]}: {result.error}")
    _say(f"task {task_id[:8]}: {result.task.status.value}, run {result.run}")
