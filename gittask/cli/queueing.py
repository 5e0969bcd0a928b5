"""Queueing tasks for the workers, without typer (``task queue``, ``start --queue``,
``continue --queue``, and the fast path of the latter)."""

from __future__ import annotations

from gittask.cli import output


def queue_and_say(task_ids: list[str], as_json: bool) -> None:
    """Queue tasks for the workers (pending, failed or finished ones) and say so."""
    from gittask.workflow.database import open_database
    from gittask.workflow.worker.queue import queue_task

    db = open_database()
    db.refresh()
    done = [queue_task(db, db.resolve(task_id)) for task_id in task_ids]
    if as_json:
        output.print_json([t.to_dict() for t in done])
        return
    for task in done:
        output.info(f"queued task {task.id[:8]} for the workers")
