"""``task create``: record a task (its description from -m, a file or the editor) and run it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output
from gittask.cli.completion import branches, task_ids
from gittask.cli.run_options import Allowed, AllowHostNetworkOpt, AllowOddFilesOpt
from gittask.cli.shared import JsonOpt, open_db

if TYPE_CHECKING:
    from gittask.model import TaskMetadata
    from gittask.workflow.database import TaskDatabase
    from gittask.workflow.deps import Creation

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
QueueOpt = Annotated[
    bool, typer.Option("--queue", help="Record it queued: a worker runs it (status queued).")
]
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


TextArg = Annotated[
    str | None, typer.Argument(metavar="[DESCRIPTION]", help="The description (as -m).")
]
TemplateOpt = Annotated[
    str | None, typer.Option("--template", "-t", help="Fill this template (--var k=v).")
]
VarOpt = Annotated[
    list[str] | None, typer.Option("--var", help="NAME=VALUE for a template placeholder.")
]
EditOpt = Annotated[
    bool, typer.Option("--edit", help="Open the filled-in template in the editor first.")
]
DependsOnOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--depends-on",
        help="Wait until this task succeeded (repeat; id, prefix or PR URL).",
        autocompletion=task_ids,
    ),
]
KeepBaseOpt = Annotated[
    bool, typer.Option("--keep-base", help="Start from the base, not a dependency's branch.")
]


# long: 15 of its lines are its options, one a line as typer reads them
def create(
    text: TextArg = None,
    file: FileOpt = None,
    message: MessageOpt = None,
    branch: BranchOpt = None,
    base: BaseOpt = None,
    no_run: NoRunOpt = False,
    queue: QueueOpt = False,
    detach: DetachOpt = False,
    label: LabelOpt = None,
    base_local: BaseLocalOpt = False,
    template: TemplateOpt = None,
    var: VarOpt = None,
    edit_text: EditOpt = False,
    depends_on: DependsOnOpt = None,
    keep_base: KeepBaseOpt = False,
    allow_host_network: AllowHostNetworkOpt = False,
    allow_odd_files: AllowOddFilesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Record a task and run it (unless --no-run).

    The description comes from -m, --file (or stdin with --file -), a template
    (--template NAME --var k=v), else the editor. Only after the editor, on a
    terminal, does it ask for the branch; if the command stops after the editor
    closed, the text is kept in .git/claude-tasks/TASK_EDITMSG.
    """
    from gittask.cli import prompts
    from gittask.cli.deps import creation
    from gittask.errors import UsageError
    from gittask.model.task import new_task_id
    from gittask.workflow.branches import check_branch_name, suggest_branch
    from gittask.workflow.records import record_task

    if no_run and detach:
        raise UsageError("--detach runs the task: it cannot go with --no-run")
    if queue and (no_run or detach):
        raise UsageError("--queue leaves the run to a worker: not with --no-run or --detach")
    no_run = no_run or queue  # here, nothing runs
    if keep_base and not depends_on:
        raise UsageError("--keep-base goes with --depends-on")
    message = _one_text(text, message)
    db = open_db()
    # odd input is refused before anything runs: names first, then the text
    if branch is not None:
        branch = check_branch_name(branch)
    if base is not None:
        base = check_branch_name(base, "base branch")
    made = None
    if template is not None:
        from gittask.cli.template import from_template

        made = from_template(db, template, var, edit_text, file is not None or message is not None)
        branch, base = branch or made.branch, base or made.template.base
        label = [*made.template.labels, *(label or [])]
    from_editor = file is None and message is None and (made is None or edit_text)
    description = made.description if made else read_description(db, file, message)
    ask_branch = branch is None and from_editor and not as_json
    with _draft_kept(db, description if from_editor else ""):
        waits, extra = creation(db, depends_on, keep_base, no_run, made)
        pre = None
        if not no_run and waits.runs_now and description.strip():
            from gittask.workflow.run import preflight

            # nothing is recorded when the task could not run
            pre = preflight(
                db,
                overrides=made.overrides() if made else None,
                allow_host_network=allow_host_network,
            )
        task_id = new_task_id()
        if ask_branch and description.strip() and prompts.interactive():
            branch = _ask_branch(db, suggest_branch(description, task_id))
        task = record_task(
            db, description, branch, base, task_id=task_id, labels=label,
            publish=(no_run and not queue) or not waits.runs_now,
            template=made.template.name if made else None,
            depends_on=waits.depends_on, extra=extra,
        )  # fmt: skip
    if queue and waits.runs_now:  # (a task waiting for its dependencies stays pending)
        from gittask.workflow.worker.queue import queue_task

        task = queue_task(db, task.id)
    if no_run or not waits.runs_now:
        _say_recorded(task, waits, no_run, as_json)
        return
    from gittask.cli.run import execute

    if not as_json:
        output.info(f"recorded task {task.id[:8]} on branch {task.branch_name}")
    allowed = Allowed(allow_host_network, allow_odd_files)
    execute(
        db,
        task.id,
        "create",
        detach=detach,
        as_json=as_json,
        pre=pre,
        local_base=base_local,
        allowed=allowed,
    )


def _one_text(text: str | None, message: str | None) -> str | None:
    """The description given as an argument (``task create "Deploy" --depends-on ID``) or -m."""
    from gittask.errors import UsageError

    if text is None:
        return message
    if message is not None:
        raise UsageError("give the description as an argument or with --message, not both")
    return text


def _say_recorded(task: TaskMetadata, waits: Creation, no_run: bool, as_json: bool) -> None:
    """What ``create`` says about a task it recorded without running it (--no-run, or
    it waits for its dependencies)."""
    if as_json:
        output.print_json(task.to_dict())
        return
    if waits.state is not None:
        output.info(waits.describe(task.id, no_run))
    output.info(f"recorded task {task.id[:8]} on branch {task.branch_name} ({task.status.value})")
    typer.echo(task.id)


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
