"""``task create``: its options as typer reads them; what it does is in
:mod:`gittask.cli.creating` (shared with the fast path)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gittask.cli.completion import branches, task_ids
from gittask.cli.run_options import Allowed, AllowHostNetworkOpt, AllowOddFilesOpt
from gittask.cli.shared import JsonOpt

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
    from gittask.cli.creating import CreateRequest, create_task

    create_task(
        CreateRequest(
            text=text, file=file, message=message, branch=branch, base=base,
            no_run=no_run, queue=queue, detach=detach, labels=label, base_local=base_local,
            template=template, variables=var, edit_text=edit_text, depends_on=depends_on,
            keep_base=keep_base, allowed=Allowed(allow_host_network, allow_odd_files),
            as_json=as_json,
        )
    )  # fmt: skip
