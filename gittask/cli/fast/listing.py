"""``task list [--json] [--status S]`` without typer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from gittask.workflow.database import IndexRow


def list_options(args: list[str]) -> tuple[str | None, bool] | None:
    status: str | None = None
    as_json = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--json":
            as_json = True
        elif arg in ("--status", "-s") and i + 1 < len(args):
            status = args[i + 1]
            i += 1
        elif arg.startswith("--status="):
            status = arg.split("=", 1)[1]
        else:
            return None  # --refresh, --help, a typo: typer's path says what to do
        i += 1
    return status, as_json


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
        from gittask.errors import GittaskError
        from gittask.workflow.database import fast_index, runs_recorded

        try:
            index = fast_index()
        except GittaskError:  # e.g. an index it may not write: the slow path reads the ref
            index = None
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
