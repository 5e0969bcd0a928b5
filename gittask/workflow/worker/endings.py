"""How a worker's run ended: settled already, or what is left to write; the words for it."""

from __future__ import annotations

from pathlib import Path

from gittask.model import TaskMetadata, TaskStatus
from gittask.workflow import lease


def settled(task: TaskMetadata, held: lease.Lease) -> bool:
    """Nothing left to write: the run recorded its end, and it is not to be retried or stopped."""
    if task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        return False  # its process died before recording the end
    wanted = lease.stop_wanted(task)
    if wanted is not None and wanted[0] == held.number and task.status is TaskStatus.FAILED:
        return False
    return not lease.retryable(task)


def ending(task: TaskMetadata) -> str:
    from gittask.model.outcome import outcome

    word = outcome(task.status.value, task.error_message, task.pr_url)
    detail = f" ({task.error_message})" if task.error_message and word != "done" else ""
    return f"{word}, run {task.run_count}{detail}"


def last_error(log: Path) -> str | None:
    """The last ``error:`` line the run's process printed."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    errors = [x[len("error: ") :] for x in lines if x.startswith("error: ")]
    return errors[-1] if errors else None
