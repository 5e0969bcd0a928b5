"""Work on the base branch that a first run would leave out, said before it starts.

A task's first run starts from the remote's copy of its base branch. Commits on
the local base branch that were never pushed, and uncommitted changes in the
checkout (when it has the base branch checked out), are not in that copy: the
agent would not see them. ``--base-local`` starts from the local branch instead
(its commits; uncommitted changes need a commit first).
"""

from __future__ import annotations

from dataclasses import dataclass

from gittask.config import ProjectConfig, remote_of
from gittask.errors import GittaskError
from gittask.model import TaskMetadata
from gittask.store.repo import GitRepo


@dataclass
class LocalWork:
    base: str
    remote: str
    unpushed: int  # commits on the local base branch not on the remote's copy
    uncommitted: int  # changed tracked files in the checkout (base checked out there)

    def describe(self, local_base: bool) -> str:
        parts = []
        if self.unpushed:
            parts.append(f"{self.unpushed} commit(s) not on {self.remote}/{self.base}")
        if self.uncommitted:
            parts.append(f"{self.uncommitted} file(s) with uncommitted changes")
        what = " and ".join(parts)
        if local_base:
            text = f"note: starting from your local {self.base}"
            if self.uncommitted:
                text += (
                    f"; your {self.uncommitted} uncommitted change(s) are left out "
                    "(commit them to include them)"
                )
            return text
        commit_first = "; commit first to include uncommitted changes" if self.uncommitted else ""
        return (
            f"note: your local {self.base} has {what}: the run starts from "
            f"{self.remote}/{self.base} and leaves them out (--base-local starts from your "
            f"local {self.base}{commit_first})"
        )


def _count(repo: GitRepo, *args: str) -> int:
    proc = repo.git(*args, check=False)
    if proc.returncode != 0:
        return 0
    try:
        return int(proc.stdout.strip() or 0)
    except ValueError:
        return 0


def local_work(repo: GitRepo, task: TaskMetadata, config: ProjectConfig) -> LocalWork | None:
    """What the first run of ``task`` would leave out of the local base branch, or None."""
    from gittask.runner import worktree as wt

    if task.run_count or task.commit_hash:
        return None  # later runs start from the task's own branch
    remote = remote_of(config)
    try:
        base, _how = wt.resolve_base(repo, task.base_branch, config.base_branch, remote)
    except GittaskError:
        return None  # the run says why
    refs = repo.pygit.references
    local, theirs = f"refs/heads/{base}", f"refs/remotes/{remote}/{base}"
    unpushed = 0
    if local in refs and theirs in refs:
        unpushed = _count(repo, "rev-list", "--count", f"{theirs}..{local}")
    elif theirs not in refs:
        return None  # no remote copy: the run starts from the local branch anyway
    uncommitted = 0
    top = repo.main_workdir
    if top is not None:
        current = repo.git("symbolic-ref", "--quiet", "--short", "HEAD", check=False, cwd=top)
        if current.returncode == 0 and current.stdout.strip() == base:
            status = repo.git("status", "--porcelain", "--untracked-files=no", check=False, cwd=top)
            uncommitted = len([x for x in status.stdout.splitlines() if x.strip()])
    if not unpushed and not uncommitted:
        return None
    return LocalWork(base, remote, unpushed, uncommitted)
