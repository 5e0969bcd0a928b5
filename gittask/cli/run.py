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
QueueOpt = Annotated[
    bool, typer.Option("--queue", help="Leave the run to a worker (status queued).")
]
BASE_LOCAL_HELP = (
    "Start the first run from the local base branch (with its unpushed commits), "
    "not the remote's copy."
)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the ``task`` app."""
    app.command("start")(start)
    app.command("continue")(continue_task)
    app.command("logs")(logs)
    app.command("_run", hidden=True)(run_hidden)


def _db(reading: bool = False) -> TaskDatabase:
    """``reading``: the command only reads (it works without write access, from the ref)."""
    from gittask.workflow.database import open_database

    return open_database(reading=reading)


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
    local_base: bool = False,
) -> None:
    """Run the task (in the foreground, or in a background process) and report."""
    from gittask.errors import GittaskError
    from gittask.workflow.run import RunRequest, preflight, run_task

    pre = pre or preflight(db)
    if not background:
        from gittask.workflow.local_work import local_work

        left_out = local_work(db.repo, db.task(task_id), pre.config)
        if left_out is not None:
            _say(left_out.describe(local_base))
    if detach:
        _detach(db, task_id, kind, feedback_id, as_json, local_base)
        return
    request = RunRequest(
        task_id=task_id,
        kind="continue" if kind == "continue" else "create",
        feedback_id=feedback_id,
        show=(lambda line: None) if background else _show_line(to_stderr=as_json),
        say=_say,
        detached=background,
        local_base=local_base,
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
        output.print_json(task_json(result.task))
    if result.interrupted:
        output.error(
            f"task {task_id[:8]} {result.error or 'interrupted'}; recorded as failed"
            if not result.success
            else f"interrupted after task {task_id[:8]} was pushed"
        )
        raise typer.Exit(130)
    word = _outcome_of(result.task)
    if not result.success and word != "no changes":
        raise GittaskError(f"task {task_id[:8]} failed: {result.error}", retry_hint(result.task))
    _say(outcome_line(result.task))
    if not as_json:
        typer.echo(task_id)


def _outcome_of(task: TaskMetadata) -> str:
    from gittask.model.outcome import outcome

    return outcome(task.status.value, task.error_message, task.pr_url)


def task_json(task: TaskMetadata) -> dict[str, object]:
    """The record as --json prints it: the stored fields plus ``outcome``."""
    data = task.to_dict()
    data["outcome"] = _outcome_of(task)
    return data


def retry_hint(task: TaskMetadata) -> str:
    """The command that tries a failed task again."""
    short = task.id[:8]
    if task.publish_error:
        return f"publish the work with 'claude-container task push {short}'"
    return f"retry with 'claude-container task start {short}'"


def outcome_line(task: TaskMetadata) -> str:
    """How a run ended, in one line: the PR, the pushed branch, or why not."""
    short, word = task.id[:8], _outcome_of(task)
    if word == "ready for review":
        return f"task {short} is ready for review: {task.pr_url}"
    if word == "done":
        line = f"task {short} is done: branch {task.branch_name}"
        if task.pr_note:
            line += f"; no pull request: {task.no_pr_reason}"
        return line
    if word == "no changes":
        said = (task.error_message or "").partition("; it said: ")[2]
        line = f"task {short}: no changes (the agent changed nothing"
        line += f"; it said: {said})" if said else ")"
        return line + f"; ask again with 'claude-container task continue {short} -m ...'"
    if word in ("failed", "stopped"):
        return f"task {short} {word}: {task.error_message}; {retry_hint(task)}"
    return f"task {short} is {word}"


def _detach(
    db: TaskDatabase,
    task_id: str,
    kind: str,
    feedback_id: str | None,
    as_json: bool,
    local_base: bool = False,
) -> None:
    """Start the run in a background process; return once its container runs."""
    from gittask.workflow.detach import start_detached

    pid = start_detached(db, task_id, kind, feedback_id, local_base=local_base)
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
    local_base: Annotated[bool, typer.Option("--base-local")] = False,
) -> None:
    """Internal: the background half of --detach (its output is in the run's logs)."""
    db = _db()
    execute(db, db.resolve(task_id), kind, feedback_id, background=True, local_base=local_base)


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
    local_base: Annotated[bool, typer.Option("--base-local", help=BASE_LOCAL_HELP)] = False,
    queue: QueueOpt = False,
) -> None:
    """Run a task recorded with --no-run, retry a failed one, or rerun without feedback."""
    from gittask.model import TaskStatus
    from gittask.workflow.lookup import check_continuable

    if queue:
        from gittask.cli.worker import queue_tasks

        queue_tasks([task_id], as_json)
        return
    if publish_only:
        from gittask.cli.sync import publish_tasks

        publish_tasks([task_id], as_json)
        return
    db = _db()
    db.refresh()
    task = db.get(task_id)
    check_continuable(db, task)
    again = task.status in (TaskStatus.CREATED, TaskStatus.CONTINUED, TaskStatus.CLOSED)
    execute(
        db,
        task.id,
        "continue" if again else "create",
        detach=detach,
        as_json=as_json,
        local_base=local_base,
    )


