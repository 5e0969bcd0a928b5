"""``task list [--json] [--status S]`` without typer."""

from __future__ import annotations


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
    from gittask.cli.rows import warn_unreadable
    from gittask.cli.tables import page, render
    from gittask.errors import GittaskError
    from gittask.model.ids import short_ids
    from gittask.workflow.database import fast_index

    filters = listing.Filters()
    if status is not None:
        filters.status, filters.outcome = listing.parse_status(status)
    try:
        index = fast_index()
    except GittaskError:  # e.g. an index it may not write: the slow path reads the ref
        index = None
    if index is None:
        from gittask.workflow.database import open_database

        db = open_database(reading=True)
        all_rows = db.rows()
        record = db.indexed_record
    else:
        all_rows = index.rows()
        record = index.record
    short = short_ids([r.id for r in all_rows])
    chosen = listing.select(all_rows, filters, record)
    rows = [row for row, _ in chosen]
    if as_json:
        output.print_json([listing.row_json(row, record, short) for row, record in chosen])
        return True
    if _containers_to_list({r.status or "" for r in rows}):
        return False
    warn_unreadable(rows)
    if not rows:
        output.info("no tasks" + (f" with status {status}" if status else ""))
        return True
    lines = [listing.task_line(row, record, short) for row, record in chosen]
    page(render(lines, terminal=output.stdout_is_terminal()), no_pager=False)
    return True


def _containers_to_list(statuses: set[str]) -> bool:
    """Whether ``task list`` has a containers section to print (Docker is asked then)."""
    if "running" in statuses:
        return True
    from gittask.workflow.containers import runs_here

    found = runs_here()
    return True if found is None else found  # no repository: let the full path find it
