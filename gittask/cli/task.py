"""``claude-container task ...``: create, list, show, search, history, delete."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gittask.cli import output
from gittask.cli.rows import warn_unreadable as _warn_unreadable

if TYPE_CHECKING:
    from gittask.model import TaskMetadata
    from gittask.workflow.database import TaskDatabase

app = typer.Typer(
    help="Create, run, inspect and manage tasks (aliases: ls = list, rm = delete, view = show).",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich help costs ~80 ms of start-up
    context_settings={"help_option_names": ["-h", "--help"]},
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

DESCRIPTION_HELP = [
    "Describe the task for the agent above that line (Markdown is fine).",
    "Everything from that line down is ignored; an empty description aborts.",
]


def _db(reading: bool = False) -> TaskDatabase:
    """``reading``: the command only reads (it works without write access, from the ref)."""
    from gittask.workflow.database import open_database

    return open_database(reading=reading)


def _short_map(ids: list[str]) -> dict[str, str]:
    from gittask.model.ids import short_ids

    return short_ids(ids)


def read_description(db: TaskDatabase, file: Path | None, message: str | None) -> str:
    """The description from -m, --file (or stdin) or the editor: UTF-8 text without NUL,
    within ``description.max_bytes``; anything else is one UsageError line."""
    from gittask.cli.editor import edit, find_editor
    from gittask.config import load_config
    from gittask.errors import UsageError
    from gittask.workflow.inputs import check_text, read_text

    if file is not None and message is not None:
        raise UsageError("give the description with --file or --message, not both")
    limit = int(load_config(db.repo)["description.max_bytes"])
    if message is not None:
        return check_text("the description", message, limit)
    if file is not None:
        return read_text("the description", file, limit)
    editor = find_editor(db.repo.config_get("core.editor"))
    return check_text("the description", edit("", DESCRIPTION_HELP, editor, "description"), limit)


def _ask_branch(db: TaskDatabase, suggestion: str) -> str:
    """The branch prompt of the editor flow (stderr; Enter takes the suggestion;
    a name git refuses or another task uses asks again)."""
    from gittask.cli import prompts
    from gittask.workflow.branches import check_branch_free, check_branch_name

    def check(name: str) -> str:
        name = check_branch_name(name)
        check_branch_free(db, name)
        return name

    db.refresh()
    return prompts.ask("Branch for this task", suggestion, check)


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
        str | None,
        typer.Option(
            "--branch",
            "-b",
            help="Branch the agent works on (default: from the title; asked for after "
            "the editor, on a terminal).",
        ),
    ] = None,
    base: Annotated[
        str | None, typer.Option("--base", help="Branch to start from (default: origin's default).")
    ] = None,
    no_run: Annotated[
        bool, typer.Option("--no-run", help="Only record the task (status pending).")
    ] = False,
    queue: Annotated[
        bool, typer.Option("--queue", help="Record it queued: a worker runs it (status queued).")
    ] = False,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Run in the background; print the task id.")
    ] = False,
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="A label (repeat for more).")
    ] = None,
    base_local: Annotated[
        bool,
        typer.Option(
            "--base-local",
            help="Start from the local base branch (with its unpushed commits), not "
            "the remote's copy.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Record a task and run it (unless --no-run).

    The description comes from -m, --file (or stdin with --file -), else the editor.
    Only after the editor, on a terminal, does it ask for the branch; if the command
    stops after the editor closed, the text is kept in .git/claude-tasks/TASK_EDITMSG.
    """
    from gittask.cli import prompts
    from gittask.errors import UsageError
    from gittask.model.task import new_task_id
    from gittask.workflow.branches import check_branch_name, suggest_branch
    from gittask.workflow.records import record_task

    if no_run and detach:
        raise UsageError("--detach runs the task: it cannot go with --no-run")
    if queue and (no_run or detach):
        raise UsageError("--queue leaves the run to a worker: not with --no-run or --detach")
    no_run = no_run or queue
    db = _db()
    # odd input is refused before anything runs: names first, then the text
    if branch is not None:
        branch = check_branch_name(branch)
    if base is not None:
        base = check_branch_name(base, "base branch")
    from_editor = file is None and message is None
    description = read_description(db, file, message)
    try:
        pre = None
        if not no_run and description.strip():
            from gittask.workflow.run import preflight

            pre = preflight(db)  # nothing is recorded when the task could not run
        task_id = new_task_id()
        if (
            branch is None
            and from_editor
            and description.strip()
            and prompts.interactive()
            and not as_json
        ):
            branch = _ask_branch(db, suggest_branch(description, task_id))
        task = record_task(
            db,
            description,
            branch,
            base,
            task_id=task_id,
            publish=no_run and not queue,
            labels=label,
        )
    except BaseException:
        if from_editor and description.strip():
            kept = prompts.save_draft(db.repo.state_dir, "description", description)
            prompts.say_draft_kept(kept, "description", "--file")
        raise
    if queue:
        from gittask.workflow.worker.queue import queue_task

        task = queue_task(db, task.id)
    if no_run:
        if as_json:
            output.print_json(task.to_dict())
        else:
            output.info(
                f"recorded task {task.id[:8]} on branch {task.branch_name} ({task.status.value})"
            )
            typer.echo(task.id)
        return
    from gittask.cli.run import execute

    if not as_json:
        output.info(f"recorded task {task.id[:8]} on branch {task.branch_name}")
    execute(db, task.id, "create", detach=detach, as_json=as_json, pre=pre, local_base=base_local)


