"""``task logs``: a run's output, live or recorded, from any clone: the agent's
(readable), raw, or the tool's execution log."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output
from gittask.cli.outcome import outcome_line
from gittask.cli.shared import IdArg, open_db

if TYPE_CHECKING:
    from gittask.model import TaskMetadata
    from gittask.workflow.heartbeat import Heartbeat


def register(app: typer.Typer) -> None:
    """Add ``logs`` to the ``task`` app."""
    app.command("logs")(logs)


def logs(
    task_id: IdArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the run ends.")
    ] = False,
    feedback: Annotated[
        bool, typer.Option("--feedback", help="Show the description/feedback the run answered.")
    ] = False,
    run: Annotated[
        int | None, typer.Option("--run", "-r", min=1, help="Run number (default: the latest).")
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="The agent's output as it printed it.")
    ] = False,
    execution: Annotated[
        bool, typer.Option("--execution", help="What the tool did, with timestamps.")
    ] = False,
) -> None:
    """Show a run's output: the agent's (readable), raw, or the tool's execution log."""
    from gittask.workflow.logview import run_log

    db = open_db(reading=True)
    db.refresh()
    task = db.get(task_id)
    shown = run_log(db, task, run, follow, execution, say=output.info)
    if feedback:
        _print_feedback(task, shown.info, shown.run)
    beat = None
    if shown.followed and not execution:
        from gittask.config import load_config
        from gittask.workflow.heartbeat import Heartbeat

        every = load_config(db.repo).heartbeat_seconds
        beat = Heartbeat(task.id, every, _say, started=shown.started)
    _print_chunks(shown.chunks, shown.agent if not (raw or execution) else "", beat)
    if shown.followed:
        db.refresh()
        output.info(outcome_line(db.task(task.id)))  # push and PR: how it ended


def _say(line: str) -> None:
    output.info(f"claude-container: {line}")


def _print_chunks(
    chunks: Iterable[bytes], agent_name: str, heartbeat: Heartbeat | None = None
) -> None:
    from gittask.workflow.logview import lines

    out = sys.stdout
    try:
        for item in lines(chunks, agent_name, heartbeat):
            if isinstance(item, bytes):
                out.buffer.write(item)
            else:
                out.write(item + "\n")
            out.flush()
    except BrokenPipeError:
        pass


def _print_feedback(task: TaskMetadata, info: dict[str, object], run: int) -> None:
    feedback_id = info.get("feedback_id")
    entry = next((f for f in task.feedback_history if f.id == feedback_id), None)
    if entry is not None:
        number = task.feedback_history.index(entry) + 1
        head = f"== run {run}: feedback {number} ({entry.feedback_type.value}"
        head += f", {entry.author})" if entry.author else ")"
        text = entry.feedback
    else:
        head, text = f"== run {run}: the task description", task.description
    sys.stdout.write(head + "\n" + text.rstrip() + "\n== output\n")
    sys.stdout.flush()
