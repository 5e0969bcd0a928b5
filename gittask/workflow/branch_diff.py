"""A task's work as data: its commits and changed files against its base (``task diff --json``).

Computed by the git executable, as ``task diff`` shows it (``git diff BASE...BRANCH``:
against the merge base), so the numbers match what a person sees.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from typing import Any

from gittask.errors import GittaskError
from gittask.store.repo import GitRepo


@dataclass(frozen=True)
class FileChange:
    path: str
    additions: int | None  # None: a binary file
    deletions: int | None
    old_path: str | None = None  # a rename

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "additions": self.additions,
            "deletions": self.deletions,
            "binary": self.additions is None,
        }
        if self.old_path is not None:
            data["old_path"] = self.old_path
        return data


@dataclass
class BranchDiff:
    commits: list[dict[str, str]] = field(default_factory=list)  # oldest first
    files: list[FileChange] = field(default_factory=list)
    patch: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "commits": self.commits,
            "files": [f.to_json() for f in self.files],
            "additions": sum(f.additions or 0 for f in self.files),
            "deletions": sum(f.deletions or 0 for f in self.files),
        }
        if self.patch is not None:
            data["patch"] = self.patch
        return data


def _git(repo: GitRepo, *args: str) -> str:
    """git's output as text (a file that is not UTF-8 shows replacement characters)."""
    where = repo.main_workdir or repo.workdir or repo.git_dir
    proc = subprocess.run(["git", *args], cwd=where, capture_output=True, check=False)
    if proc.returncode != 0:
        reason = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise GittaskError(f"git {args[0]} failed: {reason[-1] if reason else proc.returncode}")
    return proc.stdout.decode("utf-8", errors="replace")


def _numbers(text: str) -> int | None:
    return None if text == "-" else int(text)


def parse_numstat(out: str) -> list[FileChange]:
    """``git diff --numstat -z``: ``A TAB D TAB PATH NUL``, or ``A TAB D TAB NUL OLD NUL NEW
    NUL`` for a rename (A, D: ``-`` for a binary file)."""
    parts = out.split("\0")
    files: list[FileChange] = []
    i = 0
    while i < len(parts):
        head = parts[i]
        i += 1
        if not head:
            continue
        added, deleted, path = head.split("\t", 2)
        old = None
        if not path:  # a rename: the two paths follow
            old, path = parts[i], parts[i + 1]
            i += 2
        files.append(FileChange(path, _numbers(added), _numbers(deleted), old))
    return files


def branch_diff(repo: GitRepo, base_ref: str, branch_ref: str, with_patch: bool) -> BranchDiff:
    """The commits on ``branch_ref`` that ``base_ref`` lacks, and ``git diff base...branch``."""
    log = _git(repo, "log", "--reverse", "-z", "--format=%H%x1f%s", f"{base_ref}..{branch_ref}")
    commits = []
    for entry in log.split("\0"):
        entry = entry.strip("\n")
        if entry:
            sha, _, subject = entry.partition("\x1f")
            commits.append({"sha": sha, "subject": subject})
    span = f"{base_ref}...{branch_ref}"
    files = parse_numstat(_git(repo, "diff", "--numstat", "-z", span))
    patch = _git(repo, "diff", "--no-color", "--no-ext-diff", span) if with_patch else None
    return BranchDiff(commits, files, patch)


def head_of(repo: GitRepo, ref: str) -> str:
    return _git(repo, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}").strip()


def is_behind(repo: GitRepo, local: str, theirs: str) -> bool:
    """``local`` is an ancestor of ``theirs`` and not the same commit (a fast-forward)."""
    if head_of(repo, local) == head_of(repo, theirs):
        return False
    where = repo.main_workdir or repo.workdir or repo.git_dir
    check = subprocess.run(
        ["git", "merge-base", "--is-ancestor", local, theirs], cwd=where, check=False
    )
    return check.returncode == 0
