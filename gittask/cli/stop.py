"""``task stop``: stop a running task from any terminal on this machine."""

from __future__ import annotations

from gittask.cli import output
from gittask.cli.shared import IdArg, JsonOpt, open_db


def stop(
    task_id: IdArg,
    as_json: JsonOpt = False,
) -> None:
    """Stop a running task (its container and worktree), from any terminal on this machine.

    The work done so far stays on the local branch; the task is recorded as
    stopped (a failed run) and 'task start ID' runs it again.
    """
    from gittask.workflow.stop import stop_task

    db = open_db()
    db.refresh()
    result = stop_task(db, db.resolve(task_id))
    if as_json:
        output.print_json(
            {
                "id": result.task.id,
                "run": result.run,
                "pid": result.pid,
                "status": result.task.status.value,
                "error_message": result.task.error_message,
            }
        )
        return
    output.info(result.describe())
