"""``task list``'s containers section: runs going on here, and what crashed runs left."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from gittask.errors import GittaskError
from gittask.runner import live, naming
from gittask.runner.container import DockerEngine
from gittask.store.repo import GitRepo, find_git_dir

HEADERS = ["CONTAINER", "TASK", "RUN", "HOST PID", "CREATED", "STATE"]


@dataclass
class ContainerTable:
    rows: list[list[str]] = field(default_factory=list)
    warning: str | None = None  # the engine did not answer

    @property
    def leftovers(self) -> bool:
        """Something a crashed run left (``clean`` removes it)."""
        return any("ORPHANED" in r[-1] or "STALE" in r[-1] for r in self.rows)


def runs_here(start: Path | None = None) -> bool | None:
    """Whether a live-run marker exists in this repository (None: no repository here)."""
    git_dir = find_git_dir((start or Path.cwd()).resolve())
    if git_dir is None:
        return None
    return bool(live.all_markers(GitRepo(git_dir=git_dir, workdir=None)))


def task_containers(statuses: set[str], start: Path | None = None) -> ContainerTable:
    """Running task containers and those a crash left.

    The engine is only asked when a task is recorded ``running`` or a live-run
    marker exists: the common case (nothing running) stays on the fast path.
    """
    git_dir = find_git_dir((start or Path.cwd()).resolve())
    repo = (
        GitRepo(git_dir=git_dir, workdir=None) if git_dir is not None else GitRepo.discover(start)
    )
    markers = live.all_markers(repo)
    table = ContainerTable()
    if not markers and "running" not in statuses:
        return table
    by_task = {m.task_id: m for m in markers}
    try:
        found = DockerEngine.connect(timeout=5, pinned=_pinned(repo)).containers(
            naming.repo_key(repo)
        )
    except GittaskError as exc:
        table.warning = f"warning: containers not listed: {exc}"
        found = []
    for item in found:
        marker = by_task.get(item.task_id)
        driven = marker is not None and marker.alive and marker.container_id == item.id
        alive = driven or live.pid_alive(item.host_pid)
        state = f"{item.status}, run live" if alive else f"{item.status}, ORPHANED (no live run)"
        table.rows.append(
            [item.name, item.task_id[:8], str(item.run), str(item.host_pid), item.created, state]
        )
    seen = {item.task_id for item in found}
    for marker in markers:
        if marker.task_id not in seen:
            state = "starting" if marker.alive else "STALE (its process died)"
            table.rows.append(
                [
                    marker.container_name or "-",
                    marker.task_id[:8],
                    str(marker.run),
                    str(marker.pid),
                    time.strftime("%Y-%m-%d %H:%M", time.localtime(marker.started_at)),
                    state,
                ]
            )
    return table


def _pinned(repo: GitRepo) -> str | None:
    """The project's ``engine`` setting (None when unreadable: the default rules apply)."""
    from gittask.config import load_config
    from gittask.errors import UsageError

    try:
        engine = load_config(repo).engine
    except UsageError:
        return None
    return str(engine) if engine else None
