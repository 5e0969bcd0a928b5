"""The local index: a rebuildable SQLite cache of the data ref, so that list and
search stay fast (``.git/claude-tasks/index.sqlite``; see :mod:`.taskindex`).

- :mod:`.taskindex`: :class:`TaskIndex`: open, read, check itself, refresh;
- :mod:`.schema`: the tables, the row, what SQLite's errors mean;
- :mod:`.rows`: a task record as a row;
- :mod:`.parse`: reading the changed folders' records (in parallel when many).
"""

from __future__ import annotations

from gittask.store.index.schema import (
    SCHEMA_VERSION,
    IndexRow,
    IndexUnwritableError,
    is_damaged,
)
from gittask.store.index.taskindex import MEMORY, RefreshResult, TaskIndex

__all__ = [
    "MEMORY",
    "SCHEMA_VERSION",
    "IndexRow",
    "IndexUnwritableError",
    "RefreshResult",
    "TaskIndex",
    "is_damaged",
]
