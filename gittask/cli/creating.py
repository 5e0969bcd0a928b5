"""What ``task create`` does, without typer: the typer command (:mod:`gittask.cli.create`)
and the fast path (:mod:`gittask.cli.fast.writing`) both call :func:`create_task`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gittask.cli import output

if TYPE_CHECKING:
    from gittask.cli.run_options import Allowed
    from gittask.model import TaskMetadata
    from gittask.workflow.database import TaskDatabase
    from gittask.workflow.deps import Creation

DESCRIPTION_HELP = [
    "Describe the task for the agent above that line (Markdown is fine).",
    "Everything from that line down is ignored; an empty description aborts.",
]


@dataclass
class CreateRequest:
    """``task create``'s options, as given."""

    text: str | None = None
    file: Path | None = None
    message: str | None = None
    branch: str | None = None
    base: str | None = None
    no_run: bool = False
    queue: bool = False
    detach: bool = False
    labels: list[str] | None = None
    base_local: bool = False
    template: str | None = None
    variables: list[str] | None = None
    edit_text: bool = False
    depends_on: list[str] | None = None
    keep_base: bool = False
    allowed: Allowed | None = None
    as_json: bool = False
    # filled in while it is handled
    made: Any = field(default=None, repr=False)


def create_task(req: CreateRequest) -> None:
    """Record a task and run it (unless --no-run / --queue, or it waits for others)."""
    from gittask.workflow.database import open_database

    _check_flags(req)
    no_run = req.no_run or req.queue  # here, nothing runs
    message = one_text(req.text, req.message)
    db = open_database()
    description, from_editor = _description(db, req, message)
    task, waits, pre = _record(db, req, description, from_editor, no_run)
    if req.queue and waits.runs_now:  # (a task waiting for its dependencies stays pending)
        from gittask.workflow.worker.queue import queue_task

        task = queue_task(db, task.id)
    if no_run or not waits.runs_now:
        say_recorded(task, waits, no_run, req.as_json)
        return
    from gittask.cli.run import execute
    from gittask.cli.run_options import Allowed

    if not req.as_json:
        output.info(f"recorded task {task.id[:8]} on branch {task.branch_name}")
    execute(
        db,
        task.id,
        "create",
        detach=req.detach,
        as_json=req.as_json,
        pre=pre,
        local_base=req.base_local,
        allowed=req.allowed or Allowed(),
    )


def _check_flags(req: CreateRequest) -> None:
    from gittask.errors import UsageError

    if req.no_run and req.detach:
        raise UsageError("--detach runs the task: it cannot go with --no-run")
    if req.queue and (req.no_run or req.detach):
        raise UsageError("--queue leaves the run to a worker: not with --no-run or --detach")
    if req.keep_base and not req.depends_on:
        raise UsageError("--keep-base goes with --depends-on")


def _description(db: TaskDatabase, req: CreateRequest, message: str | None) -> tuple[str, bool]:
    """The description and whether it came from the editor; odd input is refused
    before anything runs: names first, then the text."""
    from gittask.workflow.branches import check_branch_name

    if req.branch is not None:
        req.branch = check_branch_name(req.branch)
    if req.base is not None:
        req.base = check_branch_name(req.base, "base branch")
    made = None
    if req.template is not None:
        from gittask.cli.template import from_template

        given = req.file is not None or message is not None
        made = from_template(db, req.template, req.variables, req.edit_text, given)
        req.branch, req.base = req.branch or made.branch, req.base or made.template.base
        req.labels = [*made.template.labels, *(req.labels or [])]
    req.made = made
    from_editor = req.file is None and message is None and (made is None or req.edit_text)
    description = made.description if made else read_description(db, req.file, message)
    return description, from_editor


