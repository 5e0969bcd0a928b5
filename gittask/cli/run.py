"""``task start``, ``task continue`` and the run behind ``task create``.

A run prints the agent's output live on stdout (Claude's stream-json as a
readable view) and the tool's own progress on stderr; the task id is the last
line on stdout. ``--detach`` runs it in a background process and prints the
id as soon as the container is running; ``task logs ID --follow`` watches it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output
from gittask.cli.completion import task_ids
from gittask.cli.outcome import outcome_line, outcome_word, retry_hint, task_json
from gittask.cli.run_options import (
    BASE_LOCAL_HELP,
    Allowed,
    AllowHostNetworkOpt,
    AllowOddFilesOpt,
    QueueOpt,
)
from gittask.cli.shared import IdArg

if TYPE_CHECKING:
    from gittask.errors import GittaskError
    from gittask.model import TaskMetadata
    from gittask.workflow.database import TaskDatabase
    from gittask.workflow.run import Preflight, RunResult

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the final record as JSON.")]
DetachOpt = Annotated[
    bool, typer.Option("--detach", "-d", help="Run in the background; print the task id.")
]

FEEDBACK_HELP = [
    "Write your feedback for the agent above that line.",
    "Everything from that line down is ignored; empty feedback aborts and stores nothing.",
]


def register(app: typer.Typer) -> None:
    """Add this group's commands to the ``task`` app."""
    app.command("start")(start)
    app.command("continue")(continue_task)
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
    allowed: Allowed = Allowed(),
) -> None:
    """Run the task (in the foreground, or in a background process) and report."""
    from gittask.errors import GittaskError
    from gittask.workflow.run import RunRequest, preflight, run_task

    if pre is None:
        from gittask.workflow.run import task_overrides

        pre = preflight(
            db,
            overrides=task_overrides(db.task(task_id)),
            allow_host_network=allowed.host_network,
        )
    if not background:
        from gittask.workflow.local_work import local_work

        left_out = local_work(db.repo, db.task(task_id), pre.config)
        if left_out is not None:
            _say(left_out.describe(local_base))
    if detach:
        _detach(db, task_id, kind, feedback_id, as_json, local_base, allowed)
        return
    request = RunRequest(
        task_id=task_id,
        kind="continue" if kind == "continue" else "create",
        feedback_id=feedback_id,
        show=(lambda line: None) if background else _show_line(to_stderr=as_json),
        say=_say,
        detached=background,
        local_base=local_base,
        allow_host_network=allowed.host_network,
        allow_odd_files=allowed.odd_files,
    )
    try:
        result = run_task(db, request, pre)
    except GittaskError as exc:
        if not feedback_id:
            raise
        raise _feedback_kept(db, pre, task_id, exc) from None
    _report(result, task_id, as_json)


def _feedback_kept(db: TaskDatabase, pre: Preflight, task_id: str, exc: GittaskError) -> Exception:
    """A continue that could not run: its feedback is stored (and published); the
    error says how to run it once the problem is fixed."""
    from gittask.errors import GittaskError
    from gittask.workflow.publish import after_change

    after_change(db, pre.config)  # the stored feedback reaches the team anyway
    if exc.exit_code != 1:
        return exc
    stored = f"the feedback is stored: once this is fixed, run 'task start {task_id[:8]}'"
    return GittaskError(exc.message, f"{exc.hint}; {stored}" if exc.hint else stored)


def _report(result: RunResult, task_id: str, as_json: bool) -> None:
    """How the run ended: its notes, the record (--json), the outcome line and the id;
    a failed run is one error line with the command that retries it."""
    from gittask.errors import GittaskError

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
    word = outcome_word(result.task)
    if not result.success and word != "no changes":
        raise GittaskError(f"task {task_id[:8]} failed: {result.error}", retry_hint(result.task))
    _say(outcome_line(result.task))
    if not as_json:
        typer.echo(task_id)


