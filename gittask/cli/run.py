"""``task start`` and the run behind ``task create`` and ``task continue``
(:mod:`gittask.cli.continue_`).

A run prints the agent's output live on stdout (Claude's stream-json as a
readable view) and the tool's own progress on stderr; the task id is the last
line on stdout. ``--detach`` runs it in a background process and prints the
id as soon as the container is running; ``task logs ID --follow`` watches it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output
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
    from gittask.workflow.database import TaskDatabase
    from gittask.workflow.run import Preflight, RunResult

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the final record as JSON.")]
DetachOpt = Annotated[
    bool, typer.Option("--detach", "-d", help="Run in the background; print the task id.")
]


def register(app: typer.Typer) -> None:
    """Add this group's commands to the ``task`` app."""
    app.command("start")(start)
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
        from gittask.cli.queueing import queue_and_say

        queue_and_say([task_id], as_json)
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
