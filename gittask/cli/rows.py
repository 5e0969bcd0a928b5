"""How task rows print (tables and JSON); no typer here, so the fast path can use it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gittask.cli import output

if TYPE_CHECKING:
    from gittask.workflow.database import IndexRow


def row_cells(row: IndexRow, short: dict[str, str]) -> list[str]:
    status = row.status or "unreadable"
    title = row.title or ""
    if row.error:
        title = row.error
    return [
        short.get(row.id, row.id[:8]),
        status,
        row.branch or "",
        (row.created_at or "")[:16].replace("T", " "),
        title,
    ]


def row_json(row: IndexRow, short: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "short_id": short.get(row.id, row.id[:8]),
        "status": row.status or "unreadable",
        "branch_name": row.branch,
        "created_at": row.created_at,
        "title": row.title,
        "pr_url": row.pr_url,
        "error": row.error,
    }


def warn_unreadable(rows: list[IndexRow]) -> None:
    bad = [r for r in rows if r.error]
    for row in bad:
        output.info(f"warning: {row.error}")
