"""Schedules as records on the data ref: ``schedules/<id>.yaml``, merged key by key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gittask.config import load_config
from gittask.errors import CorruptRecordError, GittaskError, UsageError
from gittask.model.clock import utcnow
from gittask.model.cron import check_expression, zone
from gittask.model.schedule import CATCH_UP, NAME, OVERLAP, Schedule, parse_duration
from gittask.store import layout
from gittask.store.database import TaskDatabase
from gittask.store.records import record_message
from gittask.workflow.live_records import live_records
from gittask.workflow.publish import after_change

#: variables every schedule gives its template: the slot's local time and date
BUILTINS = ("slot", "date")
#: the scheduler's clock for tests: an ISO time (``2024-03-31T01:05:00Z``) used as now
CLOCK_ENV = "GITTASK_NOW"


def current_time() -> datetime:
    """Now: ``$GITTASK_NOW`` when set (tests inject the clock so), else the real time."""
    import os

    from gittask.model.clock import parse_ts

    text = os.environ.get(CLOCK_ENV)
    if text:
        try:
            when = parse_ts(text)
        except ValueError:
            raise UsageError(f"{CLOCK_ENV}={text!r} is not an ISO time") from None
        if when is not None:
            return when
    return utcnow()


@dataclass(frozen=True)
class ScheduleInput:
    name: str
    cron: str
    tz: str = "UTC"
    template: str | None = None
    variables: dict[str, str] | None = None
    description: str | None = None
    overlap: str = "skip"
    catch_up: str = "none"
    deadline: str = "15m"


def _checked(db: TaskDatabase, given: ScheduleInput) -> Schedule:
    """The new schedule, every field checked; UsageError and nothing written otherwise."""
    from gittask.workflow.inputs import check_text
    from gittask.workflow.templates import get_template, render

    name = given.name.strip()
    if not NAME.fullmatch(name):
        raise UsageError(
            f"bad schedule name {given.name!r}",
            "1 to 64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit",
        )
    try:
        cron = check_expression(given.cron)
        zone(given.tz)
        deadline = parse_duration(given.deadline)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if given.overlap not in OVERLAP or given.catch_up not in CATCH_UP:
        raise UsageError("--overlap is skip or allow; --catch-up is none or latest")
    if (given.template is None) == (given.description is None):
        raise UsageError("give the task with --template NAME or --file F (one of them)")
    values = dict(given.variables or {})
    description = None
    if given.template is not None:
        template, blob = get_template(db, given.template)
        made = render(template, blob, {**{b: b for b in BUILTINS}, **values})
        unused = [n for n in made.unused if n not in BUILTINS]
        if unused:
            raise UsageError(f"template '{template.name}' has no {{{unused[0]}}}")
    else:
        limit = load_config(db.repo).description_max_bytes
        description = check_text("the description", given.description or "", limit).strip()
        if not description:
            raise UsageError("the description is empty; nothing was stored")
        description += "\n"
    return Schedule(
        id=uuid.uuid4().hex[:16],
        name=name,
        cron=cron,
        tz=given.tz,
        template=given.template,
        variables=values,
        description=description,
        overlap=given.overlap,
        catch_up=given.catch_up,
        deadline=deadline,
        author=db.repo.author_string(),
    )


def create_schedule(
    db: TaskDatabase, given: ScheduleInput, now: datetime | None = None
) -> Schedule:
    """Store a new schedule (its name must not be taken); slots after ``now`` fire."""
    db.refresh()
    schedule = _checked(db, given)
    schedule.created_at = now or utcnow()
    taken = [s for s in list_schedules(db) if isinstance(s, Schedule) and s.name == schedule.name]
    if taken:
        raise UsageError(f"a schedule called '{schedule.name}' exists ({taken[0].id[:8]})")
    path = layout.schedule_path(schedule.id)

    def change(old: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
        if old is not None:
            raise GittaskError(f"schedule {schedule.id} exists already")
        return schedule.to_dict(), record_message(
            "schedule-create", path, f"schedule {schedule.name}"
        )

    db.write_record(path, change)
    after_change(db)
    return schedule


def list_schedules(db: TaskDatabase) -> list[Schedule | CorruptRecordError]:
    """Every schedule not deleted (an unreadable one as its error), by name."""
    found = live_records(db, layout.SCHEDULES_DIR, Schedule.from_dict)
    return sorted(found, key=lambda s: s.name if isinstance(s, Schedule) else "")


def find_schedule(db: TaskDatabase, text: str) -> Schedule:
    """The schedule called ``text``, or whose id starts with it."""
    db.refresh()
    live = [s for s in list_schedules(db) if isinstance(s, Schedule)]
    named = [s for s in live if s.name == text.strip()]
    found = named or [s for s in live if text and s.id.startswith(text.strip().lower())]
    if not found:
        raise GittaskError(f"no schedule matches '{text}'", "see 'task schedule list'")
    if len(found) > 1:
        ids = ", ".join(s.id[:8] for s in found)
        raise UsageError(f"'{text}' matches {len(found)} schedules ({ids})", "give its id")
    return found[0]


def update_schedule(
    db: TaskDatabase, schedule: Schedule, verb: str, edit: Any, publish: bool = True
) -> Schedule:
    """Change a schedule (``edit`` changes a Schedule in place; one commit)."""
    path = layout.schedule_path(schedule.id)
    made: list[Schedule] = []

    def change(old: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
        if old is None:
            raise GittaskError(f"schedule {schedule.id[:8]} is gone")
        current = Schedule.from_dict(old)
        if current.deleted:
            raise GittaskError(f"schedule '{current.name}' was deleted")
        edit(current)
        made[:] = [current]
        return current.to_dict(), record_message(verb, path, f"schedule {current.name}")

    db.write_record(path, change)
    if publish:
        after_change(db)
    return made[0]


def pause(db: TaskDatabase, schedule: Schedule) -> Schedule:
    def edit(s: Schedule) -> None:
        s.paused = True

    return update_schedule(db, schedule, "schedule-pause", edit)


def resume(db: TaskDatabase, schedule: Schedule, now: datetime | None = None) -> Schedule:
    """Resume: slots after now fire (those missed while paused do not)."""

    def edit(s: Schedule) -> None:
        s.paused = False
        s.resumed_at = now or utcnow()

    return update_schedule(db, schedule, "schedule-resume", edit)


def delete(db: TaskDatabase, schedule: Schedule) -> Schedule:
    """Delete: its record stays as a tombstone (deleted_at, deleted_by); its tasks stay."""

    def edit(s: Schedule) -> None:
        s.deleted_at = utcnow()
        s.deleted_by = db.repo.author_string()

    return update_schedule(db, schedule, "schedule-delete", edit)
