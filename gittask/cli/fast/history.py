"""``task history [--limit N] [--json]`` without typer (pygit2 walks the log)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gittask.workflow.database import HistoryEntry

DEFAULT_LIMIT = 20


def history_options(args: list[str]) -> tuple[int, bool] | None:
    """(--limit, --json), or None for anything else (--branch, a typo: typer says what)."""
    from gittask.cli.fast.common import parse_options

    found = parse_options(args, {"--json": "json"}, {"--limit": "limit", "-n": "limit"})
    if found is None:
        return None
    limit = found.get("limit", str(DEFAULT_LIMIT))
    if not isinstance(limit, str) or not (limit.isascii() and limit.isdigit()) or int(limit) < 1:
        return None  # typer's message
    return int(limit), bool(found.get("json"))


def show_history(limit: int, as_json: bool) -> bool:
    """``task history`` from a current index's tip, as :func:`gittask.cli.browse.history`
    prints it; False when the index is not provably current."""
    from gittask.cli.fast.common import current_index
    from gittask.workflow.database import recent_history

    index = current_index()
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
