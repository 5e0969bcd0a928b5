"""What happened to tasks, newest first, read from the data ref's log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import pygit2

if TYPE_CHECKING:
    from gittask.store.taskstore import TaskStore


@dataclass(frozen=True)
class HistoryEntry:
    commit: str
    time: datetime
    author: str
    action: str
    task_id: str | None
    summary: str
    detail: str | None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "commit": self.commit,
            "time": self.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "author": self.author,
            "action": self.action,
            "task_id": self.task_id,
            "summary": self.summary,
            "detail": self.detail,
        }


def _trailers(message: str) -> dict[str, str]:
    found = {}
    for line in message.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key.startswith("Task-"):
            found[key] = value.strip()
    return found


def history(store: TaskStore, task_ids: set[str] | None = None) -> Iterator[HistoryEntry]:
    tip = store.tip()
    if tip is None:
        return
    yield from walk(store.git, tip, task_ids)


def recent(git_dir: Path, tip: str, limit: int) -> list[HistoryEntry]:
    """The newest ``limit`` entries from commit ``tip`` ("" : none) of the repository at
    ``git_dir``, without a :class:`TaskStore` (``task history`` on a current index)."""
    if not tip:
        return []
    return list(islice(walk(pygit2.Repository(str(git_dir)), pygit2.Oid(hex=tip)), limit))


def walk(
    git: pygit2.Repository, tip: pygit2.Oid, task_ids: set[str] | None = None
) -> Iterator[HistoryEntry]:
    # newest first, produced as it goes: libgit2's default order puts children
    # before parents without the whole-history pass a topological sort needs
    # (seconds at 100,000 tasks); TIME alone misorders commits of the same second
    for commit in git.walk(tip, pygit2.enums.SortMode.NONE):
        trailers = _trailers(commit.message)
        task_id = trailers.get("Task-Id")
        if task_ids is not None and task_id not in task_ids:
            continue
        lines = commit.message.strip().splitlines()
        body = [x for x in lines[1:] if x.strip() and not x.startswith("Task-") and x != lines[0]]
        action = trailers.get("Task-Action") or (
            "merge" if len(commit.parents) > 1 else lines[0].split(" ", 1)[0]
        )
        yield HistoryEntry(
            commit=str(commit.id),
            time=datetime.fromtimestamp(commit.commit_time, UTC),
            author=f"{commit.author.name} <{commit.author.email}>",
            action=action,
            task_id=task_id,
            summary=lines[0] if lines else "",
            detail=" ".join(body) or None,
        )
