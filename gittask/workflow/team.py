"""``task sync``, ``pull`` and ``push``: exchange task state with the remote (the CLI's entry)."""

from __future__ import annotations

from gittask.store.sync import SyncResult, pull, push_tasks, sync

__all__ = ["SyncResult", "pull", "push_tasks", "sync"]
