"""``task create``: record a task (its description from -m, a file or the editor) and run it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output
from gittask.cli.completion import branches
from gittask.cli.shared import JsonOpt, open_db

if TYPE_CHECKING:
    from gittask.workflow.database import TaskDatabase

DESCRIPTION_HELP = [
    "Describe the task for the agent above that line (Markdown is fine).",
    "Everything from that line down is ignored; an empty description aborts.",
]


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


def _ask_branch(db: TaskDatabase, suggestion: str) -> str:
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


FileOpt = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="Read the description from a file ('-': stdin)."),
]
MessageOpt = Annotated[str | None, typer.Option("--message", "-m", help="The description, inline.")]
BranchOpt = Annotated[
    str | None,
    typer.Option(
        "--branch",
        "-b",
        help="Branch the agent works on (default: from the title; asked for after "
        "the editor, on a terminal).",
        autocompletion=branches,
    ),
]
BaseOpt = Annotated[
    str | None,
    typer.Option(
        "--base", help="Branch to start from (default: origin's default).", autocompletion=branches
    ),
]
NoRunOpt = Annotated[bool, typer.Option("--no-run", help="Only record the task (status pending).")]
DetachOpt = Annotated[
    bool, typer.Option("--detach", "-d", help="Run in the background; print the task id.")
]
LabelOpt = Annotated[
    list[str] | None, typer.Option("--label", "-l", help="A label (repeat for more).")
]
BaseLocalOpt = Annotated[
    bool,
    typer.Option(
        "--base-local",
        help="Start from the local base branch (with its unpushed commits), not the remote's copy.",
    ),
]


def create(
    file: FileOpt = None,
    message: MessageOpt = None,
    branch: BranchOpt = None,
    base: BaseOpt = None,
    no_run: NoRunOpt = False,
    detach: DetachOpt = False,
    label: LabelOpt = None,
    base_local: BaseLocalOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Record a task and run it (unless --no-run).

    The description comes from -m, --file (or stdin with --file -), else the editor.
    Only after the editor, on a terminal, does it ask for the branch; if the command
    stops after the editor closed, the text is kept in .git/claude-tasks/TASK_EDITMSG.
    """
    from gittask.cli import prompts
    from gittask.errors import UsageError
    from gittask.model.task import new_task_id
    from gittask.workflow.branches import check_branch_name, suggest_branch
    from gittask.workflow.records import record_task

    if no_run and detach:
        raise UsageError("--detach runs the task: it cannot go with --no-run")
    db = open_db()
    # odd input is refused before anything runs: names first, then the text
    if branch is not None:
        branch = check_branch_name(branch)
    if base is not None:
        base = check_branch_name(base, "base branch")
    from_editor = file is None and message is None
    description = read_description(db, file, message)
    ask_branch = branch is None and from_editor and not as_json
    with _draft_kept(db, description if from_editor else ""):
        pre = None
        if not no_run and description.strip():
            from gittask.workflow.run import preflight

            pre = preflight(db)  # nothing is recorded when the task could not run
        task_id = new_task_id()
        if ask_branch and description.strip() and prompts.interactive():
            branch = _ask_branch(db, suggest_branch(description, task_id))
        task = record_task(
            db, description, branch, base, task_id=task_id, publish=no_run, labels=label
        )
    if no_run:
        if as_json:
            output.print_json(task.to_dict())
        else:
            output.info(f"recorded task {task.id[:8]} on branch {task.branch_name} (pending)")
            typer.echo(task.id)
        return
    from gittask.cli.run import execute

    if not as_json:
        output.info(f"recorded task {task.id[:8]} on branch {task.branch_name}")
    execute(db, task.id, "create", detach=detach, as_json=as_json, pre=pre, local_base=base_local)


@contextmanager
def _draft_kept(db: TaskDatabase, text: str) -> Iterator[None]:
    """Keep an editor's ``text`` in .git/claude-tasks/TASK_EDITMSG when what follows fails."""
    try:
        yield
    except BaseException:
        if text.strip():
            from gittask.cli import prompts

            kept = prompts.save_draft(db.repo.state_dir, "description", text)
            prompts.say_draft_kept(kept, "description", "--file")
        raise