def _record(
    db: TaskDatabase, req: CreateRequest, description: str, from_editor: bool, no_run: bool
) -> tuple[TaskMetadata, Creation, Any]:
    """Store the task (asking for its branch after the editor, on a terminal); the
    preflight of a run that follows is done first: nothing is recorded that could not run."""
    from gittask.cli import prompts
    from gittask.model.task import new_task_id
    from gittask.workflow.branches import suggest_branch
    from gittask.workflow.records import record_task

    made = req.made
    ask_branch = req.branch is None and from_editor and not req.as_json
    with draft_kept(db, description if from_editor else ""):
        waits, extra = creation(db, req.depends_on, req.keep_base, no_run, made)
        pre = None
        if not no_run and waits.runs_now and description.strip():
            from gittask.workflow.run import preflight

            overrides = made.overrides() if made else None
            pre = preflight(db, overrides=overrides, allow_host_network=_host_network(req))
        task_id = new_task_id()
        if ask_branch and description.strip() and prompts.interactive():
            req.branch = ask_for_branch(db, suggest_branch(description, task_id))
        task = record_task(
            db, description, req.branch, req.base, task_id=task_id, labels=req.labels,
            publish=(no_run and not req.queue) or not waits.runs_now,
            template=made.template.name if made else None,
            depends_on=waits.depends_on, extra=extra,
        )  # fmt: skip
    return task, waits, pre


def _host_network(req: CreateRequest) -> bool:
    return req.allowed is not None and req.allowed.host_network


def creation(
    db: TaskDatabase,
    depends_on: list[str] | None,
    keep_base: bool,
    no_run: bool,
    made: Any,
) -> tuple[Any, dict[str, Any]]:
    """``task create``'s dependencies (and whether it runs now) and the extra fields
    it records (from its template, and for its dependencies)."""
    from gittask.workflow.deps import creation_extra, plan_creation

    waits = plan_creation(db, depends_on or [])
    extra = dict(made.record_fields()["extra"]) if made else {}
    extra.update(creation_extra(waits, keep_base, no_run))
    return waits, extra


def read_description(db: TaskDatabase, file: Path | None, message: str | None) -> str:
    """The description from -m, --file (or stdin) or the editor: UTF-8 text without NUL,
    within ``description.max_bytes``; anything else is one UsageError line."""
    from gittask.cli.editor import edit, find_editor
    from gittask.config import load_config
    from gittask.errors import UsageError
    from gittask.workflow.inputs import check_text, read_text

    if file is not None and message is not None:
        raise UsageError("give the description with --file or --message, not both")
    limit = load_config(db.repo).description_max_bytes
    if message is not None:
        return check_text("the description", message, limit)
    if file is not None:
        return read_text("the description", file, limit)
    editor = find_editor(db.repo.config_get("core.editor"))
    return check_text("the description", edit("", DESCRIPTION_HELP, editor, "description"), limit)


def ask_for_branch(db: TaskDatabase, suggestion: str) -> str:
    """The branch prompt of the editor flow (stderr; Enter takes the suggestion;
    a name git refuses or another task uses asks again)."""
    from gittask.cli import prompts
    from gittask.workflow.branches import check_branch_free, check_branch_name

    def check(name: str) -> str:
        name = check_branch_name(name)
        check_branch_free(db, name)
        return name

    db.refresh()
    return prompts.ask("Branch for this task", suggestion, check)


def one_text(text: str | None, message: str | None) -> str | None:
    """The description given as an argument (``task create "Deploy" --depends-on ID``) or -m."""
    from gittask.errors import UsageError

    if text is None:
        return message
    if message is not None:
        raise UsageError("give the description as an argument or with --message, not both")
    return text


def say_recorded(task: TaskMetadata, waits: Creation, no_run: bool, as_json: bool) -> None:
    """What ``create`` says about a task it recorded without running it (--no-run, or
    it waits for its dependencies)."""
    if as_json:
        output.print_json(task.to_dict())
        return
    if waits.state is not None:
        output.info(waits.describe(task.id, no_run))
    output.info(f"recorded task {task.id[:8]} on branch {task.branch_name} ({task.status.value})")
    sys.stdout.write(task.id + "\n")
    sys.stdout.flush()


@contextmanager
def draft_kept(db: TaskDatabase, text: str) -> Iterator[None]:
    """Keep an editor's ``text`` in .git/claude-tasks/TASK_EDITMSG when what follows fails."""
    try:
        yield
    except BaseException:
        if text.strip():
            from gittask.cli import prompts

            kept = prompts.save_draft(db.repo.state_dir, "description", text)
            prompts.say_draft_kept(kept, "description", "--file")
        raise
