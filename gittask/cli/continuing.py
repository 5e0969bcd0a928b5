"""What ``task continue`` does, without typer: the typer command
(:mod:`gittask.cli.continue_`) and the fast path (:mod:`gittask.cli.fast.writing`)
both call :func:`continue_task`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gittask.cli import output

if TYPE_CHECKING:
    from gittask.cli.run_options import Allowed
    from gittask.model import FeedbackEntry, TaskMetadata
    from gittask.workflow.database import TaskDatabase

FEEDBACK_HELP = [
    "Write your feedback for the agent above that line.",
    "Everything from that line down is ignored; empty feedback aborts and stores nothing.",
]


@dataclass
class ContinueRequest:
    """``task continue``'s options, as given."""

    task_id: str
    feedback: str | None = None
    feedback_file: Path | None = None
    from_review: bool = False
    detach: bool = False
    as_json: bool = False
    allowed: Allowed | None = None
    queue: bool = False


def continue_task(req: ContinueRequest) -> None:
    """Record the feedback, then run the task again (or leave the run to a worker)."""
    from gittask.errors import UsageError
    from gittask.workflow.database import open_database
    from gittask.workflow.lookup import check_continuable, resolve_task
    from gittask.workflow.publish import refresh_from_remote
    from gittask.workflow.records import new_feedback

    db = open_database()
    refresh_from_remote(db)  # sync.auto: continue the newest state, see who runs it
    db.refresh()
    task = db.task(resolve_task(db, req.task_id))
    check_continuable(db, task)
    if req.queue:  # before the feedback is stored: a refused queue changes nothing
        from gittask.workflow.worker.queue import check_queueable

        check_queueable(task)
    entry = None  # odd input is refused before anything runs
    if req.from_review:
        if req.feedback is not None or req.feedback_file is not None:
            raise UsageError("--from-review takes the feedback from the pull request: drop -m/-f")
    elif req.feedback is not None or req.feedback_file is not None:
        entry = new_feedback(db, task, *read_feedback(db, task, req.feedback, req.feedback_file))
    pre = None
    if not req.queue:  # a worker checks what its run needs (on its own machine)
        from gittask.workflow.run import preflight, task_overrides

        host_network = req.allowed is not None and req.allowed.host_network
        pre = preflight(db, overrides=task_overrides(task), allow_host_network=host_network)
    if req.from_review:
        from gittask.config import load_config
        from gittask.workflow.pull_requests import review_feedback

        entry = review_feedback(db, task, pre.config if pre else load_config(db.repo))
    elif entry is None:
        entry = new_feedback(db, task, *read_feedback(db, task, None, None))
    _store(db, task, entry)
    if not req.as_json:
        output.info(f"feedback {entry.id} added to task {task.id[:8]}")
    if req.queue:
        from gittask.cli.queueing import queue_and_say

        queue_and_say([task.id], req.as_json)
        return
    from gittask.cli.run import execute
    from gittask.cli.run_options import Allowed

    execute(
        db,
        task.id,
        "continue",
        entry.id,
        detach=req.detach,
        as_json=req.as_json,
        pre=pre,
        allowed=req.allowed or Allowed(),
    )


def _store(db: TaskDatabase, task: TaskMetadata, entry: FeedbackEntry) -> None:
    """Add the feedback; text written in the editor is kept when that fails."""
    try:
        db.add_feedback(task.id, entry)
    except BaseException:
        from gittask.model import FeedbackType

        if entry.feedback_type is FeedbackType.TEXT:
            from gittask.cli import prompts

            kept = prompts.save_draft(db.repo.state_dir, "feedback", entry.feedback)
            prompts.say_draft_kept(kept, "feedback", "--feedback-file")
        raise


def read_feedback(
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
