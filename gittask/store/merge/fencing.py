"""A worker's lease fences out writes made under an older one, whatever their time.

Each claim of a task by a worker takes the next ``lease`` number
(:mod:`gittask.workflow.worker.lease`). When the two sides of a merge hold
different lease numbers, the run's state (status, run, result, lease) comes
from the side with the higher number, not from the later commit: a worker that
lost its lease (it was cut off, or paused, while another took the task over)
and writes its result afterwards never overwrites the new owner's run, on any
clone that merges the two. Other fields (description, labels, pull request,
totals) merge as usual.
"""

from __future__ import annotations

from collections.abc import Mapping

from gittask.store import yamlio
from gittask.store.merge.values import OURS, THEIRS

FENCE_KEY = "lease"

#: what a run owns: taken whole from the side with the newer lease
FENCED_FIELDS = frozenset(
    {
        "status",
        "started_at",
        "completed_at",
        "last_continued_at",
        "agent",
        "container_id",
        "claimed_by",
        "commit_hash",
        "commits",
        "session_id",
        "run_count",
        "error_message",
        "publish_error",
        "worker",
        "lease",
        "lease_expires",
        "attempts",
    }
)


def lease_number(chunk: str | None) -> int:
    """The lease number a ``lease: N`` chunk holds (0: none, or unreadable)."""
    if chunk is None:
        return 0
    try:
        loaded = yamlio.load(chunk)
    except ValueError:
        return 0
    value = loaded.get(FENCE_KEY) if isinstance(loaded, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def fence_winner(ours: Mapping[str, str], theirs: Mapping[str, str]) -> int | None:
    """The side whose lease is newer (OURS or THEIRS), or None when both hold the same."""
    mine, other = lease_number(ours.get(FENCE_KEY)), lease_number(theirs.get(FENCE_KEY))
    if mine == other:
        return None
    return OURS if mine > other else THEIRS
