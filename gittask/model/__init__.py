"""The domain model: tasks, their feedback and their status. No I/O here.

The names below load on first use, so that a command needing only a small part
(``task list`` needs :mod:`gittask.model.ids`) does not pay for the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gittask.model.feedback import FeedbackEntry, FeedbackType
    from gittask.model.status import TaskStatus
    from gittask.model.task import TaskMetadata

__all__ = ["FeedbackEntry", "FeedbackType", "TaskMetadata", "TaskStatus"]

_WHERE = {
    "FeedbackEntry": "gittask.model.feedback",
    "FeedbackType": "gittask.model.feedback",
    "TaskStatus": "gittask.model.status",
    "TaskMetadata": "gittask.model.task",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gittask.model' has no attribute {name!r}")
