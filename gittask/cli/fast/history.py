"""``task history [--limit N] [--json]`` without typer (pygit2 walks the log)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gittask.workflow.database import HistoryEntry

DEFAULT_LIMIT = 20


def history_options(args: list[str]) -> tuple[int, bool] | None:
    """(--limit, --json), or None for anything else (--branch, a typo: typer says what)."""
    limit, as_json = str(DEFAULT_LIMIT), False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--json":
            as_json = True
        elif arg in ("--limit", "-n") and i + 1 < len(args):
            limit = args[i + 1]
            i += 1
        elif arg.startswith("--limit="):
            limit = arg.split("=", 1)[1]
        else:
            return None
        i += 1
    if not (limit.isascii() and limit.isdigit()) or int(limit) < 1:
        return None  # typer's message
    return int(limit), as_json


def show_history(limit: int, as_json: bool) -> bool:
    """``task history`` from a current index's tip, as :func:`gittask.cli.browse.history`
    prints it; False when the index is not provably current."""
    from gittask.errors import GittaskError
    from gittask.workflow.database import fast_index, recent_history

    try:
        index = fast_index()
    except GittaskError:
        return False
    if index is None:
        return False
    try:
        entries = recent_history(index, limit)
    except Exception:  # an unreadable commit, a damaged repository: the full path says why
        return False
    print_history(entries, as_json)
    return True


def print_history(entries: list[HistoryEntry], as_json: bool) -> None:
    from gittask.cli import output

    if as_json:
        output.print_json([e.to_dict() for e in entries])
        return
    if not entries:
        output.info("no task history yet")
        return
    output.table(
        ["WHEN", "ACTION", "TASK", "AUTHOR", "TEXT"],
        [
            [
                e.time.strftime("%Y-%m-%d %H:%M"),
                e.action,
                (e.task_id or "")[:8],
                e.author.split(" <")[0],
                e.summary.split(": ", 1)[-1] + (f" ({e.detail})" if e.detail else ""),
            ]
            for e in entries
        ],
    )
