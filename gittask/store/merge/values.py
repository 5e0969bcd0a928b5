"""Fields whose values merge rather than one side winning: sets and totals."""

from __future__ import annotations

from typing import Any

from gittask.store import yamlio

OURS, THEIRS = 0, 1

#: merged as sets, keeping order
LIST_FIELDS = frozenset({"commits", "depends_on"})
#: totals over runs: runs on two clones both add to them, so both additions count
SUM_FIELDS = frozenset({"cost_usd", "input_tokens", "output_tokens"})


def set_merge(
    key: str, in_base: str | None, in_ours: str | None, in_theirs: str | None, later: int
) -> str | None:
    """Three-way set merge of a list field's chunks; None if a side is not a list.

    What either side removed stays removed; the earlier change's items come first.
    """
    lists = []
    for chunk in (in_base, in_ours, in_theirs):
        try:
            loaded = yamlio.load(chunk) if chunk is not None else {key: []}
        except ValueError:
            return None
        items = loaded.get(key) if isinstance(loaded, dict) else None
        if items is None and chunk is not None and isinstance(loaded, dict):
            items = []
        if not isinstance(items, list):
            return None
        lists.append(items)
    base_items, our_items, their_items = lists
    removed = [v for v in base_items if v not in our_items or v not in their_items]
    first, second = (our_items, their_items) if later == THEIRS else (their_items, our_items)
    merged: list[Any] = []
    for item in [*first, *second]:
        if item not in removed and item not in merged:
            merged.append(item)
    return yamlio.dump({key: merged})


def sum_merge(
    key: str, in_base: str | None, in_ours: str | None, in_theirs: str | None
) -> str | None:
    """A total both sides added to: base + both additions; None if not numbers."""
    numbers = []
    for chunk in (in_base, in_ours, in_theirs):
        try:
            loaded = yamlio.load(chunk) if chunk is not None else {key: 0}
        except ValueError:
            return None
        value = loaded.get(key) if isinstance(loaded, dict) else None
        value = 0 if value is None else value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        numbers.append(value)
    base_total, our_total, their_total = numbers
    total = our_total + their_total - base_total
    if isinstance(total, float):
        total = round(total, 6)
    return yamlio.dump({key: total})
