"""What the commands share: the ``--json`` option, the ID argument, the repository,
the database, short ids and progress lines. Nothing heavy is imported until a
command runs."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli.completion import task_ids

if TYPE_CHECKING:
    from gittask.workflow.database import GitRepo, TaskDatabase

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
IdArg = Annotated[
    str,
    typer.Argument(metavar="ID", help="Task id or unique prefix.", autocompletion=task_ids),
]


def open_db(reading: bool = False) -> TaskDatabase:
    """``reading``: the command only reads (it works without write access, from the ref)."""
    from gittask.workflow.database import open_database

    return open_database(reading=reading)


def short_map(ids: list[str]) -> dict[str, str]:
    """Each id's shortest unique prefix (at least 8 characters)."""
    from gittask.model.ids import short_ids

    return short_ids(ids)


def open_repo() -> GitRepo:
    """The repository the command runs in (as git finds it)."""
    from gittask.workflow.database import open_repo as here

    return here()


def say(line: str) -> None:
    """A progress line on stderr, at once."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
