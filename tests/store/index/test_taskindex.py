"""``task search`` breaks ties newest first, like ``task list`` and ``task history``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gittask.model import TaskMetadata
from gittask.model.task import new_task_id
from gittask.store.database import TaskDatabase


def test_equal_scores_come_newest_first(repo: Path) -> None:
    db = TaskDatabase.open(repo)
    made = []
    for day in (1, 3, 2):  # stored out of date order
        tid = new_task_id()
        task = TaskMetadata(
            id=tid,
            description=f"Tidy the cache (day {day})",
            branch_name=f"b-{tid[:8]}",
            created_at=datetime(2024, 5, day, tzinfo=UTC),
        )
        made.append(db.create(task))
    best = db.create(
        TaskMetadata(id=new_task_id(), description="cache cache cache", branch_name="best")
    )
    newest_first = sorted(made, key=lambda t: t.created_at, reverse=True)
    hits = [row.id for row, _score in db.index.search("cache")]
    assert hits == [best.id, *(t.id for t in newest_first)]
    listed = [row.id for row in db.rows() if row.id != best.id]
    assert listed == [t.id for t in newest_first]  # the same order as the list
