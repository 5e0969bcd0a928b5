"""A schedule: a cron expression in a time zone that makes a task at each slot.

Stored on the data ref as ``schedules/<id>.yaml``. Each slot's task has a
deterministic id (:func:`slot_task_id`: the schedule's id and the slot's UTC
time), so every clone that sees a slot come due makes the very same task; the
one whose push of it reaches the remote first runs it (see
:mod:`gittask.workflow.schedules`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gittask.model.clock import format_ts, parse_ts, utcnow

OVERLAP = ("skip", "allow")
CATCH_UP = ("none", "latest")
#: how late a slot may still start (``--deadline``)
DEFAULT_DEADLINE = 15 * 60
_DURATION = re.compile(r"\s*(\d+)\s*([smhd])\s*")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")


def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``1h``, ``2d`` in seconds; ValueError otherwise."""
    match = _DURATION.fullmatch(text.lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"bad duration {text!r} (write 90s, 15m, 1h or 2d)")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def format_duration(seconds: int) -> str:
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def slot_key(slot: datetime) -> str:
    """A slot's UTC time as it is named everywhere (``2024-03-31T01:00:00Z``)."""
    return format_ts(slot)[:19] + "Z"  # type: ignore[index]


def slot_task_id(schedule_id: str, slot: datetime) -> str:
    """The id of the task a slot makes: the same on every clone."""
    digest = hashlib.sha256(f"schedule {schedule_id} slot {slot_key(slot)}".encode())
    return digest.hexdigest()[:32]


@dataclass
class Schedule:
    id: str
    name: str
    cron: str
    tz: str = "UTC"
    template: str | None = None  # the task comes from this template ...
    variables: dict[str, str] = field(default_factory=dict)
    description: str | None = None  # ... or from this text (--file)
    overlap: str = "skip"
    catch_up: str = "none"
    deadline: int = DEFAULT_DEADLINE  # seconds
    paused: bool = False
    author: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    resumed_at: datetime | None = None
    skipped: str | None = None  # the last slot skipped because the previous run was busy
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def since(self) -> datetime:
        """Slots after this instant may fire (creation, or the last resume)."""
        return max(self.created_at, self.resumed_at or self.created_at)

    @property
    def deadline_delta(self) -> timedelta:
        return timedelta(seconds=self.deadline)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "cron": self.cron,
            "tz": self.tz,
            "template": self.template,
            "variables": dict(self.variables),
            "overlap": self.overlap,
            "catch_up": self.catch_up,
            "deadline": format_duration(self.deadline),
            "paused": self.paused,
            "author": self.author,
            "created_at": format_ts(self.created_at),
            "resumed_at": format_ts(self.resumed_at),
            "skipped": self.skipped,
            "deleted_at": format_ts(self.deleted_at),
            "deleted_by": self.deleted_by,
        }
        data.update({k: v for k, v in self.extra.items() if k not in data})
        data["description"] = self.description
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schedule:
        """Raises ValueError on a record that is not a schedule."""
        for key in ("id", "name", "cron"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise ValueError(f"the schedule has no {key}")
        variables = data.get("variables") or {}
        if not isinstance(variables, dict):
            raise ValueError("variables is not a mapping")
        overlap, catch_up = str(data.get("overlap") or "skip"), str(data.get("catch_up") or "none")
        if overlap not in OVERLAP or catch_up not in CATCH_UP:
            raise ValueError(f"bad overlap {overlap!r} or catch_up {catch_up!r}")
        known = set(cls.__dataclass_fields__) - {"extra", "variables", "deadline"}
        return cls(
            id=data["id"],
            name=data["name"],
            cron=data["cron"],
            tz=str(data.get("tz") or "UTC"),
            template=_text(data.get("template")),
            variables={str(k): str(v) for k, v in variables.items()},
            description=_text(data.get("description")),
            overlap=overlap,
            catch_up=catch_up,
            deadline=parse_duration(str(data.get("deadline") or "15m")),
            paused=data.get("paused") is True,
            author=_text(data.get("author")),
            created_at=parse_ts(data.get("created_at")) or utcnow(),
            resumed_at=parse_ts(data.get("resumed_at")),
            skipped=_text(data.get("skipped")),
            deleted_at=parse_ts(data.get("deleted_at")),
            deleted_by=_text(data.get("deleted_by")),
            extra={k: v for k, v in data.items() if k not in known | {"variables", "deadline"}},
        )


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
