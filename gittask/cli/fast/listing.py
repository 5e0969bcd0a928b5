"""``task list [--json] [--status S]`` without typer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from gittask.workflow.database import IndexRow


def list_options(args: list[str]) -> tuple[str | None, bool] | None:
    """(--status, --json), or None (--refresh, --help, a typo: typer's path says what)."""
    from gittask.cli.fast.common import parse_options

    found = parse_options(args, {"--json": "json"}, {"--status": "status", "-s": "status"})
    if found is None:
        return None
    status = found.get("status")
    return (status if isinstance(status, str) else None), bool(found.get("json"))


def list_tasks(status: str | None, as_json: bool) -> bool:
    """``task list [--json] [--status S]``, as :func:`gittask.cli.browse.list_tasks`
    prints it (the same :mod:`gittask.cli.listing` and :mod:`gittask.cli.tables`)."""
    from gittask.cli import listing, output
    from gittask.model.ids import longer_short_ids

    filters = listing.Filters()
    if status is not None:
        filters.status, filters.outcome = listing.parse_status(status)
    source = _Source.open()
    # only pending rows wait on others: any other stored status reads its own rows alone
    narrow = filters.status if filters.status not in (None, "pending") else None
    all_rows = source.rows(narrow)
    short = longer_short_ids(source.ids() if narrow else [r.id for r in all_rows])
    chosen = listing.select(all_rows, filters, source.record)
    if as_json:
        output.write(listing.json_rows(chosen, short) + "\n")
        return True
    rows = [row for row, _ in chosen]
    if any(row.status == "running" for row in rows) or source.runs_recorded():
        return False  # a containers section: the typer path asks the engine
    from gittask.cli.rows import warn_unreadable
    from gittask.cli.tables import page, render

    warn_unreadable(rows)
    if not rows:
        output.info("no tasks" + (f" with status {status}" if status else ""))
        return True
    lines = listing.task_lines(chosen, short)
    del all_rows, chosen, rows  # 100,000 rows are ~70 MB the table's text need not share
    page(render(lines, terminal=output.stdout_is_terminal()), no_pager=False)
    return True


class _Source:
    """Where the rows come from: the index when it is current (no pygit2), else the
    database (brought up to date first)."""

    def __init__(
        self,
        rows: Callable[[str | None], list[IndexRow]],
        ids: Callable[[], list[str]],
        record: Callable[[str], dict[str, Any]],
        runs_recorded: Callable[[], bool],
    ) -> None:
        self.rows, self.ids, self.record, self.runs_recorded = rows, ids, record, runs_recorded

    @classmethod
    def open(cls) -> _Source:
        from gittask.cli.fast.common import current_index
        from gittask.workflow.database import runs_recorded

        index = current_index()  # None: e.g. an index it may not write (read the ref)
        if index is not None:
            return cls(index.rows, index.ids, index.record, lambda: runs_recorded(index))
        from gittask.workflow.database import open_database

        db = open_database(reading=True)
        return cls(db.rows, db.indexed_ids, db.indexed_record, _runs_here)


def _runs_here() -> bool:
    """Whether a run may be live here (then ``task list`` shows containers)."""
    from gittask.workflow.containers import runs_here

    found = runs_here()
    return True if found is None else found  # no repository: let the full path find it
