"""``claude-container scheduler [--once]``: fire due schedule slots, start ready tasks."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output

if TYPE_CHECKING:
    from gittask.workflow.database import TaskDatabase
    from gittask.workflow.schedules.tick import TickReport


def register(app: typer.Typer) -> None:
    app.command("scheduler")(scheduler)


def _start(db: TaskDatabase, task_id: str) -> None:
    """A slot's or a ready task's run, in a background process of its own."""
    from gittask.workflow.detach import start_detached

    start_detached(db, task_id, "create", None)


def _say(report: TickReport) -> None:
    if report.offline:
        output.info(f"{report.now:%Y-%m-%d %H:%M:%S}Z: offline, nothing fired ({report.offline})")
    for event in report.events:
        where = " ".join(
            f"{k} {v[:8] if k == 'task' else v}"
            for k, v in event.items()
            if k not in ("event", "reason") and v
        )
        reason = f": {event['reason']}" if event.get("reason") else ""
        output.info(f"{report.now:%Y-%m-%d %H:%M:%S}Z: {event['event']} {where}{reason}")


def scheduler(
    once: Annotated[
        bool, typer.Option("--once", help="One pass, then exit (for cron or a systemd timer).")
    ] = False,
    interval: Annotated[
        int, typer.Option("--interval", min=1, help="Seconds between passes (foreground).")
    ] = 60,
    as_json: Annotated[bool, typer.Option("--json", help="Each pass's events as JSON.")] = False,
) -> None:
    """Fire the schedules' due slots (each exactly once across clones) and start waiting
    tasks whose dependencies succeeded; runs go to the background. $GITTASK_NOW sets
    the clock (tests)."""
    from gittask.workflow.database import open_database
    from gittask.workflow.schedules.records import current_time
    from gittask.workflow.schedules.tick import tick

    db = open_database()
    while True:
        report = tick(db, current_time(), _start)
        if as_json:
            output.print_json(
                {"now": report.now.isoformat(), "offline": report.offline, "events": report.events}
            )
        else:
            _say(report)
        if once:
            return
        time.sleep(interval - (time.time() % interval) + 0.5)  # just after the minute