def _detach(
    db: TaskDatabase,
    task_id: str,
    kind: str,
    feedback_id: str | None,
    as_json: bool,
    local_base: bool = False,
    allowed: Allowed = Allowed(),
) -> None:
    """Start the run in a background process; return once its container runs."""
    from gittask.workflow.detach import start_detached

    pid = start_detached(
        db, task_id, kind, feedback_id, local_base=local_base, flags=allowed.flags()
    )
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
    notify_tty: Annotated[str | None, typer.Option("--notify-tty")] = None,
    allow_host_network: AllowHostNetworkOpt = False,
    allow_odd_files: AllowOddFilesOpt = False,
) -> None:
    """Internal: the background half of --detach (its output is in the run's logs);
    at the end it tells the user (config notify: bell on ``notify_tty``, desktop)."""
    from gittask.workflow.notify import announce_end

    db = _db()
    resolved = db.resolve(task_id)
    try:
        allowed = Allowed(allow_host_network, allow_odd_files)
        execute(
            db, resolved, kind, feedback_id, background=True, local_base=local_base, allowed=allowed
        )
    finally:
        for done in announce_end(db, resolved, notify_tty):
            _say(f"notified: {done}")


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
    allow_host_network: AllowHostNetworkOpt = False,
    allow_odd_files: AllowOddFilesOpt = False,
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

        publish_tasks([task_id], as_json, allow_odd_files=allow_odd_files)
        return
    db = _db()
    db.refresh()
    task = db.get(task_id)
    check_continuable(db, task)
    from gittask.workflow.deps import start_note

    note = start_note(db, task)  # waiting or blocked: `task start` runs it anyway
    if note:
        output.info(note)
    again = task.status in (TaskStatus.CREATED, TaskStatus.CONTINUED, TaskStatus.CLOSED)
    execute(
        db,
        task.id,
        "continue" if again else "create",
        detach=detach,
        as_json=as_json,
        local_base=local_base,
        allowed=Allowed(allow_host_network, allow_odd_files),
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
    limit = load_config(db.repo).description_max_bytes
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


TaskOrPullArg = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="Task id, unique prefix, or its pull request URL.",
        autocompletion=task_ids,
    ),
]
FeedbackOpt = Annotated[str | None, typer.Option("--feedback", "-m", help="The feedback, inline.")]
FeedbackFileOpt = Annotated[
    Path | None,
    typer.Option("--feedback-file", "-f", help="Read the feedback from a file ('-': stdin)."),
]
FromReviewOpt = Annotated[
    bool,
    typer.Option(
        "--from-review", help="Use the pull request's review comments since the last run."
    ),
]


# long: one option a line (the flags it shares with start and create); the body is ~45 lines
def continue_task(
    task_id: TaskOrPullArg,
    feedback: FeedbackOpt = None,
    feedback_file: FeedbackFileOpt = None,
    from_review: FromReviewOpt = False,
    detach: DetachOpt = False,
    as_json: JsonOpt = False,
    allow_host_network: AllowHostNetworkOpt = False,
    allow_odd_files: AllowOddFilesOpt = False,
    queue: QueueOpt = False,
) -> None:
    """Run the task again with feedback (the editor opens when none is given)."""
    from gittask.errors import UsageError
    from gittask.workflow.lookup import check_continuable, resolve_task
    from gittask.workflow.publish import refresh_from_remote
    from gittask.workflow.records import new_feedback
    from gittask.workflow.run import preflight, task_overrides

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
    # a worker checks what its run needs (on its own machine)
    pre = (
        None
        if queue
        else preflight(db, overrides=task_overrides(task), allow_host_network=allow_host_network)
    )
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
    allowed = Allowed(allow_host_network, allow_odd_files)
    execute(
        db, task.id, "continue", entry.id, detach=detach, as_json=as_json, pre=pre, allowed=allowed
    )
