"""Dependencies between tasks: which unstarted task waits, is blocked, or may start.

Derived from the records alone, never stored, so every clone holding the same
records says the same thing (also right after a sync merged two clones' edges):

    waiting   a dependency has not succeeded yet (it is pending, running, or, when
              success means ``merged``, its pull request is not merged yet)
    blocked   a dependency failed, was closed or was deleted; or the task closes a
              dependency cycle (see below). ``task start`` runs it anyway.
    ready     every dependency succeeded: the scheduler starts it

What "succeeded" means is a setting (``dependencies.success``): ``merged`` (the
default: the dependency's pull request was merged) or ``finished`` (a run
finished: ``created``/``continued``, or merged).

Cycles: only tasks that have not started yet can wait on each other forever.
In each group of them that waits in a circle (a strongly connected component),
exactly one task is blocked: the one created last (created_at, then id), the
same on every clone; the others wait for it. Its reason names the cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SUCCESS_MODES = ("merged", "finished")
_SUCCEEDED = {
    "merged": frozenset({"merged"}),
    "finished": frozenset({"created", "continued", "merged"}),
}
_FAILED = {"failed": "failed", "closed": "was closed"}

READY, WAITING, BLOCKED = "ready", "waiting", "blocked"


@dataclass(frozen=True)
class Node:
    """One task as the dependency graph sees it."""

    id: str
    status: str | None  # the stored status (None: unreadable)
    depends_on: tuple[str, ...] = ()
    created_at: str = ""

    @property
    def unstarted(self) -> bool:
        return self.status == "pending"


@dataclass(frozen=True)
class DepState:
    state: str  # READY, WAITING or BLOCKED
    reason: str  # one line, for `task show` and `task deps`
    waiting_for: tuple[str, ...] = ()
    cycle: tuple[str, ...] = field(default=())  # the cycle this task closes, first id again last


def succeeded(status: str | None, mode: str) -> bool:
    return status in _SUCCEEDED.get(mode, _SUCCEEDED["merged"])


def states(nodes: Mapping[str, Node], mode: str = "merged") -> dict[str, DepState]:
    """The state of every unstarted task that has dependencies."""
    closing = cycles(nodes)
    found: dict[str, DepState] = {}
    for node in nodes.values():
        if not node.unstarted or not node.depends_on:
            continue
        if node.id in closing:
            loop = closing[node.id]
            found[node.id] = DepState(
                BLOCKED,
                "dependency cycle: " + " -> ".join(t[:8] for t in loop),
                cycle=loop,
            )
            continue
        found[node.id] = _state(node, nodes, mode)
    return found


def _state(node: Node, nodes: Mapping[str, Node], mode: str) -> DepState:
    problems: list[str] = []
    waiting: list[str] = []
    for dep in node.depends_on:
        other = nodes.get(dep)
        if other is None:
            problems.append(f"{dep[:8]} was deleted")
        elif succeeded(other.status, mode):
            continue
        elif other.status in _FAILED:
            problems.append(f"{dep[:8]} {_FAILED[other.status]}")
        elif other.status is None:
            problems.append(f"{dep[:8]} is unreadable")
        else:
            waiting.append(dep)
    if problems:
        return DepState(BLOCKED, "dependency " + "; ".join(problems), tuple(waiting))
    if waiting:
        words = []
        for dep in waiting:
            status = nodes[dep].status
            why = "not merged yet" if status in ("created", "continued") else status
            words.append(f"{dep[:8]} ({why})")
        return DepState(WAITING, "waiting for " + ", ".join(words), tuple(waiting))
    return DepState(READY, "every dependency succeeded")


def cycles(nodes: Mapping[str, Node]) -> dict[str, tuple[str, ...]]:
    """Task id -> the cycle it closes, for the one blocked task of each cycle among
    unstarted tasks (see the module's docstring)."""
    edges = {
        n.id: sorted(d for d in n.depends_on if d in nodes and nodes[d].unstarted)
        for n in nodes.values()
        if n.unstarted
    }
    found: dict[str, tuple[str, ...]] = {}
    for group in _components(edges):
        if len(group) == 1 and group[0] not in edges[group[0]]:
            continue  # a task on its own, not waiting on itself
        members = set(group)
        chosen = max(group, key=lambda t: (nodes[t].created_at, t))
        found[chosen] = _loop(chosen, edges, members)
    return found


def _loop(start: str, edges: Mapping[str, list[str]], members: set[str]) -> tuple[str, ...]:
    """The shortest way from ``start`` back to itself inside its component."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for item in frontier:
            for nxt in edges.get(item, ()):
                if nxt not in members:
                    continue
                if nxt == start:
                    path = [item]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return (start, *reversed(path[:-1]), start)
                if nxt not in previous:
                    previous[nxt] = item
                    following.append(nxt)
        frontier = following
    return (start, start)  # not reached: a component of one only counts with a self-loop


def _components(edges: Mapping[str, list[str]]) -> Iterable[list[str]]:
    """Strongly connected components (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            children = edges.get(node, [])
            if position < len(children):
                work.append((node, position + 1))
                child = children[position]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    item = stack.pop()
                    on_stack.discard(item)
                    group.append(item)
                    if item == node:
                        break
                yield sorted(group)


def reaches(edges: Mapping[str, Iterable[str]], start: str, goal: str) -> list[str] | None:
    """A path of dependencies from ``start`` to ``goal`` (both included), or None."""
    previous: dict[str, str] = {start: start}
    frontier = [start]
    while frontier:
        following = []
        for item in frontier:
            if item == goal:
                path = [goal]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return list(reversed(path))
            for nxt in sorted(edges.get(item, ())):
                if nxt not in previous:
                    previous[nxt] = item
                    following.append(nxt)
        frontier = following
    return None
