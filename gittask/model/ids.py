"""Short ids: the shortest unique prefix, at least 8 hex digits (as git shows commits)."""

from __future__ import annotations

from gittask.model.task import SHORT_ID_MIN


def short_ids(ids: list[str], minimum: int = SHORT_ID_MIN) -> dict[str, str]:
    ordered = sorted(ids)
    result = {}
    for i, task_id in enumerate(ordered):
        need = minimum
        for j in (i - 1, i + 1):
            if 0 <= j < len(ordered):
                other = ordered[j]
                common = 0
                while (
                    common < len(task_id)
                    and common < len(other)
                    and task_id[common] == other[common]
                ):
                    common += 1
                need = max(need, common + 1)
        result[task_id] = task_id[:need]
    return result
