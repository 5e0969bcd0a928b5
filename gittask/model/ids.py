"""Short ids: the shortest unique prefix, at least 8 hex digits (as git shows commits)."""

from __future__ import annotations

#: ids are shown by at least this many hex digits
SHORT_ID_MIN = 8


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def short_ids(ids: list[str], minimum: int = SHORT_ID_MIN) -> dict[str, str]:
    ordered = sorted(ids)
    need = [minimum] * len(ordered)
    for i in range(1, len(ordered)):
        a, b = ordered[i - 1], ordered[i]
        if a[:minimum] == b[:minimum]:  # rare: only then compare further
            length = _common_prefix(a, b) + 1
            need[i - 1] = max(need[i - 1], length)
            need[i] = max(need[i], length)
    return {task_id: task_id[:n] for task_id, n in zip(ordered, need, strict=True)}


def longer_short_ids(ids: list[str], minimum: int = SHORT_ID_MIN) -> dict[str, str]:
    """The short ids (:func:`short_ids`) longer than ``minimum`` digits; every other id
    shows its first ``minimum`` (usually all of them: one set of prefixes tells)."""
    if len({task_id[:minimum] for task_id in ids}) == len(ids):
        return {}
    return {k: v for k, v in short_ids(ids, minimum).items() if len(v) > minimum}
