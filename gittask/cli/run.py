"""``task start``, ``task continue``, ``task logs`` and the run behind ``task create``.

A run prints the agent's output live on stdout (Claude's stream-json as a
readable view) and the tool's own progress on stderr; the task id is the last
line on stdout. ``--detach`` runs it in a background process and prints the
id as soon as the container is running; ``task logs ID --follow`` watches it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output

if TYPE_CHECKING:
    from gittask.model import TaskMetadata
    from gittask.workflow.database import TaskDatabase
    from gittask.workflow.run import Preflight

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the final record as JSON.")]
DetachOpt = Annotated[
    bool, typer.Option("--detach", "-d", help="Run in the background; print the task id.")
]
IdArg = Annotated[str, typer.Argument(metavar="ID", help="Task id or unique prefix.")]

FEEDBACK_HELP = [
    "Write your feedback for the agent above that line.",
    "Everything from that line down is ignored; empty feedback aborts and stores nothing.",
]


def register(app: typer.Typer) -> None:
    """Add this group's commands to the ``task`` app."""
    app.command("start")(start)
    app.command("continue")(continue_task)
    app.command("logs")(logs)
    app.command("_run", hidden=True)(run_hidden)


def _db() -> TaskDatabase:
    from gittask.workflow.database import open_database

    return open_database()


def _show_line(to_stderr: bool) -> Callable[[str], None]:
    stream = sys.stderr if to_stderr else sys.stdout
    closed = False

    def show(line: str) -> None:
        nonlocal closed
        if closed:
            return
        try:
            stream.write(line + "\n")
            stream.flush()
        except (BrokenPipeError, OSError, ValueError):
            closed = True  # the reader went away (| head): the run goes on, logged

    return show


def _say(line: str) -> None:
    sys.stderr.write(f"claude-container: {line}\n")
    sys.stderr.flush()


def execute(
    db: TaskDatabase,
    task_id: str,
    kind: str,
    feedback_id: str | None = None,
    detach: bool = False,
    as_json: bool = False,
    pre: Preflight | None = None,
    background: bool = False,
) -> None:
    """Run the task (in the foreground, or in a background process) and report."""
    from gittask.errors import GittaskError
    from gittask.workflow.run import RunRequest, preflight, run_task

    pre = pre or preflight(db)
    if detach:
        _detach(db, task_id, kind, feedback_id, as_json)
        return
    request = RunRequest(
        task_id=task_id,
        kind="continue" if kind == "continue" else "create",
        feedback_id=feedback_id,
        show=(lambda line: None) if background else _show_line(to_stderr=as_json),
        say=_say,
        detached=background,
    )
    try:
        result = run_task(db, request, pre)
    except GittaskError as exc:
        if feedback_id:
            from gittask.workflow.publish import after_change

            after_change(db, pre.config)  # the stored feedback reaches the team anyway
        if feedback_id and exc.exit_code == 1:
            stored = f"the feedback is stored: once this is fixed, run 'task start {task_id[:8]}'"
            hint = f"{exc.hint}; {stored}" if exc.hint else stored
            raise GittaskError(exc.message, hint) from None
        raise
    for note in result.notes:
        _say(note)
    if as_json:
        output.print_json(result.task.to_dict())
    if result.interrupted:
        output.error(
            f"task {task_id[:8]} {result.error or 'interrupted'}; recorded as failed"
            if not result.success
            else f"interrupted after task {task_id[:8]} was pushed"
        )
        raise typer.Exit(130)
    if not result.success:
        raise GittaskError(f"task {task_id[:8]} failed: {result.error}")
    if not as_json:
        typer.echo(task_id)


def _detach(
    db: TaskDatabase, task_id: str, kind: str, feedback_id: str | None, as_json: bool
) -> None:
    """Start the run in a background process; return once its container runs."""
    from gittask.workflow.detach import start_detached

    pid = start_detached(db, task_id, kind, feedback_id)
    if as_json:
        output.print_json({"id": task_id, "detached": True, "pid": pid})
        return
    output.info(
        f"task {task_id[:8]} is running in the background (pid {pid}); "
        f"follow it with 'claude-container task logs {task_id[:8]} --follow'"
    )
    typer.echo(task_id)


def run_hidden(
    task_id: Annotated[str, typer.Argument()],
    kind: Annotated[str, typer.Option("--kind")] = "create",
    feedback_id: Annotated[str | None, typer.Option("--feedback-id")] = None,
) -> None:
    """Internal: the background half of --detach (its output is in the run's logs)."""
    db = _db()
    execute(db, db.resolve(task_id), kind, feedback_id, background=True)


# -- start -----------------------------------------------------------------------------


