"""Cron slots in a time zone, with the daylight-saving rules stated once.

The expression (five fields, as crontab has them) is parsed and stepped by
``cronsim`` on the wall clock of the schedule's zone; each wall time is then
turned into one instant with ``zoneinfo``:

- a wall time that does not exist (the hour skipped when clocks go forward)
  fires once, at the first valid time after it (02:30 on a night Paris goes from
  02:00 to 03:00 fires at 03:00; several skipped times fire once, at 03:00);
- a wall time that exists twice (the hour repeated when clocks go back) fires
  once, at its first occurrence (the repeated hour fires nothing again).

So every schedule fires at most once per wall time, and slots are in
increasing order of time. Instants are UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: wall times are looked at this far around an instant (DST moves clocks by at most 2 h)
_MARGIN = timedelta(hours=3)
#: at most this many wall times are stepped through for one question
MAX_STEPS = 200_000


def check_expression(expr: str) -> str:
    """A five-field cron expression (``0 0 * * 0``), normalised; ValueError with the reason."""
    from cronsim import CronSim, CronSimError

    text = " ".join(expr.split())
    if len(text.split()) != 5:
        raise ValueError("a cron expression has five fields: minute hour day month weekday")
    try:
        CronSim(text, datetime(2000, 1, 1))
    except CronSimError as exc:
        why = str(exc).lower() or "not a cron expression"
        raise ValueError(f"bad cron expression '{text}': {why}") from None
    return text


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name`` (``Europe/Paris``, ``UTC``); ValueError if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (a name such as Europe/Paris)") from None


def wall(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive wall-clock time of ``instant`` in ``tz``."""
    return instant.astimezone(tz).replace(tzinfo=None)


def to_instant(when: datetime, tz: ZoneInfo) -> datetime:
    """The instant a wall time fires at (see the module's rules)."""
    first = when.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if wall(first, tz) == when:
        return first  # it exists; fold=0 is its first occurrence
    other = when.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = sorted((first, other))
    # skipped: the first instant whose wall time is at or after it (the transition)
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while lo < hi:
        mid = (lo + hi) // 2
        if wall(datetime.fromtimestamp(mid, UTC), tz) >= when:
            hi = mid
        else:
            lo = mid + 1
    return datetime.fromtimestamp(lo, UTC)


def _walls(expr: str, start: datetime, reverse: bool = False) -> Iterator[datetime]:
    from cronsim import CronSim

    for step, item in enumerate(CronSim(expr, start, reverse=reverse)):
        if step >= MAX_STEPS:
            return
        yield item


def slots_after(expr: str, tz: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """The slots strictly after ``after``, in order, each once."""
    last: datetime | None = None
    for item in _walls(expr, wall(after, tz) - _MARGIN):
        instant = to_instant(item, tz)
        if instant <= after or instant == last:
            continue
        last = instant
        yield instant


def slots_between(
    expr: str, tz: ZoneInfo, after: datetime, until: datetime, limit: int = 10_000
) -> list[datetime]:
    """The slots in (after, until], at most ``limit``."""
    found: list[datetime] = []
    for instant in slots_after(expr, tz, after):
        if instant > until or len(found) >= limit:
            break
        found.append(instant)
    return found


def latest_slot(expr: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The last slot at or before ``now`` (None if there is none within MAX_STEPS)."""
    for item in _walls(expr, wall(now, tz) + _MARGIN + timedelta(seconds=1), reverse=True):
        instant = to_instant(item, tz)
        if instant <= now:
            return instant
    return None


def next_slots(expr: str, tz: ZoneInfo, after: datetime, count: int) -> list[datetime]:
    found: list[datetime] = []
    for instant in slots_after(expr, tz, after):
        if len(found) >= count:
            break
        found.append(instant)
    return found
