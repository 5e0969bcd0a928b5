"""What crashed runs left on this machine, and removing it (for ``clean`` and ``task list``).

A run is *live* while the process in its marker is alive; anything of a run
that is not live is a leftover: its container (found by label), its worktree
folder under ``naming.worktrees_dir`` (with git's admin folder and the scratch
folder), its marker, and the folder of credential files a killed run could not
remove (:func:`gittask.runner.credentials.leftovers`). Live runs are never touched.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gittask.runner import credentials, live, naming
from gittask.runner import worktree as wt
from gittask.store.repo import GitRepo

if TYPE_CHECKING:
    from docker import DockerClient

    from gittask.runner.engine import TaskContainer


@dataclass
class Leftovers:
    containers: list[TaskContainer] = field(default_factory=list)
    worktrees: list[Path] = field(default_factory=list)
    markers: list[live.RunMarker] = field(default_factory=list)
    credential_folders: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.containers or self.worktrees or self.markers or self.credential_folders)


def find(repo: GitRepo, client: DockerClient | None) -> Leftovers:
    """Leftovers of ``repo``'s runs; containers only when a client is given."""
    markers = live.all_markers(repo)
    live_runs = [m for m in markers if m.alive]
    live_containers = {m.container_id for m in live_runs if m.container_id}
    # a live run's worktree is named after its task (<id[:12]>-r<run>-...): skip those,
    # even before the marker names the folder
    live_prefixes = tuple(m.task_id[:12] for m in live_runs)
    found = Leftovers(
        markers=[m for m in markers if not m.alive], credential_folders=credentials.leftovers()
    )
    found.worktrees = [
        p for p in wt.run_folders(repo) if not (live_prefixes and p.name.startswith(live_prefixes))
    ]
    if client is not None:
        from gittask.runner.container import task_containers

        for item in task_containers(client, naming.repo_key(repo)):
            if item.id in live_containers or live.pid_alive(item.host_pid):
                continue
            found.containers.append(item)
    return found


def remove(repo: GitRepo, client: DockerClient | None, found: Leftovers) -> list[str]:
    """Remove ``found``; returns one line per thing removed (or not)."""
    from gittask.runner.container import remove as remove_container

    done: list[str] = []
    for item in found.containers:
        ok = remove_container(client, item.id)
        done.append(f"{'removed' if ok else 'could not remove'} container {item.name}")
    for path in found.worktrees:
        wt.remove_worktree_folders(repo, path)
        done.append(f"removed worktree {path.name}")
    for marker in found.markers:
        live.release(repo, marker)  # only if it is still that dead run's marker
        done.append(f"removed the stale run marker of task {marker.task_id[:8]}")
    for folder in found.credential_folders:
        credentials.remove_folder(folder)
        done.append(f"removed the credential files a killed run left ({folder})")
    with contextlib.suppress(Exception):
        repo.git("worktree", "prune", check=False)
    return done