# -- continue --------------------------------------------------------------------------


def _read_feedback(
    db: TaskDatabase, task: TaskMetadata, text: str | None, file: Path | None
) -> tuple[str, str]:
    """The feedback from --feedback, --feedback-file (or stdin) or the editor: UTF-8 text
    without NUL, within ``description.max_bytes``; anything else is one UsageError line."""
    from gittask.cli.editor import edit, find_editor
    from gittask.config import load_config
    from gittask.errors import UsageError
    from gittask.workflow.inputs import check_text, read_text

    if text is not None and file is not None:
        raise UsageError("give the feedback with --feedback or --feedback-file, not both")
    limit = int(load_config(db.repo)["description.max_bytes"])
    if text is not None:
        return check_text("the feedback", text, limit), "inline"
    if file is not None:
        return read_text("the feedback", file, limit), "file"
    context = [*FEEDBACK_HELP, "", f"Task {task.id[:8]}: {task.title}", f"Status: {task.status}"]
    if task.error_message:
        context.append(f"Last error: {task.error_message}")
    if task.pr_url:
        context.append(f"Pull request: {task.pr_url}")
    editor = find_editor(db.repo.config_get("core.editor"))
    return check_text("the feedback", edit("", context, editor, "feedback"), limit), "text"


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
    queue: QueueOpt = False,
) -> None:
    """Run the task again with feedback (the editor opens when none is given)."""
    from gittask.errors import UsageError
    from gittask.workflow.lookup import check_continuable, resolve_task
    from gittask.workflow.publish import refresh_from_remote
    from gittask.workflow.records import new_feedback
    from gittask.workflow.run import preflight

    db = _db()
    refresh_from_remote(db)  # sync.auto: continue the newest state, see who runs it
    db.refresh()
    resolved = resolve_task(db, task_id)
    task = db.task(resolved)
    check_continuable(db, task)
    entry = None  # odd input is refused before anything runs
    if from_review:
        if feedback is not None or feedback_file is not None:
            raise UsageError("--from-review takes the feedback from the pull request: drop -m/-f")
    elif feedback is not None or feedback_file is not None:
        entry = new_feedback(db, task, *_read_feedback(db, task, feedback, feedback_file))
    pre = None if queue else preflight(db)  # a worker checks what its run needs
    if from_review:
        from gittask.config import load_config
        from gittask.workflow.pull_requests import review_feedback

        entry = review_feedback(db, task, pre.config if pre else load_config(db.repo))
    elif entry is None:
        entry = new_feedback(db, task, *_read_feedback(db, task, None, None))
    try:
        db.add_feedback(task.id, entry)
    except BaseException:
        from gittask.model import FeedbackType

        if entry.feedback_type is FeedbackType.TEXT:  # written in the editor: keep it
            from gittask.cli import prompts

            kept = prompts.save_draft(db.repo.state_dir, "feedback", entry.feedback)
            prompts.say_draft_kept(kept, "feedback", "--feedback-file")
        raise
    if not as_json:
        output.info(f"feedback {entry.id} added to task {task.id[:8]}")
    if queue:
        from gittask.cli.worker import queue_tasks

        queue_tasks([task.id], as_json)
        return
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

    db = _db(reading=True)
    db.refresh()
    task = db.get(task_id)
    shown = run_log(db, task, run, follow, execution, say=output.info)
    if feedback:
        _print_feedback(task, shown.info, shown.run)
    _print_chunks(shown.chunks, shown.agent if not (raw or execution) else "")
    if shown.followed:
        db.refresh()
        output.info(outcome_line(db.task(task.id)))  # push and PR: how it ended


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
