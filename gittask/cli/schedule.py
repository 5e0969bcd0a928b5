"""``claude-container task schedule ...``: schedules that make tasks on a cron (in git).

``task schedule NAME --cron EXPR`` is ``task schedule create NAME --cron EXPR``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from gittask.cli import output
from gittask.cli.shared import JsonOpt, open_db

if TYPE_CHECKING:
    from gittask.model.schedule import Schedule


class _CreateByDefault(TyperGroup):
    """``task schedule NAME ...`` (not a subcommand's name) means ``create NAME ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        parsed: list[str] = super().parse_args(ctx, args)
        return parsed


app = typer.Typer(
    cls=_CreateByDefault,
    help="Schedules that make and start a task at each cron slot, exactly once across "
    "clones ('claude-container scheduler' fires them).",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

WhichArg = Annotated[str, typer.Argument(metavar="NAME|ID", help="The schedule's name or id.")]


def _json(schedule: Schedule, upcoming: int = 3) -> dict[str, Any]:
    from gittask.model.cron import next_slots, zone
    from gittask.model.schedule import slot_key
    from gittask.workflow.schedules.records import current_time

    data = schedule.to_dict()
    later = next_slots(schedule.cron, zone(schedule.tz), current_time(), upcoming)
    data["next"] = [] if schedule.paused else [slot_key(s) for s in later]
    return data


def _local(key: str, tz: str) -> str:
    from datetime import datetime

    from gittask.model.cron import zone

    when = datetime.fromisoformat(key.replace("Z", "+00:00")).astimezone(zone(tz))
    return when.strftime("%Y-%m-%d %H:%M %Z")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The schedule's name.")],
    cron: Annotated[str, typer.Option("--cron", help="Five-field cron: '0 0 * * 0'.")],
    template: Annotated[
        str | None, typer.Option("--template", "-t", help="Each slot's task fills this template.")
    ] = None,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="NAME=VALUE for the template.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Each slot's task has this description.")
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="The description, inline (else NAME).")
    ] = None,
    tz: Annotated[str, typer.Option("--tz", help="Time zone of the cron: Europe/Paris.")] = "UTC",
    overlap: Annotated[
        str, typer.Option("--overlap", help="skip: no slot fires while the last run runs; allow.")
    ] = "skip",
    catch_up: Annotated[
        str, typer.Option("--catch-up", help="none: missed slots never fire; latest: the newest.")
    ] = "none",
    deadline: Annotated[
        str, typer.Option("--deadline", help="How late a slot may still start: 15m, 1h.")
    ] = "15m",
    as_json: JsonOpt = False,
) -> None:
    """Store a schedule (the task from --template, --file, -m, else the name)."""
    from gittask.config import load_config
    from gittask.errors import UsageError
    from gittask.workflow.inputs import read_text
    from gittask.workflow.schedules.records import ScheduleInput, create_schedule, current_time
    from gittask.workflow.templates import parse_vars

    db = open_db()
    if sum(x is not None for x in (template, file, message)) > 1:
        raise UsageError("give the task with one of --template, --file and --message")
    if var and template is None:
        raise UsageError("--var goes with --template")
    text = None
    if template is None:
        limit = load_config(db.repo).description_max_bytes
        text = read_text("the description", file, limit) if file else (message or name)
    given = ScheduleInput(
        name, cron, tz, template, parse_vars(var or []), text, overlap, catch_up, deadline
    )
    made = create_schedule(db, given, now=current_time())
    data = _json(made)
    if as_json:
        output.print_json(data)
        return
    upcoming = ", ".join(_local(k, made.tz) for k in data["next"][:1]) or "never"
    output.info(f"stored schedule {made.name} ({made.id[:8]}); next: {upcoming}")
    typer.echo(made.id)


@app.command("list")
def list_command(as_json: JsonOpt = False) -> None:
    """The schedules with their next fire times."""
    from gittask.errors import CorruptRecordError
    from gittask.workflow.schedules.records import list_schedules

    db = open_db(reading=True)
    db.refresh()
    found = list_schedules(db)
    good = [s for s in found if not isinstance(s, CorruptRecordError)]
    for bad in found:
        if isinstance(bad, CorruptRecordError):
            output.info(f"warning: {bad.message}")
    if as_json:
        output.print_json([_json(s) for s in good])
        return
    if not good:
        output.info("no schedules ('task schedule NAME --cron EXPR' makes one)")
        return
    rows = []
    for schedule in good:
        data = _json(schedule, 1)
        upcoming = "paused" if schedule.paused else _local(data["next"][0], schedule.tz)
        what = f"template {schedule.template}" if schedule.template else "text"
        rows.append([schedule.id[:8], schedule.name, schedule.cron, schedule.tz, upcoming, what])
    output.table(["ID", "NAME", "CRON", "TZ", "NEXT", "TASK"], rows)


@app.command("show")
def show(which: WhichArg, as_json: JsonOpt = False) -> None:
    """One schedule: its settings and next fire times."""
    from gittask.display import escape
    from gittask.workflow.schedules.records import find_schedule

    schedule = find_schedule(open_db(reading=True), which)
    data = _json(schedule, 5)
    if as_json:
        output.print_json(data)
        return
    keys = ["id", "name", "cron", "tz", "template", "variables", "overlap", "catch_up"]
    keys += ["deadline", "paused", "author", "created_at", "resumed_at", "skipped"]
    lines = [f"{k + ':':<12} {escape(str(data[k]))}" for k in keys if data.get(k) not in (None, {})]
    lines += ["next:", *(f"  {_local(k, schedule.tz)}  ({k})" for k in data["next"])]
    if schedule.description:
        lines += ["description:", *("  " + escape(x) for x in schedule.description.splitlines())]
    typer.echo("\n".join(lines))


def _change(which: str, action: str, as_json: bool) -> None:
    from gittask.workflow.schedules import records

    db = open_db()
    schedule = records.find_schedule(db, which)
    if action == "pause":
        made = records.pause(db, schedule)
    elif action == "resume":
        made = records.resume(db, schedule, records.current_time())
    else:
        made = records.delete(db, schedule)
    if as_json:
        output.print_json(made.to_dict())
        return
    output.info(f"{action}d schedule {made.name} ({made.id[:8]})".replace("eed", "ed"))


@app.command("pause")
def pause(which: WhichArg, as_json: JsonOpt = False) -> None:
    """Stop firing (every clone) until resumed."""
    _change(which, "pause", as_json)


@app.command("resume")
def resume(which: WhichArg, as_json: JsonOpt = False) -> None:
    """Fire again from now on (slots missed while paused do not fire)."""
    _change(which, "resume", as_json)


@app.command("delete")
def delete(which: WhichArg, as_json: JsonOpt = False) -> None:
    """Delete a schedule (its record stays as a tombstone; its tasks stay)."""
    _change(which, "delete", as_json)
