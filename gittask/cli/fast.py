"""Commands answered without importing typer (its import and command tree cost ~60 ms).

- ``--help`` / ``-h``: the top-level help, kept as text below; a test checks that
  it is exactly what typer prints, so it cannot drift from the commands.
- ``--version``.
- ``task list [--json] [--status S]``: the most frequent read, done as the typer
  command does it (same rows, same output); when running containers have to be
  listed too, the typer path does it.

Anything else (other options, a narrow terminal, ``GITTASK_NO_FASTPATH=1``)
returns False and goes through typer.
"""

from __future__ import annotations

import os
import sys

TOP_HELP = """\
Usage: {prog} [OPTIONS] COMMAND [ARGS]...

  Run an AI coding agent on a task in an ephemeral Docker container; task
  state lives in git (refs/claude-tasks).

Options:
  --version   Show the version.
  -h, --help  Show this message and exit.

Commands:
  init    Set this repository up: config file, Dockerfile.claude,...
  uninit  Remove every git setting init added (fetch refspecs, notes...
  build   Build the agent image from .claude-container/Dockerfile.claude.
  doctor  Check that tasks can run (engine, image, credentials, remote,...
  clean   Remove what crashed runs left (default: --containers --worktrees).
  worker  Claim queued tasks from the remote, run them here, publish the...
  task    Create, run, inspect and manage tasks (aliases: ls = list, rm =...
  config  Show and change the project configuration...
"""


def answer(argv: list[str]) -> bool:
    """Handle ``argv`` here if it is one of the fast commands; False: use typer."""
    if os.environ.get("GITTASK_NO_FASTPATH"):
        return False
    if argv in (["--help"], ["-h"]):
        return _help()
    if argv == ["--version"]:
        from gittask import __version__

        sys.stdout.write(f"claude-container {__version__}\n")
        return True
    if argv[:2] == ["task", "list"]:
        parsed = _list_options(argv[2:])
        return parsed is not None and list_tasks(*parsed)
    return False


def program_name() -> str:
    """What click shows in its usage line (it names ``python -m`` runs the same way)."""
    main = sys.modules.get("__main__")
    package = getattr(main, "__package__", None)
    if package and os.path.basename(sys.argv[0]) == "__main__.py":
        return f"python -m {package.removesuffix('.__main__')}"
    return os.path.basename(sys.argv[0])


def _help() -> bool:
    import shutil

    if shutil.get_terminal_size().columns < 80:
        return False  # click wraps to the terminal: let it
    sys.stdout.write(TOP_HELP.format(prog=program_name()))
    return True


def _list_options(args: list[str]) -> tuple[str | None, bool] | None:
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
    """``task list [--json] [--status S]``, as :func:`gittask.cli.task.list_tasks`
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