@app.command("list")
def list_tasks(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            "-s",
            help="Only tasks with this status (stored, or a word: done, ready-for-review, "
            "stopped, no-changes).",
        ),
    ] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Fetch pull request states from GitHub first.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-L", min=1, help="At most N tasks.")
    ] = None,
    author: Annotated[
        str | None, typer.Option("--author", help="Only tasks whose author contains this.")
    ] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only tasks you created.")] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="AGE|DATE", help="Created since: 3d, 12h, 2w, 2024-05-01."),
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Only the task on this branch.")
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="Only tasks with this label.")
    ] = None,
    jq: Annotated[
        str | None, typer.Option("--jq", metavar="EXPR", help="Filter the JSON with jq.")
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--format", metavar="TEMPLATE", help="One line per task: '{short_id} {title}'."
        ),
    ] = None,
    no_pager: Annotated[bool, typer.Option("--no-pager", help="Never page the output.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List tasks, newest first (one line each; --json, --jq or --format for scripts)."""
    from gittask.cli import listing
    from gittask.cli.tables import page, render
    from gittask.errors import UsageError
    from gittask.workflow.database import fast_index

    if sum(x is not None for x in (jq, template)) + as_json > 1:
        raise UsageError("give one of --json, --jq and --format")
    filters = listing.Filters(
        author=author,
        since=listing.parse_since(since) if since is not None else None,
        branch=branch,
        labels=tuple(label or ()),
        limit=limit,
    )
    if status is not None:
        filters.status, filters.outcome = listing.parse_status(status)
    if refresh:
        _refresh_pull_states(None, quiet=as_json or jq is not None or template is not None)
    if mine:
        if author is not None:
            raise UsageError("--mine and --author do not go together")
        filters.author = _db().repo.author_string()
    index = fast_index()
    if index is not None:
        all_rows, record_of = index.rows(), index.record
    else:
        db = _db(reading=True)
        all_rows = db.rows()  # brought up to date first
        record_of = db.indexed_record
    short = _short_map([r.id for r in all_rows])
    chosen = listing.select(all_rows, filters, record_of)
    rows = [row for row, _ in chosen]
    if as_json or jq is not None or template is not None:
        data = [listing.row_json(row, record, short) for row, record in chosen]
        if jq is not None:
            sys.stdout.write(listing.run_jq(data, jq))
        elif template is not None:
            for line in listing.formatted(data, template):
                typer.echo(line)
        else:
            output.print_json(data)
        return
    _warn_unreadable(rows)
    if not rows:
        output.info("no tasks" + (f" with status {status}" if status else ""))
        return
    lines = [listing.task_line(row, record, short) for row, record in chosen]
    page(render(lines, terminal=output.stdout_is_terminal()), no_pager=no_pager)
    from gittask.cli.run import containers_section

    containers_section({r.status or "" for r in rows})


def _text_line(line: str) -> str:
    """A line of a description or feedback as printed: tabs kept, other controls escaped."""
    from gittask.display import escape

    return "\t".join(escape(part) for part in line.split("\t"))


def _lease_line(record: dict[str, Any]) -> str | None:
    """The worker's lease (queued and worker tasks): who, which lease, until when, attempt."""
    if not record.get("worker"):
        return None
    line = f"{record['worker']} (lease {record.get('lease')}, attempt {record.get('attempts')}"
    if record.get("lease_expires") and record.get("status") in ("queued", "running"):
        line += f", until {record['lease_expires']}"
    return line + ")"


def _show_text(record: dict[str, Any], short_id: str, feedback: bool) -> None:
    from gittask.model.outcome import outcome

    word = outcome(record.get("status"), record.get("error_message"), record.get("pr_url"))
    status = word if word == record.get("status") else f"{word} (stored: {record.get('status')})"
    fields = [
        ("id", record["id"]),
        ("short id", short_id),
        ("title", record.get("title")),
        ("status", status),
        ("labels", ", ".join(record.get("labels") or [])),
        ("branch", record.get("branch_name")),
        ("base", record.get("base_branch")),
        ("created", record.get("created_at")),
        ("started", record.get("started_at")),
        ("completed", record.get("completed_at")),
        ("author", record.get("author")),
        ("agent", record.get("agent")),
        ("pull request", record.get("pr_url") or _no_pull_reason(record)),
        ("commit", record.get("commit_hash")),
        ("runs", record.get("run_count")),
        ("continuations", record.get("continuation_count")),
        ("cost (USD)", record.get("cost_usd")),
        ("turns", record.get("num_turns")),
        ("tokens", _tokens(record)),
        ("error", record.get("error_message")),
        ("not published", record.get("publish_error")),
        ("last run by", record.get("claimed_by")),
        ("worker", _lease_line(record)),
        ("stop request", record.get("stop_requested")),
    ]
    from gittask.display import escape

    width = max(len(k) for k, _ in fields)
    lines = [
        f"{k + ':':<{width + 1}} {escape(str(v))}" for k, v in fields if v not in (None, "", [])
    ]
    lines += [
        "",
        "description:",
        *("  " + _text_line(x) for x in (record.get("description") or "").splitlines()),
    ]
    history = record.get("feedback_history") or []
    if feedback:
        for number, entry in enumerate(history, start=1):
            head = f"feedback {number} [{entry.get('feedback_type')}] {entry.get('timestamp')}"
            if entry.get("author"):
                head += f" by {escape(str(entry['author']))}"
            lines += [
                "",
                head + ":",
                *("  " + _text_line(x) for x in (entry.get("feedback") or "").splitlines()),
            ]
            if entry.get("claude_response_summary"):
                lines += [
                    "  response:",
                    *(
                        "    " + _text_line(x)
                        for x in entry["claude_response_summary"].splitlines()
                    ),
                ]
    elif history:
        lines += ["", f"{len(history)} feedback entries (--feedback-history shows them)"]
    typer.echo("\n".join(lines))


def _no_pull_reason(record: dict[str, Any]) -> str:
    """Why a task has no pull request, for ``show``."""
    short = str(record["id"])[:8]
    if record.get("pr_note"):
        return f"none: {str(record['pr_note']).removeprefix('no pull request: ')}"
    if record.get("publish_error"):
        return f"none: the work was not pushed ('task push {short}' publishes it)"
    if not record.get("run_count"):
        return f"none yet: the task has not run ('task start {short}')"
    if record.get("status") == "running":
        return "none yet: the run is going"
    if not record.get("commits"):
        return "none: no run has made a commit"
    return f"none ('task pr {short}' opens one)"


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
    web: Annotated[
        bool, typer.Option("--web", "-w", help="Open its pull request in the browser.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show one task."""
    db = _db(reading=True)
    db.refresh()
    task = db.get(task_id)
    if web:
        from gittask.cli.review import open_url

        typer.echo(open_url(task))
        return
    if task.pr_number:
        task = _refresh_pull_states([task.id], quiet=as_json, db=db).get(task.id, task)
    from gittask.cli.run import task_json

    record = task_json(task)
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
    from gittask.workflow.inputs import check_argument

    if not check_argument("the search query", query).strip():
        raise UsageError("the search query is empty")
    db = _db(reading=True)
    db.refresh()
    hits = db.search(query)
    short = _short_map(db.indexed_ids())
    if as_json:
        from gittask.cli.listing import row_json

        output.print_json(
            [{**row_json(r, db.indexed_record(r.id), short), "score": sc} for r, sc in hits]
        )
        return
    if not hits:
        output.info(f"no task matches '{query}'")
        return
    from gittask.cli import listing
    from gittask.cli.tables import page, render

    lines = [listing.task_line(r, db.indexed_record(r.id), short) for r, _ in hits]
    page(render(lines, terminal=output.stdout_is_terminal()))


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

    db = _db(reading=True)
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
    force: Annotated[
        bool, typer.Option("--force", help="Stop a running task first (else it is refused).")
    ] = False,
    branches: Annotated[
        bool,
        typer.Option("--branches", help="Also delete the work branch, here and on the remote."),
    ] = False,
    close_pr: Annotated[
        bool, typer.Option("--close-pr", help="Also close the task's open pull request.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete tasks (a tombstone commit records who deleted what).

    A running task is refused unless --force, which stops its run first. The work
    branch and an open pull request stay (each is named) unless --branches or
    --close-pr remove them.
    """
    from gittask.config import load_config, remote_of
    from gittask.errors import GittaskError, UsageError
    from gittask.model.status import TaskStatus
    from gittask.workflow import deletion
    from gittask.workflow.claims import claimed_elsewhere
    from gittask.workflow.publish import after_change
    from gittask.workflow.records import delete_tasks, ids_with_status, resolve_many
    from gittask.workflow.stop import running_run, stop_task

    if bool(task_ids) == (status is not None):
        raise UsageError("name the tasks to delete, or give --status (not both)")
    wanted = TaskStatus.parse(status) if status is not None else None
    db = _db()
    db.refresh()
    ids = ids_with_status(db, wanted) if wanted is not None else resolve_many(db, task_ids or [])
    if not ids:
        output.info(f"no tasks with status {wanted}")
        return
    readable = {task_id: _readable(db, task_id) for task_id in ids}
    tasks = [t for t in readable.values() if t is not None]
    to_stop = []
    for task in tasks:  # all refused before anything changes
        marker = running_run(db, task)
        if marker is not None:
            if not force:
                raise GittaskError(
                    f"task {task.id[:8]} is running (run {marker.run}, pid {marker.pid}); "
                    "nothing was deleted",
                    f"stop it with 'task stop {task.id[:8]}', or delete with --force",
                )
            to_stop.append(task.id)
        elif claimed_elsewhere(db.repo, task) and not force:
            raise GittaskError(
                f"task {task.id[:8]} is being run by {task.claimed_by} "
                f"(run {task.run_count}); nothing was deleted",
                "wait for it, or delete with --force (that run goes on there)",
            )
    if not yes:
        from gittask.cli import prompts

        if not prompts.interactive():
            raise UsageError(
                f"refusing to delete {len(ids)} task(s) without confirmation", "pass --yes"
            )
        short = _short_map(db.indexed_ids())
        for task_id, one in readable.items():
            title = one.title if one is not None else "(unreadable record)"
            running = " (running: --force stops it)" if task_id in to_stop else ""
            output.info(f"  {short.get(task_id, task_id[:8])}  {title}{running}")
        if not prompts.confirm(f"Delete {len(ids)} task(s)?", default=False):
            raise UsageError("nothing deleted")
    config = load_config(db.repo)
    remote = remote_of(config)
    for task_id in to_stop:
        stopped = stop_task(db, task_id, publish=False)
        if not as_json:
            output.info(stopped.describe().split("; run it again")[0])
    db.refresh()
    left = []
    for task_id in ids:
        now = _readable(db, task_id)
        left.append(
            deletion.leftovers_of(db, now, remote) if now else deletion.Leftovers(task_id)
        )
    deleted = delete_tasks(db, ids)
    for found in left:
        if branches:
            deletion.remove_branches(db, found, remote)
        if close_pr:
            deletion.close_pull(db, found, config)
    if branches and any(f.removed for f in left):
        after_change(db, config)
    if as_json:
        output.print_json(
            [
                {"id": t.id, "title": t.title, **f.to_json()}
                for t, f in zip(deleted, left, strict=True)
            ]
        )
        return
    for task, found in zip(deleted, left, strict=True):
        output.info(f"deleted task {task.id[:8]}: {task.title}")
        for item in found.removed:
            output.info(f"  removed {item}")
        for item in found.kept:
            output.info(f"  kept {item}")
        items = found.items()
        if items:
            offers = []
            if found.local_branch or found.remote_branch:
                offers.append("--branches")
            if found.open_pull:
                offers.append("--close-pr")
            hint = f" (delete with {' / '.join(offers)} removes them)" if offers else ""
            output.info(f"  left behind: {', '.join(items)}{hint}")


def _readable(db: TaskDatabase, task_id: str) -> TaskMetadata | None:
    from gittask.errors import CorruptRecordError

    try:
        return db.task(task_id)
    except CorruptRecordError:
        return None  # deleting it is how it goes away


@app.command("stop")
def stop(
    task_id: Annotated[str, typer.Argument(metavar="ID", help="Task id or unique prefix.")],
    as_json: JsonOpt = False,
) -> None:
    """Stop a running task (its container and worktree), from any terminal on this machine.

    The work done so far stays on the local branch; the task is recorded as
    stopped (a failed run) and 'task start ID' runs it again.
    """
    from gittask.workflow.stop import stop_task

    db = _db()
    db.refresh()
    result = stop_task(db, db.resolve(task_id))
    if as_json:
        output.print_json(
            {
                "id": result.task.id,
                "run": result.run,
                "pid": result.pid,
                "status": result.task.status.value,
                "error_message": result.task.error_message,
            }
        )
        return
    output.info(result.describe())


# "-x" is a label to remove, not an option
@app.command("label", context_settings={"ignore_unknown_options": True})
def label_task(
    task_id: Annotated[str, typer.Argument(metavar="ID", help="Task id or unique prefix.")],
    changes: Annotated[
        list[str] | None,
        typer.Argument(metavar="[+LABEL|-LABEL]...", help="+x (or x) adds x, -x removes it."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add or remove labels (task label ID +bug -wip); with none, print them."""
    from gittask.workflow.records import change_labels

    db = _db()
    db.refresh()
    task = db.get(task_id)
    add = [c[1:] if c.startswith("+") else c for c in changes or [] if not c.startswith("-")]
    remove = [c[1:] for c in changes or [] if c.startswith("-")]
    if add or remove:
        task = change_labels(db, task.id, add, remove)
    labels = [str(x) for x in task.extra.get("labels") or []]
    if as_json:
        output.print_json({"id": task.id, "labels": labels})
        return
    typer.echo(" ".join(labels) if labels else "(no labels)")


def _register_more() -> None:
    """The review commands and the aliases people type (gh, docker): ls, rm, view."""
    from gittask.cli import review

    review.register(app)
    app.command("ls", hidden=True, help="Alias of 'list'.")(list_tasks)
    app.command("rm", hidden=True, help="Alias of 'delete'.")(delete)
    app.command("view", hidden=True, help="Alias of 'show'.")(show)


_register_more()
