"""Names shared by the run loop and ``clean``: labels, folders, image tag.

Everything a run leaves on the machine is findable from here: containers by
label, worktrees and live-run markers under the repository's private state
folder (``<git common dir>/claude-tasks``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gittask.store.repo import GitRepo

LABEL_TOOL = "gittask"  # value "1" on every container the tool starts
LABEL_REPO = "gittask.repo"  # repo_key() of the repository
LABEL_TASK = "gittask.task_id"
LABEL_RUN = "gittask.run"  # run number of the task (1 = create)
LABEL_HOST_PID = "gittask.host_pid"  # pid of the CLI process driving the run


def repo_key(repo: GitRepo) -> str:
    """Stable id of a repository on this machine (its shared git dir)."""
    import hashlib

    return hashlib.sha256(str(repo.common_dir.resolve()).encode()).hexdigest()[:12]


def default_image_tag(repo: GitRepo) -> str:
    """Image tag derived from the repository, not from the folder name alone.

    Two repositories in folders of the same name get different tags.
    """
    import re

    top = repo.main_workdir or repo.common_dir
    name = re.sub(r"[^a-z0-9_.-]+", "-", top.name.lower()).strip("-.") or "repo"
    return f"claude-container-{name[:40]}-{repo_key(repo)[:8]}:latest"


def worktrees_dir(repo: GitRepo) -> Path:
    return repo.state_dir / "worktrees"


def runs_dir(repo: GitRepo) -> Path:
    """Live-run markers: ``<task-id>.json`` with pid, container id, run number."""
    return runs_dir_in(repo.state_dir)


def runs_dir_in(state_dir: Path) -> Path:
    """:func:`runs_dir` of the repository whose private state folder is ``state_dir``
    (light on purpose: ``task list`` asks whether a run may be live here)."""
    return state_dir / "runs"
