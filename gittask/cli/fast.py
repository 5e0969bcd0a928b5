"""Commands answered without importing typer (its import and command tree cost ~60 ms).

- ``--help`` / ``-h``: the top-level help, kept as text below; a test checks that
  it is exactly what typer prints, so it cannot drift from the commands.
- ``--version``.
- ``task list [--json] [--status S]``: the most frequent read, done as the typer
  command does it (same rows, same output); when running containers have to be
  listed too, the typer path does it.
- ``task show ID [--json] [--feedback-history]``, when the id names one task of
  the index and the task has no pull request (whose state ``show`` refreshes
  from GitHub) and already has its folder in the working copy; a task that
  waits for others reads the records its dependencies lead to from the index.

Anything else (other options, a narrow terminal, ``GITTASK_NO_FASTPATH=1``, a
shell's completion request: ``_CLAUDE_CONTAINER_COMPLETE``) returns False and goes
through typer. ``--show-completion`` / ``--install-completion`` are answered before
this, by :mod:`gittask.cli.completion`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

TOP_HELP = """\
Usage: {prog} [OPTIONS] COMMAND [ARGS]...

  Run an AI coding agent on a task in an ephemeral Docker container; task
  state lives in git (refs/claude-tasks).

Options:
  --version                     Show the version.
  --install-completion [SHELL]  Install shell completion for bash, zsh or fish
                                (default: this shell).
  --show-completion [SHELL]     Print the completion script for bash, zsh or
                                fish (default: this shell).
  -h, --help                    Show this message and exit.

Commands:
  init       Set this repository up: config file, Dockerfile.claude,...
  uninit     Remove every git setting init added (fetch refspecs, notes...
  build      Build the agent image from .claude-container/Dockerfile.claude.
  doctor     Check that tasks can run (engine, image, credentials,...
  clean      Remove what crashed runs left (default: --containers...
  worker     Claim queued tasks from the remote, run them here, publish...
  scheduler  Fire the schedules' due slots (each exactly once across...
  task       Create, run, inspect and manage tasks (aliases: ls = list,...
  config     Show and change the project configuration...
"""


def answer(argv: list[str]) -> bool:
    """Handle ``argv`` here if it is one of the fast commands; False: use typer."""
    if os.environ.get("GITTASK_NO_FASTPATH") or os.environ.get("_CLAUDE_CONTAINER_COMPLETE"):
        return False  # a shell completing a command line: typer answers it
    if argv in (["--help"], ["-h"]):
        return _help()
    if argv == ["--version"]:
        from gittask import __version__

        sys.stdout.write(f"claude-container {__version__}\n")
        return True
    if argv[:2] == ["task", "list"]:
        parsed = _list_options(argv[2:])
        return parsed is not None and list_tasks(*parsed)
    if argv[:2] in (["task", "show"], ["task", "view"]):
        shown = _show_options(argv[2:])
        return shown is not None and show_task(*shown)
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


def _show_options(args: list[str]) -> tuple[str, bool, bool] | None:
    """(id, --json, --feedback-history), or None for anything else (typer says what)."""
    words = [a for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    if len(words) != 1 or any(f not in ("--json", "--feedback-history") for f in flags):
        return None
    return words[0], "--json" in flags, "--feedback-history" in flags


def show_task(prefix: str, as_json: bool, feedback: bool) -> bool:
    """``task show`` from a current index, as :func:`gittask.cli.show.show` prints it;
    False whenever the typer command has more to do or to say (errors included)."""
    from gittask.errors import GittaskError
    from gittask.model.ids import short_ids
    from gittask.model.task import normalize_id
    from gittask.workflow.database import fast_index, shown_in_working_copy

    wanted = normalize_id(prefix)
    if not wanted or any(c not in "0123456789abcdef" for c in wanted):
        return False
    try:
        index = fast_index()
    except GittaskError:
        return False
    if index is None:
        return False
    matches = index.ids_starting(wanted)
    if len(matches) != 1 or not shown_in_working_copy(index, matches[0]):
        return False
    try:
        record = dict(index.record(matches[0]))
    except (GittaskError, KeyError, ValueError):
        return False  # unreadable: the full path says why
    if record.get("pr_number") or record.get("id") != matches[0]:
        return False
    from gittask.cli import output
    from gittask.cli.showtext import dependency_fields, render
    from gittask.model.outcome import outcome

    record["outcome"] = outcome(
        record.get("status"), record.get("error_message"), record.get("pr_url")
    )
    try:  # what it waits for: the records its dependencies lead to, from the index
        record.update(dependency_fields(record, index.record, _KnownIds(index)))
    except (GittaskError, KeyError, ValueError):
        return False
    # a short id depends on the ids just before and after it only
    short = short_ids([matches[0], *index.neighbours(matches[0])])[matches[0]]
    record["short_id"] = short
    if as_json:
        output.print_json(record)
        return True
    sys.stdout.write(render(record, short, feedback) + "\n")
    return True


class _KnownIds:
    """Every indexed id, asked one at a time (a dependency check reads a handful)."""

    def __init__(self, index: Any) -> None:  # the workflow's fast index (a TaskIndex)
        self.index = index

    def __contains__(self, task_id: object) -> bool:
        return isinstance(task_id, str) and list(self.index.ids_starting(task_id, 1)) == [task_id]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.index.ids()))

    def __len__(self) -> int:
        return len(list(self.index.ids()))
