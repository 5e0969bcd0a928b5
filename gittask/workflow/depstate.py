"""Dependency states of listed tasks (waiting, blocked, ready), from index rows.

Light on purpose: ``task list`` (also its fast path, without pygit2) uses it.
The rules are :mod:`gittask.model.deps`'; what "succeeded" means comes from the
project's ``dependencies.success`` setting, read leniently here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gittask.config import config_path

if TYPE_CHECKING:  # imported where used: a list without dependencies needs none of it
    from gittask.model.deps import DepState, Node


class Row(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str | None: ...
    @property
    def created_at(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...


def success_mode(root: Path | None = None) -> str:
    """``dependencies.success`` of the project (``merged`` when unset or unreadable)."""
    from gittask.model.deps import SUCCESS_MODES

    if root is None:
        from gittask.store.repo import common_dir_of, find_git_dir

        git_dir = find_git_dir(Path.cwd().resolve())
        if git_dir is None:
            return "merged"
        common = common_dir_of(git_dir)
        root = common.parent if common.name == ".git" else common
    try:
        stored = json.loads(config_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "merged"
    value = stored.get("dependencies.success") if isinstance(stored, dict) else None
    word = value.strip().lower() if isinstance(value, str) else None  # as the setting reads it
    return word if word in SUCCESS_MODES else "merged"


def depends_on(record: dict[str, Any]) -> tuple[str, ...]:
    items = record.get("depends_on")
    return tuple(str(x) for x in items) if isinstance(items, list) else ()


def nodes_of(rows: Iterable[Row], record_of: Callable[[str], dict[str, Any]]) -> dict[str, Node]:
    """The graph: every task, with the dependencies of those not started yet (their
    records are read; a started task's dependencies no longer matter)."""
    from gittask.model.deps import Node

    nodes: dict[str, Node] = {}
    for row in rows:
        status = None if row.error else row.status
        deps = depends_on(record_of(row.id)) if status == "pending" else ()
        nodes[row.id] = Node(row.id, status, deps, row.created_at or "")
    return nodes


def row_states(
    rows: list[Any], record_of: Callable[[str], dict[str, Any]], mode: str | None = None
) -> dict[str, DepState]:
    """The dependency state of each listed task that has not started and has dependencies."""
    if not any(
        row.status == "pending" and not row.error and depends_on(record_of(row.id)) for row in rows
    ):
        return {}  # none has a dependency: there is nothing to work out
    from gittask.model.deps import states

    return states(nodes_of(rows, record_of), mode or success_mode())


def one_state(
    task_id: str,
    record_of: Callable[[str], dict[str, Any]],
    known: Collection[str],
    mode: str | None = None,
) -> DepState | None:
    """The dependency state of one task, as :func:`row_states` gives it, reading only
    the records its unstarted dependencies lead to (a cycle it is in lies among them).

    ``known``: the ids of every task (one not among them was deleted)."""
    from gittask.model.deps import Node, states

    nodes: dict[str, Node] = {}
    todo = [task_id]
    while todo:
        one = todo.pop()
        if one in nodes or one not in known:
            continue
        record = record_of(one)  # {} when unreadable: no status, as in nodes_of
        status = record.get("status")
        deps = depends_on(record) if status == "pending" else ()
        nodes[one] = Node(one, status, deps, str(record.get("created_at") or ""))
        todo.extend(deps)
    return states(nodes, mode or success_mode()).get(task_id)
