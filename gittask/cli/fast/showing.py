"""``task show ID [--json] [--feedback-history]`` without typer or pygit2."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any


def show_options(args: list[str]) -> tuple[str, bool, bool] | None:
    """(id, --json, --feedback-history), or None for anything else (typer says what)."""
    words = [a for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    if len(words) != 1 or any(f not in ("--json", "--feedback-history") for f in flags):
        return None
    return words[0], "--json" in flags, "--feedback-history" in flags


def show_task(prefix: str, as_json: bool, feedback: bool) -> bool:
    """``task show`` from a current index, as :func:`gittask.cli.show.show` prints it;
    False whenever the typer command has more to do or to say (errors included)."""
    from gittask.cli.fast.common import current_index
    from gittask.errors import GittaskError
    from gittask.model.ids import short_ids
    from gittask.model.task import normalize_id
    from gittask.workflow.database import show_in_working_copy

    wanted = normalize_id(prefix)
    if not wanted or any(c not in "0123456789abcdef" for c in wanted):
        return False
    index = current_index()
    if index is None:
        return False
    matches = index.ids_starting(wanted)
    if len(matches) != 1:
        return False
    try:
        record = dict(index.record(matches[0]))
    except (GittaskError, KeyError, ValueError):
        return False  # unreadable: the full path says why
    if record.get("pr_number") or record.get("id") != matches[0]:
        return False
    if not show_in_working_copy(index, matches[0]):  # as the full path does
        return False
    from gittask.cli import output
    from gittask.cli.showtext import dependency_fields, render
    from gittask.model.outcome import outcome

    record["outcome"] = outcome(
        record.get("status"), record.get("error_message"), record.get("pr_url")
    )
    try:  # what it waits for: the records its dependencies lead to, from the index
        record.update(dependency_fields(record, index.record, _KnownIds(index)))
    except (GittaskError, KeyError, ValueError):
        return False
    # a short id depends on the ids just before and after it only
    short = short_ids([matches[0], *index.neighbours(matches[0])])[matches[0]]
    record["short_id"] = short
    if as_json:
        output.print_json(record)
        return True
    sys.stdout.write(render(record, short, feedback) + "\n")
    return True


class _KnownIds:
    """Every indexed id, asked one at a time (a dependency check reads a handful)."""

    def __init__(self, index: Any) -> None:  # the workflow's fast index (a TaskIndex)
        self.index = index

    def __contains__(self, task_id: object) -> bool:
        return isinstance(task_id, str) and list(self.index.ids_starting(task_id, 1)) == [task_id]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.index.ids()))

    def __len__(self) -> int:
        return len(list(self.index.ids()))
