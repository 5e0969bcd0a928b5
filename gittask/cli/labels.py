"""``task label``: add or remove a task's labels, or print them."""

from __future__ import annotations

from typing import Annotated

import typer

from gittask.cli import output
from gittask.cli.shared import IdArg, JsonOpt, open_db


def label_task(
    task_id: IdArg,
    changes: Annotated[
        list[str] | None,
        typer.Argument(metavar="[+LABEL|-LABEL]...", help="+x (or x) adds x, -x removes it."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add or remove labels (task label ID +bug -wip); with none, print them."""
    from gittask.workflow.records import change_labels

    db = open_db()
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
