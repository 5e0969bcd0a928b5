"""One pass of ``claude-container scheduler``: fire the due slots, start ready tasks.

1. With a remote, fetch and merge its task data first; a remote that does not
   answer means nothing fires here this time (an offline clone never fires).
2. Each schedule's due slot (:mod:`~gittask.workflow.schedules.slots`) is
   claimed (:mod:`~gittask.workflow.schedules.claim`); the winner starts it.
3. Waiting tasks whose dependencies all succeeded are started; the run's own
   claim (:mod:`gittask.workflow.claims`) makes one clone run each of them.

``now`` is given by the caller (the CLI reads ``GITTASK_NOW`` for tests);
``start`` starts a task's run (the CLI: a background process).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gittask.config import load_config, remote_of
from gittask.errors import CorruptRecordError, GittaskError
from gittask.model.schedule import Schedule, slot_key
from gittask.store import sync
from gittask.store.database import TaskDatabase
from gittask.workflow import deps
from gittask.workflow.schedules import claim, records, slots

Starter = Callable[[TaskDatabase, str], None]


@dataclass
class TickReport:
    now: datetime
    offline: str | None = None  # why nothing fired: the remote did not answer
    events: list[dict[str, str]] = field(default_factory=list)

    def add(self, kind: str, **details: str) -> None:
        self.events.append({"event": kind, **details})

    def of(self, kind: str) -> list[dict[str, str]]:
        return [e for e in self.events if e["event"] == kind]


def scheduler_remote(db: TaskDatabase) -> str | None:
    """The remote slots are claimed on (the project's), or None when there is none."""
    remote = remote_of(load_config(db.repo))
    return remote if sync.remote_exists(db.repo, remote) else None


def _refresh(db: TaskDatabase, remote: str | None, report: TickReport) -> bool:
    if remote is None:
        db.refresh()
        return True
    try:
        sync.fetch(db.repo, remote)
        sync.integrate(db.repo, remote)
        sync.merge_notes(db.repo, remote)
    except GittaskError as exc:
        report.offline = exc.message
        return False
    db.refresh()
    return True


def tick(db: TaskDatabase, now: datetime, start: Starter) -> TickReport:
    report = TickReport(now)
    remote = scheduler_remote(db)
    if not _refresh(db, remote, report):
        return report
    for schedule in records.list_schedules(db):
        if isinstance(schedule, CorruptRecordError):
            report.add("error", reason=schedule.message)
            continue
        try:
            _one(db, remote, schedule, now, start, report)
        except GittaskError as exc:
            report.add("error", schedule=schedule.name, reason=exc.message)
    for task in deps.ready_to_start(db):
        try:
            start(db, task.id)
            report.add("started", task=task.id, reason="its dependencies succeeded")
        except GittaskError as exc:
            report.add("error", task=task.id, reason=exc.message)
    return report


def _one(
    db: TaskDatabase,
    remote: str | None,
    schedule: Schedule,
    now: datetime,
    start: Starter,
    report: TickReport,
) -> None:
    decision = slots.decide(db, schedule, now)
    if decision.action == slots.NOTHING or decision.slot is None:
        return
    slot = slot_key(decision.slot)
    if decision.action == slots.MISSED:
        report.add("missed", schedule=schedule.name, slot=slot, reason=decision.reason)
        return
    if decision.action == slots.SKIP:

        def skipped(s: Schedule) -> None:
            s.skipped = max(s.skipped or "", slot)

        records.update_schedule(db, schedule, "schedule-skip", skipped)
        report.add("skipped", schedule=schedule.name, slot=slot, reason=decision.reason)
        return
    task = slots.slot_task(db, schedule, decision.slot)
    outcome = claim.claim_slot(db, remote, task)
    if outcome != claim.WON:
        report.add(outcome, schedule=schedule.name, slot=slot, task=task.id)
        return
    report.add("fired", schedule=schedule.name, slot=slot, task=task.id, reason=decision.reason)
    try:
        start(db, task.id)
    except GittaskError as exc:
        report.add("error", schedule=schedule.name, task=task.id, reason=exc.message)
