"""Reading one folder of shared records (templates, schedules) from the task ref."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from gittask.errors import CorruptRecordError

if TYPE_CHECKING:
    from gittask.store.database import TaskDatabase


class _Deletable(Protocol):
    @property
    def deleted(self) -> object: ...


R = TypeVar("R", bound=_Deletable)


def live_records(
    db: TaskDatabase, folder: str, parse: Callable[[dict[str, Any]], R]
) -> list[R | CorruptRecordError]:
    """Every record of ``folder`` not deleted (tombstones skipped), an unreadable one
    as its error, in the order the store lists them."""
    found: list[R | CorruptRecordError] = []
    for item in db.records(folder):
        if isinstance(item, CorruptRecordError):
            found.append(item)
            continue
        try:
            record = parse(item.data)
        except ValueError as exc:
            found.append(CorruptRecordError(item.path, str(exc)))
            continue
        if not record.deleted:
            found.append(record)
    return found
