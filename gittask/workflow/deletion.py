"""What deleting a task leaves behind, and removing it on request.

Deleting a task removes its record (a tombstone commit says who deleted what).
Its work branch, here and on the remote, and an open pull request stay unless
``delete --branches`` / ``--close-pr`` ask for them to go too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gittask.config import ProjectConfig
from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.store.database import TaskDatabase


@dataclass
class Leftovers:
    task_id: str
    local_branch: str | None = None
    remote_branch: str | None = None  # "origin/<branch>"
    open_pull: str | None = None  # its URL
    pull_number: int | None = None
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # what could not be removed, and why

    def items(self) -> list[str]:
        found = []
        if self.local_branch:
            found.append(f"local branch {self.local_branch}")
        if self.remote_branch:
            found.append(f"branch {self.remote_branch}")
        if self.open_pull:
            found.append(f"open pull request {self.open_pull}")
        return found

    def to_json(self) -> dict[str, object]:
        return {
            "local_branch": self.local_branch,
            "remote_branch": self.remote_branch,
            "open_pull": self.open_pull,
            "removed": self.removed,
            "kept": self.kept,
        }


def leftovers_of(db: TaskDatabase, task: TaskMetadata, remote: str) -> Leftovers:
    refs = db.repo.pygit.references
    found = Leftovers(task.id)
    branch = task.branch_name
    if branch and f"refs/heads/{branch}" in refs:
        found.local_branch = branch
    if branch and f"refs/remotes/{remote}/{branch}" in refs:
        found.remote_branch = f"{remote}/{branch}"
    if task.pr_url and task.status not in (TaskStatus.MERGED, TaskStatus.CLOSED):
        found.open_pull, found.pull_number = task.pr_url, task.pr_number
    return found


def remove_branches(db: TaskDatabase, left: Leftovers, remote: str) -> None:
    from gittask.runner import worktree as wt

    if left.local_branch:
        holder = wt.checked_out_at(db.repo, left.local_branch)
        if holder is not None:
            left.kept.append(f"local branch {left.local_branch}: checked out in {holder}")
        else:
            proc = db.repo.git("branch", "-D", left.local_branch, check=False)
            if proc.returncode == 0:
                left.removed.append(f"local branch {left.local_branch}")
                left.local_branch = None
            else:
                left.kept.append(f"local branch {left.local_branch}: {_last_line(proc.stderr)}")
    if left.remote_branch:
        branch = left.remote_branch.split("/", 1)[1]
        proc = db.repo.git(
            "push",
            "--quiet",
            remote,
            "--delete",
            branch,
            check=False,
            env={"GIT_TERMINAL_PROMPT": "0"},
        )
        if proc.returncode == 0:
            left.removed.append(f"branch {left.remote_branch}")
            left.remote_branch = None
        else:
            left.kept.append(f"branch {left.remote_branch}: {_last_line(proc.stderr)}")


def close_pull(db: TaskDatabase, left: Leftovers, config: ProjectConfig) -> None:
    from gittask.workflow.pull_requests import forge_for

    if not left.open_pull or left.pull_number is None:
        return
    try:
        forge_for(db, config).close_pull(left.pull_number)
    except GittaskError as exc:
        left.kept.append(f"open pull request {left.open_pull}: {exc}")
        return
    left.removed.append(f"pull request {left.open_pull} (closed)")
    left.open_pull = None


def _last_line(text: str) -> str:
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()]
    return lines[-1] if lines else "failed"
