"""``task deps ID [--add ID] [--remove ID]`` and ``task list --tree``: the dependency graph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from gittask.cli import output
from gittask.cli.completion import task_ids
from gittask.cli.shared import JsonOpt, open_db

if TYPE_CHECKING:
    from gittask.workflow.database import TaskDatabase


def _words(db: TaskDatabase) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Task id -> (status word, title, record) as ``task list`` shows them."""
    from gittask.cli.listing import Filters, row_outcome, select

    rows = db.rows()
    return {
        row.id: (row_outcome(row, record), row.title or "", record)
        for row, record in select(rows, Filters(), db.indexed_record)
    }


def print_tree(as_json: bool) -> None:
    """``task list --tree``: each dependency above the tasks that depend on it."""
    from gittask.display import escape
    from gittask.model.ids import short_ids
    from gittask.workflow.deps import tree

    db = open_db(reading=True)
    lines = tree(db)
    words = _words(db)
    short = short_ids(list(words))
    if as_json:
        output.print_json(
            [
                {"depth": d, "id": t, "outcome": words[t][0], "repeat": again, "title": words[t][1]}
                for d, t, again in lines
            ]
        )
        return
    if not lines:
        output.info("no tasks")
        return
    for depth, task_id, again in lines:
        word, title, record = words[task_id]
        reason = (record.get("dependency") or {}).get("reason")
        tail = (
            " (shown above)" if again else (f"  [{reason}]" if reason and word != "pending" else "")
        )
        typer.echo(f"{'  ' * depth}{short[task_id]}  {word:<16} {escape(title)}{tail}")


def register(app: typer.Typer) -> None:
    app.command("deps")(deps)


def deps(
    task_id: Annotated[
        str,
        typer.Argument(metavar="ID", help="Task id, prefix or PR URL.", autocompletion=task_ids),
    ],
    add: Annotated[
        list[str] | None,
        typer.Option("--add", help="Make it depend on this task too.", autocompletion=task_ids),
    ] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option("--remove", help="Drop this dependency.", autocompletion=task_ids),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A task's dependencies and dependents, and why it waits (--add/--remove change them).

    A dependency that would close a cycle is refused.
    """
    from gittask.display import escape
    from gittask.workflow.deps import change_dependencies, neighbours, resolve_dependencies
    from gittask.workflow.lookup import resolve_task

    db = open_db(reading=not (add or remove))
    db.refresh()
    resolved = resolve_task(db, task_id)
    if add or remove:
        change_dependencies(
            db,
            resolved,
            resolve_dependencies(db, add or []),
            resolve_dependencies(db, remove or []),
        )
    up, down = neighbours(db, resolved)
    words = _words(db)
    word, title, record = words[resolved]
    state = record.get("dependency") or {}
    if as_json:
        output.print_json(
            {
                "id": resolved,
                "outcome": word,
                "dependency": state or None,
                "depends_on": [{"id": t, "outcome": words.get(t, ("deleted",))[0]} for t in up],
                "dependents": [{"id": t, "outcome": words[t][0]} for t in down],
            }
        )
        return
    lines = [f"{resolved[:8]}  {word}  {escape(title)}"]
    if state.get("reason") and state.get("state") != "ready":
        lines.append(f"  {state['reason']}")
    for label, ids in (("depends on", up), ("needed by", down)):
        for other in ids:
            other_word, other_title, _ = words.get(other, ("deleted", "", {}))
            lines.append(f"  {label}: {other[:8]}  {other_word}  {escape(other_title)}")
    if not up and not down:
        lines.append("  no dependencies")
    typer.echo("\n".join(lines))
