"""Task dependencies: recorded in ``depends_on``, checked for cycles when written,
and what they mean for starting, stacking and showing a task.

The states (waiting, blocked, ready) are derived, never stored: see
:mod:`gittask.model.deps`. A cycle two clones made between them (each adding
half) is found the same way on every clone after a sync.
"""

from __future__ import annotations

from dataclasses import dataclass

from gittask.config import project_root
from gittask.errors import GittaskError, UsageError
from gittask.model import TaskMetadata, TaskStatus
from gittask.model.deps import BLOCKED, READY, DepState, Node, reaches, states
from gittask.store.database import TaskDatabase
from gittask.workflow.depstate import nodes_of, success_mode
from gittask.workflow.publish import after_change

#: extra keys of a task with dependencies
KEEP_BASE = "keep_base"  # start from the repository's base, not a dependency's branch
AUTO_START = "auto_start"  # false: the scheduler leaves it (created with --no-run)


def graph(db: TaskDatabase) -> dict[str, Node]:
    """Every task as the dependency rules see it (from the index, brought up to date)."""
    rows = db.rows()
    return nodes_of(rows, db.indexed_record)


def mode_of(db: TaskDatabase) -> str:
    return success_mode(project_root(db.repo))


def all_states(db: TaskDatabase) -> tuple[dict[str, Node], dict[str, DepState]]:
    nodes = graph(db)
    return nodes, states(nodes, mode_of(db))


def resolve_dependencies(db: TaskDatabase, texts: list[str]) -> list[str]:
    """Task ids for ``--depends-on`` values (ids, prefixes, PR URLs), in order, once each."""
    from gittask.workflow.lookup import resolve_task

    found: list[str] = []
    for text in texts:
        task_id = resolve_task(db, text)
        if task_id not in found:
            found.append(task_id)
    return found


def _edges(db: TaskDatabase) -> dict[str, list[str]]:
    """Every recorded dependency, started tasks included (a cycle is refused whatever
    the statuses)."""
    edges: dict[str, list[str]] = {}
    for row in db.indexed_rows():
        deps = db.indexed_record(row.id).get("depends_on")
        if isinstance(deps, list) and deps:
            edges[row.id] = [str(d) for d in deps]
    return edges


def check_no_cycle(db: TaskDatabase, task_id: str, new: list[str]) -> None:
    """Refuse dependencies of ``task_id`` on ``new`` that would close a cycle."""
    edges = _edges(db)
    for dep in new:
        if dep == task_id:
            raise UsageError(f"task {task_id[:8]} cannot depend on itself; nothing was changed")
        path = reaches(edges, dep, task_id)
        if path is not None:
            loop = " -> ".join(t[:8] for t in [task_id, *path])
            raise UsageError(
                f"a dependency of {task_id[:8]} on {dep[:8]} would make a cycle: {loop}; "
                "nothing was changed"
            )


def change_dependencies(
    db: TaskDatabase, task_id: str, add: list[str], remove: list[str]
) -> TaskMetadata:
    """Add and remove dependencies of a task not started yet (one commit; a cycle is
    refused, checked again on the ref the change is written on)."""
    current = db.task(task_id)
    if current.status is not TaskStatus.PENDING:
        raise UsageError(
            f"task {task_id[:8]} has started ({current.status.value}): its dependencies no "
            "longer matter; nothing was changed"
        )

    def change(task: TaskMetadata) -> str:
        if task.status is not TaskStatus.PENDING:
            raise GittaskError(f"task {task_id[:8]} started meanwhile; nothing was changed")
        db.reindex()  # the graph as of the ref this change is written on
        fresh = [d for d in add if d not in task.depends_on]
        check_no_cycle(db, task.id, fresh)
        task.depends_on = [d for d in task.depends_on if d not in remove] + fresh
        return "depends on: " + (", ".join(d[:8] for d in task.depends_on) or "nothing")

    task = db.update(task_id, change, "depends")
    after_change(db)
    return task


@dataclass(frozen=True)
class Creation:
    """What ``task create --depends-on`` decided before anything is stored."""

    depends_on: list[str]
    state: DepState | None  # None: no dependencies

    @property
    def runs_now(self) -> bool:
        return self.state is None or self.state.state == READY

    def describe(self, task_id: str, no_run: bool) -> str:
        """What ``task create`` says about a task that does not run at once."""
        assert self.state is not None
        if self.state.state == READY:
            return f"task {task_id[:8]}: every dependency succeeded"
        then = (
            "'task start' runs it"
            if no_run
            else "'claude-container scheduler' starts it once "
            "they succeed ('task start' runs it anyway)"
        )
        return f"task {task_id[:8]} is {self.state.state}: {self.state.reason}; {then}"


