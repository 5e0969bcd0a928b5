"""``task list``, ``task search`` and ``task history``: looking through many tasks.

``list`` shares its rows and rendering with the fast path (:mod:`gittask.cli.fast.listing`,
:mod:`gittask.cli.listing`, :mod:`gittask.cli.tables`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gittask.cli import output
from gittask.cli.completion import task_branches
from gittask.cli.pr import refresh_pull_states
from gittask.cli.rows import warn_unreadable as _warn_unreadable
from gittask.cli.shared import JsonOpt, open_db, short_map

if TYPE_CHECKING:
    from gittask.workflow.database import IndexRow


StatusOpt = Annotated[
    str | None,
    typer.Option(
        "--status",
        "-s",
        help="Only tasks with this status (stored, or a word: done, ready-for-review, "
        "stopped, no-changes).",
    ),
]
RefreshOpt = Annotated[
    bool, typer.Option("--refresh", help="Fetch pull request states from GitHub first.")
]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-L", min=1, help="At most N tasks.")]
AuthorOpt = Annotated[
    str | None, typer.Option("--author", help="Only tasks whose author contains this.")
]
MineOpt = Annotated[bool, typer.Option("--mine", help="Only tasks you created.")]
SinceOpt = Annotated[
    str | None,
    typer.Option("--since", metavar="AGE|DATE", help="Created since: 3d, 12h, 2w, 2024-05-01."),
]
BranchOpt = Annotated[
    str | None,
    typer.Option(
        "--branch", "-b", help="Only the task on this branch.", autocompletion=task_branches
    ),
]
LabelOpt = Annotated[
    list[str] | None, typer.Option("--label", "-l", help="Only tasks with this label.")
]
JqOpt = Annotated[str | None, typer.Option("--jq", metavar="EXPR", help="Filter the JSON with jq.")]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", metavar="TEMPLATE", help="One line per task: '{short_id} {title}'."),
]
NoPagerOpt = Annotated[bool, typer.Option("--no-pager", help="Never page the output.")]
TreeOpt = Annotated[
    bool, typer.Option("--tree", help="The dependency graph: each task under what it needs.")
]


def list_tasks(
    status: StatusOpt = None,
    refresh: RefreshOpt = False,
    limit: LimitOpt = None,
    author: AuthorOpt = None,
    mine: MineOpt = False,
    since: SinceOpt = None,
    branch: BranchOpt = None,
    label: LabelOpt = None,
    jq: JqOpt = None,
    template: FormatOpt = None,
    no_pager: NoPagerOpt = False,
    tree: TreeOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """List tasks, newest first (one line each; --json, --jq or --format for scripts)."""
    if tree:
        from gittask.cli.deps import print_tree

        return print_tree(as_json)
    from gittask.cli import listing
    from gittask.cli.tables import page, render
    from gittask.errors import UsageError

    for_scripts = as_json or jq is not None or template is not None
    if sum(x is not None for x in (jq, template)) + as_json > 1:
        raise UsageError("give one of --json, --jq and --format")
    if mine and author is not None:
        raise UsageError("--mine and --author do not go together")
    filters = listing.Filters(
        author=open_db().repo.author_string() if mine else author,
        since=listing.parse_since(since) if since is not None else None,
        branch=branch,
        labels=tuple(label or ()),
        limit=limit,
    )
    if status is not None:
        filters.status, filters.outcome = listing.parse_status(status)
    if refresh:
        refresh_pull_states(None, quiet=for_scripts)
    all_rows, record_of = _all_rows()
    short = short_map([r.id for r in all_rows])
    chosen = listing.select(all_rows, filters, record_of)
    rows = [row for row, _ in chosen]
    if as_json:
        output.write(listing.json_rows(chosen, short) + "\n")
        return
    if for_scripts:
        _print_for_scripts(
            [listing.row_json(r, record, short) for r, record in chosen], jq, template
        )
        return
    _warn_unreadable(rows)
    if not rows:
        output.info("no tasks" + (f" with status {status}" if status else ""))
        return
    lines = listing.task_lines(chosen, short)
    page(render(lines, terminal=output.stdout_is_terminal()), no_pager=no_pager)
    containers_section({r.status or "" for r in rows})


def _all_rows() -> tuple[list[IndexRow], Callable[[str], dict[str, Any]]]:
    """Every task's row and how to read its record: from the index, else the database."""
    from gittask.workflow.database import fast_index

    index = fast_index()
    if index is not None:
        return index.rows(), index.record
    db = open_db(reading=True)
    return db.rows(), db.indexed_record  # rows() brings the index up to date first


def _print_for_scripts(data: list[dict[str, Any]], jq: str | None, template: str | None) -> None:
    """--jq or --format."""
    from gittask.cli import listing

    if jq is not None:
        sys.stdout.write(listing.run_jq(data, jq))
    else:
        for line in listing.formatted(data, template or ""):
            typer.echo(line)


def search(
    query: Annotated[str, typer.Argument(help="Words to find in descriptions and feedback.")],
    as_json: JsonOpt = False,
) -> None:
    """Find tasks by their description and feedback (case-insensitive, best first)."""
    from gittask.errors import UsageError
    from gittask.workflow.inputs import check_argument

    if not check_argument("the search query", query).strip():
        raise UsageError("the search query is empty")
    from gittask.cli.listing import print_hits

    db = open_db(reading=True)
    db.refresh()
    hits = db.search(query)
    print_hits(hits, short_map(db.indexed_ids()), query, as_json)


def history(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N entries.")] = 20,
    branch: Annotated[
        str | None,
        typer.Option(
            "--branch", "-b", help="Only the task(s) on this branch.", autocompletion=task_branches
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What happened to tasks, newest first (from the log of refs/claude-tasks)."""
    from gittask.errors import UsageError
    from gittask.workflow.records import history

    db = open_db(reading=True)
    db.refresh()
    wanted = None
    if branch is not None:
        wanted = {r.id for r in db.indexed_rows() if r.branch == branch}
        if not wanted:
            raise UsageError(f"no task works on branch '{branch}'")
    entries = history(db, wanted, limit)
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


def containers_section(statuses: set[str]) -> None:
    """Print running task containers and those a crash left, for ``task list``."""
    from gittask.workflow.containers import HEADERS, task_containers

    table = task_containers(statuses)
    if table.warning:
        output.info(table.warning)
    if not table.rows:
        return
    sys.stdout.write("\nTask containers:\n")
    output.table(HEADERS, table.rows)
    if table.leftovers:
        output.info("left by a crashed run: 'claude-container clean' removes them")
