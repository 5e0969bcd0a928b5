"""``claude-container task ...``: create, list, show, search, history, delete."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gittask.cli import output

if TYPE_CHECKING:
    from gittask.model import TaskMetadata
    from gittask.workflow.database import IndexRow, TaskDatabase

app = typer.Typer(
    help="Create, run, inspect and manage tasks.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich help costs ~80 ms of start-up
    context_settings={"help_option_names": ["-h", "--help"]},
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

DESCRIPTION_HELP = [
    "Describe the task for the agent above that line (Markdown is fine).",
    "Everything from that line down is ignored; an empty description aborts.",
]


def _db() -> TaskDatabase:
    from gittask.workflow.database import open_database

    return open_database()


def _short_map(ids: list[str]) -> dict[str, str]:
    from gittask.model.ids import short_ids

    return short_ids(ids)


def read_description(db: TaskDatabase, file: Path | None, message: str | None) -> str:
    from gittask.cli.editor import edit, find_editor
    from gittask.errors import UsageError

    if file is not None and message is not None:
        raise UsageError("give the description with --file or --message, not both")
    if message is not None:
        return message
    if file is not None:
        if str(file) == "-":
            import sys

            return sys.stdin.read()
        try:
            return file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
    editor = find_editor(db.repo.config_get("core.editor"))
    return edit("", DESCRIPTION_HELP, editor, "description")


def _prompt_branch(suggestion: str) -> str:
    return str(typer.prompt("Branch for this task", default=suggestion))


@app.command("create")
def create(
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Read the description from a file ('-': stdin)."),
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="The description, inline.")
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Branch the agent works on.")
    ] = None,
    base: Annotated[
        str | None, typer.Option("--base", help="Branch to start from (default: origin's default).")
    ] = None,
    no_run: Annotated[
        bool, typer.Option("--no-run", help="Only record the task (status pending).")
    ] = False,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Run in the background; print the task id.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Record a task and run it (unless --no-run)."""
    from gittask.errors import UsageError
    from gittask.model.task import new_task_id
    from gittask.workflow.branches import suggest_branch
    from gittask.workflow.records import record_task

    if no_run and detach:
        raise UsageError("--detach runs the task: it cannot go with --no-run")
    db = _db()
    description = read_description(db, file, message)
    pre = None
    if not no_run and description.strip():
        from gittask.workflow.run import preflight

        pre = preflight(db)  # nothing is recorded when the task could not run
    task_id = new_task_id()
    if branch is None and description.strip() and output.stdin_is_terminal() and not as_json:
        branch = _prompt_branch(suggest_branch(description, task_id))
    task = record_task(db, description, branch, base, task_id=task_id, publish=no_run)
    if no_run:
        if as_json:
            output.print_json(task.to_dict())
        else:
            output.info(f"recorded task {task.id[:8]} on branch {task.branch_name} (pending)")
            typer.echo(task.id)
        return
    from gittask.cli.run import execute

    if not as_json:
        output.info(f"recorded task {task.id[:8]} on branch {task.branch_name}")
    execute(db, task.id, "create", detach=detach, as_json=as_json, pre=pre)


def _row_cells(row: IndexRow, short: dict[str, str]) -> list[str]:
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


def _row_json(row: IndexRow, short: dict[str, str]) -> dict[str, Any]:
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


def _warn_unreadable(rows: list[IndexRow]) -> None:
    bad = [r for r in rows if r.error]
    for row in bad:
        output.info(f"warning: {row.error}")