def start(
    task_id: IdArg,
    detach: DetachOpt = False,
    as_json: JsonOpt = False,
    publish_only: Annotated[
        bool,
        typer.Option(
            "--publish-only",
            help="Do not run: push the last run's work and open its PR (as 'task push ID').",
        ),
    ] = False,
) -> None:
    """Run a task recorded with --no-run, retry a failed one, or rerun without feedback."""
    from gittask.model import TaskStatus
    from gittask.workflow.lookup import check_continuable

    if publish_only:
        from gittask.cli.sync import publish_tasks

        publish_tasks([task_id], as_json)
        return
    db = _db()
    db.refresh()
    task = db.get(task_id)
    check_continuable(db, task)
    again = task.status in (TaskStatus.CREATED, TaskStatus.CONTINUED, TaskStatus.CLOSED)
    execute(db, task.id, "continue" if again else "create", detach=detach, as_json=as_json)


# -- continue --------------------------------------------------------------------------


def _read_feedback(
    db: TaskDatabase, task: TaskMetadata, text: str | None, file: Path | None
) -> tuple[str, str]:
    from gittask.cli.editor import edit, find_editor
    from gittask.errors import UsageError

    if text is not None and file is not None:
        raise UsageError("give the feedback with --feedback or --feedback-file, not both")
    if text is not None:
        return text, "inline"
    if file is not None:
        if str(file) == "-":
            return sys.stdin.read(), "file"
        try:
            return file.read_text(encoding="utf-8"), "file"
        except OSError as exc:
            raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
    context = [*FEEDBACK_HELP, "", f"Task {task.id[:8]}: {task.title}", f"Status: {task.status}"]
    if task.error_message:
        context.append(f"Last error: {task.error_message}")
    if task.pr_url:
        context.append(f"Pull request: {task.pr_url}")
    editor = find_editor(db.repo.config_get("core.editor"))
    return edit("", context, editor, "feedback"), "text"


def continue_task(
    task_id: Annotated[
        str,
        typer.Argument(metavar="ID", help="Task id, unique prefix, or its pull request URL."),
    ],
    feedback: Annotated[
        str | None, typer.Option("--feedback", "-m", help="The feedback, inline.")
    ] = None,
    feedback_file: Annotated[
        Path | None,
        typer.Option("--feedback-file", "-f", help="Read the feedback from a file ('-': stdin)."),
    ] = None,
    from_review: Annotated[
        bool,
        typer.Option(
            "--from-review", help="Use the pull request's review comments since the last run."
        ),
    ] = False,
    detach: DetachOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the task again with feedback (the editor opens when none is given)."""
    from gittask.errors import UsageError
    from gittask.model import FeedbackEntry, FeedbackType
    from gittask.workflow.lookup import check_continuable, resolve_task
    from gittask.workflow.publish import refresh_from_remote
    from gittask.workflow.run import preflight

    db = _db()
    refresh_from_remote(db)  # sync.auto: continue the newest state, see who runs it
    db.refresh()
    resolved = resolve_task(db, task_id)
    task = db.task(resolved)
    check_continuable(db, task)
    pre = preflight(db)
    if from_review:
        if feedback is not None or feedback_file is not None:
            raise UsageError("--from-review takes the feedback from the pull request: drop -m/-f")
        from gittask.workflow.pull_requests import review_feedback

        entry = review_feedback(db, task, pre.config)
    else:
        text, kind = _read_feedback(db, task, feedback, feedback_file)
        if not text.strip():
            raise UsageError("the feedback is empty; nothing was stored")
        entry = FeedbackEntry(
            feedback=text.strip() + "\n",
            feedback_type=FeedbackType(kind),
            author=db.repo.author_string(),
        )
    db.add_feedback(task.id, entry)
    if not as_json:
        output.info(f"feedback {entry.id} added to task {task.id[:8]}")
    execute(db, task.id, "continue", entry.id, detach=detach, as_json=as_json, pre=pre)


# -- logs ------------------------------------------------------------------------------


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

    db = _db()
    db.refresh()
    task = db.get(task_id)
    shown = run_log(db, task, run, follow, execution, say=output.info)
    if feedback:
        _print_feedback(task, shown.info, shown.run)
    _print_chunks(shown.chunks, shown.agent if not (raw or execution) else "")


def _print_chunks(chunks: Iterable[bytes], agent_name: str) -> None:
    from gittask.workflow.logview import lines

    out = sys.stdout
    try:
        for item in lines(chunks, agent_name):
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


# -- task list: the containers section -------------------------------------------------


def containers_section(statuses: set[str]) -> None:
    """Print running task containers and those a crash left, for ``task list``."""
    from gittask.workflow.containers import HEADERS, task_containers

    table = task_containers(statuses)
    if table.warning:
        output.info(table.warning)
    if not table.rows:
        return
    sys.stdout.write("\nTask containers:\n")
    output.table(HEADERS, table.rows)
    if table.leftovers:
        output.info("left by a crashed run: 'claude-container clean' removes them")
