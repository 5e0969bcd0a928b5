"""``task show``: one task, as text or JSON (its pull request's state refreshed first).

The text is made by :mod:`gittask.cli.showtext`, which the fast path
(:mod:`gittask.cli.fast.showing`) shares."""

from __future__ import annotations

from typing import Annotated

import typer

from gittask.cli import output
from gittask.cli.pr import refresh_pull_states
from gittask.cli.shared import IdArg, JsonOpt, open_db, short_map


def show(
    task_id: IdArg,
    feedback_history: Annotated[
        bool, typer.Option("--feedback-history", help="Show every feedback entry.")
    ] = False,
    web: Annotated[
        bool, typer.Option("--web", "-w", help="Open its pull request in the browser.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show one task."""
    db = open_db(reading=True)
    db.refresh()
    task = db.get(task_id)
    if web:
        from gittask.cli.review import open_url

        typer.echo(open_url(task))
        return
    if task.pr_number:
        task = refresh_pull_states([task.id], quiet=as_json, db=db).get(task.id, task)
    from gittask.cli.outcome import task_json
    from gittask.cli.showtext import dependency_fields, render

    record = task_json(task)
    # waiting or blocked, and why
    record.update(dependency_fields(record, db.indexed_record, set(db.indexed_ids())))
    short = short_map(db.indexed_ids()).get(task.id, task.id[:8])
    record["short_id"] = short
    if as_json:
        output.print_json(record)
        return
    typer.echo(render(record, short, feedback_history))
