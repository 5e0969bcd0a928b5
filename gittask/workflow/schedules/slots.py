"""Which slot of a schedule is due, and the task it makes (the same on every clone).

At each tick only the latest slot at or before now is considered: it fires
unless it fired already (its task exists, or was deleted), it is older than
the schedule (or its last resume), or:

- it is later than its deadline (``--deadline``, 15m by default) and the
  catch-up policy is ``none``: a missed slot never fires. With ``latest``, the
  newest missed slot fires once when the scheduler comes back; older ones never;
- ``--overlap skip`` and the previous run of the schedule is still going (or
  claimed and about to start): the slot is skipped for good, and the schedule
  records so (``skipped``) for every clone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.model.cron import latest_slot, wall, zone
from gittask.model.schedule import Schedule, slot_key, slot_task_id
from gittask.store.database import TaskDatabase
from gittask.workflow.branches import check_branch_name, suggest_branch
from gittask.workflow.schedules.records import BUILTINS

#: how many earlier slots are searched for the schedule's previous run
PREVIOUS_LOOKBACK = 50

FIRE, SKIP, MISSED, NOTHING = "fire", "skip", "missed", "nothing"


@dataclass(frozen=True)
class Decision:
    action: str  # FIRE, SKIP, MISSED, NOTHING
    slot: datetime | None = None
    reason: str = ""
    late: bool = False


def fired(db: TaskDatabase, schedule: Schedule, slot: datetime) -> bool:
    task_id = slot_task_id(schedule.id, slot)
    return db.exists(task_id) or db.was_deleted(task_id)


def _previous_run(db: TaskDatabase, schedule: Schedule, slot: datetime) -> TaskMetadata | None:
    tz = zone(schedule.tz)
    before = slot
    for _ in range(PREVIOUS_LOOKBACK):
        earlier = latest_slot(schedule.cron, tz, before - timedelta(seconds=1))
        if earlier is None or earlier < schedule.created_at:
            return None
        task_id = slot_task_id(schedule.id, earlier)
        if db.exists(task_id):
            try:
                return db.task(task_id)
            except GittaskError:
                return None
        before = earlier
    return None


def busy(db: TaskDatabase, schedule: Schedule, slot: datetime) -> str | None:
    """Why the schedule's previous run still holds the slot, or None."""
    previous = _previous_run(db, schedule, slot)
    if previous is None:
        return None
    if previous.status is TaskStatus.RUNNING:
        return f"its previous run {previous.id[:8]} is still running"
    if previous.status is TaskStatus.PENDING and previous.run_count == 0:
        claimed = previous.created_at  # the previous slot's time
        if slot - claimed <= schedule.deadline_delta:
            return f"its previous run {previous.id[:8]} is about to start"
    return None


def decide(db: TaskDatabase, schedule: Schedule, now: datetime) -> Decision:
    if schedule.paused or schedule.deleted:
        return Decision(NOTHING)
    slot = latest_slot(schedule.cron, zone(schedule.tz), now)
    if slot is None or slot < schedule.since or fired(db, schedule, slot):
        return Decision(NOTHING, slot)
    if schedule.skipped is not None and slot_key(slot) <= schedule.skipped:
        return Decision(NOTHING, slot)
    late = now - slot > schedule.deadline_delta
    if late and schedule.catch_up == "none":
        return Decision(MISSED, slot, "past its deadline (catch-up none)")
    if schedule.overlap == "skip":
        why = busy(db, schedule, slot)
        if why is not None:
            return Decision(SKIP, slot, why)
    return Decision(FIRE, slot, "late (catch-up latest)" if late else "", late)


def slot_task(db: TaskDatabase, schedule: Schedule, slot: datetime) -> TaskMetadata:
    """The slot's task, the same on every clone (id, text, branch, time, author)."""
    from gittask.workflow.templates import get_template, provenance, render

    local = wall(slot, zone(schedule.tz))
    builtins = {"slot": local.strftime("%Y-%m-%d-%H%M"), "date": local.strftime("%Y-%m-%d")}
    task_id = slot_task_id(schedule.id, slot)
    extra: dict[str, object] = {"schedule": schedule.id, "slot": slot_key(slot)}
    template_name, branch, base, labels = None, None, None, []
    if schedule.template is not None:
        template, blob = get_template(db, schedule.template)
        made = render(template, blob, {**builtins, **schedule.variables})
        description = made.description
        if made.branch:
            uses_slot = any(f"{{{b}}}" in (template.branch or "") for b in BUILTINS)
            branch = made.branch if uses_slot else f"{made.branch}-{builtins['slot']}"
            branch = check_branch_name(branch)
        template_name, base, labels = template.name, template.base, template.labels
        made.values = {k: v for k, v in made.values.items() if k not in BUILTINS}
        extra.update(provenance(made))
    else:
        description = schedule.description or ""
    if labels:
        extra["labels"] = list(labels)
    return TaskMetadata(
        id=task_id,
        description=description.strip() + "\n",
        status=TaskStatus.PENDING,
        branch_name=branch or suggest_branch(description, task_id),
        base_branch=base,
        created_at=slot,
        author=schedule.author,
        template=template_name,
        extra=extra,
    )
