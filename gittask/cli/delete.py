"""``task delete``: its options as typer reads them; what it does is in
:mod:`gittask.cli.deleting` (shared with the fast path)."""

from __future__ import annotations

from typing import Annotated

import typer

from gittask.cli.completion import task_ids
from gittask.cli.shared import JsonOpt

IdsArg = Annotated[
    list[str] | None,
    typer.Argument(metavar="ID...", help="Tasks to delete.", autocompletion=task_ids),
]
StatusOpt = Annotated[
    str | None, typer.Option("--status", "-s", help="Delete every task with this status.")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Stop a running task first (else it is refused).")
]
BranchesOpt = Annotated[
    bool,
    typer.Option("--branches", help="Also delete the work branch, here and on the remote."),
]
ClosePrOpt = Annotated[
    bool, typer.Option("--close-pr", help="Also close the task's open pull request.")
]


def delete(
    task_ids: IdsArg = None,
    status: StatusOpt = None,
    yes: YesOpt = False,
    force: ForceOpt = False,
    branches: BranchesOpt = False,
    close_pr: ClosePrOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete tasks (a tombstone commit records who deleted what).

    A running task is refused unless --force, which stops its run first. The work
    branch and an open pull request stay (each is named) unless --branches or
    --close-pr remove them.
    """
    from gittask.cli.deleting import DeleteRequest, delete_tasks

    delete_tasks(DeleteRequest(task_ids or [], status, yes, force, branches, close_pr, as_json))
