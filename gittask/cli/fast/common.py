"""What the fast commands share: their small option parser and the current index."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gittask.workflow.database import TaskIndex


def parse_options(
    args: list[str], flags: dict[str, str], values: dict[str, str]
) -> dict[str, str | bool] | None:
    """``args`` made of ``flags`` (``--json``) and options with a value (``--status S``,
    ``-s S``, ``--status=S``), each named to its key; None for anything else (a
    word, --help, a typo, a missing value), which typer then parses and explains."""
    found: dict[str, str | bool] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        name, _, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if arg in flags:
            found[flags[arg]] = True
        elif name in values and (inline or "=" in arg):
            found[values[name]] = inline
        elif arg in values and i + 1 < len(args):
            found[values[arg]] = args[i + 1]
            i += 1
        else:
            return None
        i += 1
    return found


def current_index() -> TaskIndex | None:
    """The index if it is provably current, else None: the full path then brings it up
    to date, or says what is wrong (an index it may not write, a damaged one)."""
    from gittask.errors import GittaskError
    from gittask.workflow.database import fast_index

    try:
        return fast_index()
    except GittaskError:
        return None