def plan_creation(db: TaskDatabase, texts: list[str]) -> Creation:
    """The dependencies of a new task, and whether it may run at once."""
    if not texts:
        return Creation([], None)
    ids = resolve_dependencies(db, texts)
    nodes = graph(db)
    probe = Node("0" * 32, "pending", tuple(ids), "9999")
    return Creation(ids, states({**nodes, probe.id: probe}, mode_of(db))[probe.id])


def creation_extra(plan: Creation, keep_base: bool, no_run: bool) -> dict[str, object]:
    """The extra fields a task with dependencies records."""
    if not plan.depends_on:
        return {}
    extra: dict[str, object] = {}
    if keep_base:
        extra[KEEP_BASE] = True
    if no_run:
        extra[AUTO_START] = False
    return extra


def ready_to_start(db: TaskDatabase) -> list[TaskMetadata]:
    """Waiting tasks whose dependencies all succeeded, oldest first (the scheduler
    starts them); tasks recorded with --no-run are left for ``task start``."""
    nodes, found = all_states(db)
    ready = sorted(
        (nodes[t] for t, s in found.items() if s.state == READY),
        key=lambda n: (n.created_at, n.id),
    )
    tasks = []
    for node in ready:
        task = db.task(node.id)
        if task.extra.get(AUTO_START) is not False:
            tasks.append(task)
    return tasks


def stacked_base(db: TaskDatabase, task: TaskMetadata) -> str | None:
    """The branch a first run starts from when it stacks on a dependency's work.

    None unless the task has no base of its own, was not told to keep the
    repository's (``--keep-base``), and a dependency finished without being merged:
    then the first such dependency (in the order given) whose branch exists.
    """
    if task.base_branch or task.run_count or task.extra.get(KEEP_BASE) or not task.depends_on:
        return None
    for dep in task.depends_on:
        try:
            other = db.task(dep)
        except GittaskError:
            continue
        if other.status in (TaskStatus.CREATED, TaskStatus.CONTINUED) and other.branch_name:
            return other.branch_name
    return None


def start_note(db: TaskDatabase, task: TaskMetadata) -> str | None:
    """What ``task start`` says when it runs a waiting or blocked task anyway."""
    if task.status is not TaskStatus.PENDING or not task.depends_on:
        return None
    _, found = all_states(db)
    state = found.get(task.id)
    if state is None or state.state == READY:
        return None
    return f"note: task {task.id[:8]} is {state.state} ({state.reason}): starting it anyway"


def cycle_lines(db: TaskDatabase) -> list[str]:
    """One line per dependency cycle (after a sync merged two clones' dependencies)."""
    _, found = all_states(db)
    return [
        f"warning: {s.reason}: task {t[:8]} is blocked ('task deps {t[:8]}')"
        for t, s in sorted(found.items())
        if s.state == BLOCKED and s.cycle
    ]


def tree(db: TaskDatabase) -> list[tuple[int, str, bool]]:
    """``task list --tree``: (depth, task id, shown before) lines, each dependency above
    the tasks that depend on it, oldest first; tasks outside every dependency last."""
    rows = db.rows()
    created = {r.id: r.created_at or "" for r in rows}
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for task_id, deps in _edges(db).items():
        for dep in deps:
            if dep in created:
                parents.setdefault(task_id, []).append(dep)
                children.setdefault(dep, []).append(task_id)
    order = sorted(created, key=lambda t: (created[t], t))
    linked = [t for t in order if t in parents or t in children]
    roots = [t for t in linked if t not in parents]
    lines: list[tuple[int, str, bool]] = []
    seen: set[str] = set()

    def walk(task_id: str, depth: int, path: frozenset[str]) -> None:
        lines.append((depth, task_id, task_id in seen))
        if task_id in seen or task_id in path:
            return
        seen.add(task_id)
        for child in sorted(children.get(task_id, []), key=lambda t: (created[t], t)):
            walk(child, depth + 1, path | {task_id})

    for root in roots:
        walk(root, 0, frozenset())
    for task_id in linked:  # in a cycle no root reaches
        if task_id not in seen:
            walk(task_id, 0, frozenset())
    lines += [(0, t, False) for t in order if t not in parents and t not in children][::-1]
    return lines


def neighbours(db: TaskDatabase, task_id: str) -> tuple[list[str], list[str]]:
    """(its dependencies, the tasks that depend on it)."""
    edges = _edges(db)
    dependents = sorted(t for t, deps in edges.items() if task_id in deps)
    return list(edges.get(task_id, [])), dependents
