"""What the ``task`` commands share: the ``--json`` option, the ID argument, the
database and short ids. Nothing heavy is imported until a command runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from gittask.workflow.database import TaskDatabase

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
IdArg = Annotated[str, typer.Argument(metavar="ID", help="Task id or unique prefix.")]


def open_db(reading: bool = False) -> TaskDatabase:
    """``reading``: the command only reads (it works without write access, from the ref)."""
    from gittask.workflow.database import open_database

    return open_database(reading=reading)


def short_map(ids: list[str]) -> dict[str, str]:
    """Each id's shortest unique prefix (at least 8 characters)."""
    from gittask.model.ids import short_ids

    return short_ids(ids)
