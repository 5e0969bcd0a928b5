"""The task's branch: its base, where a run starts it, and moving it once the run is done."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gittask.errors import GittaskError
from gittask.store.repo import GitRepo


def _ref_exists(repo: GitRepo, ref: str) -> bool:
    return repo.git("rev-parse", "--verify", "--quiet", ref, check=False).returncode == 0


def rev(repo: GitRepo, ref: str) -> str | None:
    proc = repo.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    value = proc.stdout.strip()
    return value if proc.returncode == 0 and value else None


def remote_exists(repo: GitRepo, remote: str) -> bool:
    return repo.config_get(f"remote.{remote}.url") is not None


# -- base branch -----------------------------------------------------------------------


def resolve_base(
    repo: GitRepo, explicit: str | None, configured: str | None, remote: str
) -> tuple[str, str]:
    """The base branch's name and how it was chosen, never a hard-coded name.

    ``--base``/the task's base, else the config's ``base_branch``, else the
    target of ``refs/remotes/<remote>/HEAD``, else the remote's default branch
    (``git ls-remote --symref``), else the current branch.
    """
    if explicit:
        return explicit, "the task's base"
    if configured:
        return configured, "config base_branch"
    head = repo.git("symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD", check=False)
    prefix = f"refs/remotes/{remote}/"
    if head.returncode == 0 and head.stdout.strip().startswith(prefix):
        return head.stdout.strip()[len(prefix) :], f"{remote}/HEAD"
    if remote_exists(repo, remote):
        proc = repo.git("ls-remote", "--symref", remote, "HEAD", check=False)
        for line in proc.stdout.splitlines():
            match = re.match(r"^ref:\s+refs/heads/(\S+)\s+HEAD$", line.strip())
            if match:
                return match.group(1), f"{remote}'s default branch"
    top = repo.main_workdir
    current = repo.git(
        "symbolic-ref", "--quiet", "--short", "HEAD", check=False, cwd=top or repo.common_dir
    )
    if current.returncode == 0 and current.stdout.strip():
        return current.stdout.strip(), "the current branch"
    raise GittaskError(
        "cannot tell which branch to start from: no --base, no base_branch in the config, "
        f"no {remote}/HEAD and no current branch",
        "pass --base BRANCH or run 'claude-container config set base_branch BRANCH'",
    )


def fetch_branch(repo: GitRepo, remote: str, branch: str) -> bool:
    """Bring ``<remote>/<branch>`` up to date; False when it is not there (or offline)."""
    if not remote_exists(repo, remote):
        return False
    proc = repo.git(
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        remote,
        f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}",
        check=False,
    )
    return proc.returncode == 0


def base_commit(
    repo: GitRepo, base: str, remote: str, how: str, prefer_local: bool = False
) -> tuple[str, str]:
    """(commit, ref) the base branch points to: origin's copy first, else the local one
    (``prefer_local``: the local branch first, with its unpushed commits)."""
    fetch_branch(repo, remote, base)
    refs = [f"refs/remotes/{remote}/{base}", f"refs/heads/{base}"]
    for ref in reversed(refs) if prefer_local else refs:
        commit = rev(repo, ref)
        if commit:
            return commit, ref
    raise GittaskError(
        f"base branch '{base}' ({how}) does not exist here or on {remote}",
        "run 'git fetch', or name an existing branch with --base",
    )


# -- the branch ------------------------------------------------------------------------


@dataclass
class BranchPlan:
    """Where a run starts, and what to merge first."""

    branch: str
    start: str  # commit the worktree is created at
    before: str | None  # the local branch's tip before the run (None: no local branch yet)
    merge: str | None = None  # origin's copy to merge into ``start`` (diverged)
    note: str = ""


def plan_branch(
    repo: GitRepo,
    branch: str,
    remote: str,
    first_run: bool,
    base: str,
    base_tip: str,
) -> BranchPlan:
    """Decide the start point of the task's branch for this run.

    First run: the branch must be free, locally and on the remote; it starts at
    the base. Later runs: the local branch, brought up to date with the remote's
    copy (fast-forward, else a merge), or the remote's copy, or the base when
    no run has left any commit yet.
    """
    local_ref, remote_ref = f"refs/heads/{branch}", f"refs/remotes/{remote}/{branch}"
    if first_run:
        if _ref_exists(repo, local_ref):
            raise GittaskError(
                f"branch '{branch}' already exists in this repository",
                "another task or person uses it; record the task again with another --branch",
            )
        if _ref_exists(repo, remote_ref):
            raise GittaskError(
                f"branch '{branch}' already exists on {remote}",
                "record the task again with another --branch",
            )
        return BranchPlan(branch, base_tip, None, note=f"new branch from {base}")
    fetch_branch(repo, remote, branch)
    local, theirs = rev(repo, local_ref), rev(repo, remote_ref)
    if local and theirs:
        if local == theirs or is_ancestor(repo, theirs, local):
            return BranchPlan(branch, local, local, note="local branch")
        if is_ancestor(repo, local, theirs):
            return BranchPlan(branch, theirs, local, note=f"fast-forwarded to {remote}'s copy")
        return BranchPlan(branch, local, local, merge=theirs, note=f"merging {remote}'s copy")
    if local:
        return BranchPlan(branch, local, local, note="local branch")
    if theirs:
        return BranchPlan(branch, theirs, None, note=f"{remote}'s copy")
    return BranchPlan(branch, base_tip, None, note=f"no commits yet: new branch from {base}")


def is_ancestor(repo: GitRepo, older: str, newer: str) -> bool:
    proc = repo.git("merge-base", "--is-ancestor", older, newer, check=False)
    return proc.returncode == 0


def checked_out_at(repo: GitRepo, branch: str) -> Path | None:
    """The folder of a worktree (the user's or another) that has ``branch`` checked out."""
    proc = repo.git("worktree", "list", "--porcelain", check=False)
    path: Path | None = None
    for line in proc.stdout.splitlines():
        if line.startswith("worktree "):
            path = Path(line[len("worktree ") :])
        elif line == f"branch refs/heads/{branch}":
            return path
    return None


def move_branch(repo: GitRepo, branch: str, new: str, before: str | None) -> None:
    """Point ``refs/heads/<branch>`` at ``new``, only if it is still at ``before``."""
    zero = "0" * len(new)
    proc = repo.git(
        "update-ref",
        "-m",
        "claude-container: task run",
        f"refs/heads/{branch}",
        new,
        before or zero,
        check=False,
    )
    if proc.returncode != 0:
        raise GittaskError(
            f"branch '{branch}' moved while the task ran; the agent's work is commit {new[:12]}",
            f"merge it by hand: git merge {new[:12]}",
        )
