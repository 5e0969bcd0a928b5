"""What the fast commands share: their small option parser and the current index."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gittask.workflow.database import TaskIndex


def parse_options(
    args: list[str],
    flags: dict[str, str],
    values: dict[str, str],
    positional: str | None = None,
    repeated: tuple[str, ...] = (),
) -> dict[str, Any] | None:
    """``args`` made of ``flags`` (``--json``), options with a value (``--status S``,
    ``-s S``, ``--status=S``) and at most one ``positional`` word, each named to its
    key (the ``repeated`` keys collect a list); None for anything else (another word,
    --help, a typo, a missing value, an option given twice), which typer then parses
    and explains."""
    found: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        name, inline = arg.split("=", 1) if arg.startswith("--") and "=" in arg else (arg, None)
        value: str | bool
        if name in flags and inline is None:
            key, value = flags[name], True
        elif name in values:
            if inline is None:
                if i + 1 >= len(args):
                    return None
                i += 1
                inline = args[i]
            key, value = values[name], inline
        elif positional is not None and not arg.startswith("-") and positional not in found:
            key, value = positional, arg
        else:
            return None
        if key in repeated:
            found.setdefault(key, []).append(value)
        elif key in found:
            return None
        else:
            found[key] = value
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