@app.command("list")
def list_tasks(
    status: Annotated[
        str | None, typer.Option("--status", "-s", help="Only tasks with this status.")
    ] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Fetch pull request states from GitHub first.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List tasks, newest first."""
    from gittask.workflow.database import fast_index

    wanted = None
    if status is not None:
        from gittask.model.status import TaskStatus

        wanted = TaskStatus.parse(status).value
    if refresh:
        _refresh_pull_states(None, quiet=as_json)
    index = fast_index()
    rows = index.rows(wanted) if index is not None else _db().rows(wanted)
    short = _short_map(
        [r.id for r in (index.rows() if index else rows)] if wanted else [r.id for r in rows]
    )
    if as_json:
        output.print_json([_row_json(r, short) for r in rows])
        return
    _warn_unreadable(rows)
    if not rows:
        output.info("no tasks" + (f" with status {wanted}" if wanted else ""))
        return
    output.table(
        ["ID", "STATUS", "BRANCH", "CREATED", "TITLE"], [_row_cells(r, short) for r in rows]
    )
    from gittask.cli.run import containers_section

    containers_section({r.status or "" for r in rows})


def _show_text(record: dict[str, Any], short_id: str, feedback: bool) -> None:
    fields = [
        ("id", record["id"]),
        ("short id", short_id),
        ("title", record.get("title")),
        ("status", record.get("status")),
        ("branch", record.get("branch_name")),
        ("base", record.get("base_branch")),
        ("created", record.get("created_at")),
        ("started", record.get("started_at")),
        ("completed", record.get("completed_at")),
        ("author", record.get("author")),
        ("agent", record.get("agent")),
        ("pull request", record.get("pr_url")),
        ("commit", record.get("commit_hash")),
        ("runs", record.get("run_count")),
        ("continuations", record.get("continuation_count")),
        ("cost (USD)", record.get("cost_usd")),
        ("turns", record.get("num_turns")),
        ("tokens", _tokens(record)),
        ("error", record.get("error_message")),
        ("not published", record.get("publish_error")),
        ("no PR because", record.get("pr_note")),
        ("last run by", record.get("claimed_by")),
    ]
    width = max(len(k) for k, _ in fields)
    lines = [f"{k + ':':<{width + 1}} {v}" for k, v in fields if v not in (None, "", [])]
    lines += [
        "",
        "description:",
        *("  " + x for x in (record.get("description") or "").splitlines()),
    ]
    history = record.get("feedback_history") or []
    if feedback:
        for number, entry in enumerate(history, start=1):
            head = f"feedback {number} [{entry.get('feedback_type')}] {entry.get('timestamp')}"
            if entry.get("author"):
                head += f" by {entry['author']}"
            lines += [
                "",
                head + ":",
                *("  " + x for x in (entry.get("feedback") or "").splitlines()),
            ]
            if entry.get("claude_response_summary"):
                lines += [
                    "  response:",
                    *("    " + x for x in entry["claude_response_summary"].splitlines()),
                ]
    elif history:
        lines += ["", f"{len(history)} feedback entries (--feedback-history shows them)"]
    typer.echo("\n".join(lines))


def _refresh_pull_states(
    task_ids: list[str] | None, quiet: bool, db: TaskDatabase | None = None
) -> dict[str, TaskMetadata]:
    """Move tasks whose PR was merged or closed; a GitHub problem is a warning."""
    from gittask.config import load_config
    from gittask.errors import GittaskError
    from gittask.workflow.pull_requests import refresh_pull_states

    db = db or _db()
    try:
        moved = refresh_pull_states(db, load_config(db.repo), task_ids)
    except GittaskError as exc:
        output.info(f"warning: pull request states not refreshed: {exc}")
        return {}
    for task, status in moved:
        if not quiet:
            output.info(f"task {task.id[:8]} is now {status}")
    return {task.id: task for task, _ in moved}


def _tokens(record: dict[str, Any]) -> str | None:
    tokens_in, tokens_out = record.get("input_tokens"), record.get("output_tokens")
    if tokens_in is None and tokens_out is None:
        return None
    return f"{tokens_in or 0} in, {tokens_out or 0} out"


@app.command("show")
def show(
    task_id: Annotated[str, typer.Argument(metavar="ID", help="Task id or unique prefix.")],
    feedback_history: Annotated[
        bool, typer.Option("--feedback-history", help="Show every feedback entry.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show one task."""
    db = _db()
    db.refresh()
    task = db.get(task_id)
    if task.pr_number:
        task = _refresh_pull_states([task.id], quiet=as_json, db=db).get(task.id, task)
    record = task.to_dict()
    short = _short_map(db.indexed_ids()).get(task.id, task.id[:8])
    record["short_id"] = short
    if as_json:
        output.print_json(record)
        return
    _show_text(record, short, feedback_history)


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="Words to find in descriptions and feedback.")],
    as_json: JsonOpt = False,
) -> None:
    """Find tasks by their description and feedback (case-insensitive, best first)."""
    from gittask.errors import UsageError

    if not query.strip():
        raise UsageError("the search query is empty")
    db = _db()
    db.refresh()
    hits = db.search(query)
    short = _short_map(db.indexed_ids())
    if as_json:
        output.print_json([{**_row_json(r, short), "score": s} for r, s in hits])
        return
    if not hits:
        output.info(f"no task matches '{query}'")
        return
    output.table(
        ["ID", "STATUS", "BRANCH", "CREATED", "TITLE"], [_row_cells(r, short) for r, _ in hits]
    )


@app.command("history")
def history(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N entries.")] = 20,
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Only the task(s) on this branch.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What happened to tasks, newest first (from the log of refs/claude-tasks)."""
    from gittask.errors import UsageError
    from gittask.workflow.records import history

    db = _db()
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


@app.command("delete")
def delete(
    task_ids: Annotated[
        list[str] | None, typer.Argument(metavar="ID...", help="Tasks to delete.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", "-s", help="Delete every task with this status.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete tasks (a tombstone commit records who deleted what)."""
    from gittask.errors import UsageError
    from gittask.model.status import TaskStatus
    from gittask.workflow.records import delete_tasks, ids_with_status, resolve_many

    if bool(task_ids) == (status is not None):
        raise UsageError("name the tasks to delete, or give --status (not both)")
    wanted = TaskStatus.parse(status) if status is not None else None
    db = _db()
    db.refresh()
    ids = ids_with_status(db, wanted) if wanted is not None else resolve_many(db, task_ids or [])
    if not ids:
        output.info(f"no tasks with status {wanted}")
        return
    if not yes:
        if not output.stdin_is_terminal():
            raise UsageError(
                f"refusing to delete {len(ids)} task(s) without confirmation", "pass --yes"
            )
        if not typer.confirm(f"Delete {len(ids)} task(s)?", default=False):
            raise UsageError("nothing deleted")
    deleted = delete_tasks(db, ids)
    if as_json:
        output.print_json([{"id": t.id, "title": t.title} for t in deleted])
        return
    for task in deleted:
        output.info(f"deleted task {task.id[:8]}: {task.title}")
