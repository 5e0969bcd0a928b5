"""Git's ref lock files (``<ref>.lock``) on this tool's refs: named when they block a
write, and found when a crash left them behind.

git holds such a lock for the milliseconds of one ref update. One that is older
than :data:`STALE_AFTER` seconds was left by a process that died mid-update
(kill -9, a full disk, a lost NFS mount): every later write of that ref fails
until the file is removed.
"""

from __future__ import annotations

import time
from pathlib import Path

from gittask.store import layout
from gittask.store.repo import GitRepo

#: seconds after which a ref lock is taken for a crash's leftover
STALE_AFTER = 10.0

#: the refs (and folders of refs) this tool writes, relative to the git folder
_OWN = (layout.DATA_REF, layout.NOTES_REF)
_OWN_FOLDERS = ("refs/claude-tasks-logs", "refs/notes/remotes", "refs/remotes")


def lock_file(repo: GitRepo, ref: str) -> Path:
    return Path(repo.common_dir) / f"{ref}.lock"


def age(path: Path) -> float | None:
    """Seconds since ``path`` was last written, or None when it does not exist."""
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except OSError:
        return None


def stale_lock(repo: GitRepo, ref: str) -> Path | None:
    """``ref``'s lock file when it has been there longer than a write takes."""
    path = lock_file(repo, ref)
    seconds = age(path)
    return path if seconds is not None and seconds > STALE_AFTER else None


def describe(repo: GitRepo, ref: str, path: Path) -> tuple[str, str]:
    """(message, hint) for a write of ``ref`` blocked by ``path``."""
    seconds = age(path) or 0.0
    message = (
        f"{ref} is locked: {path} has been there for {_duration(seconds)} "
        "(left by a git or claude-container command that stopped mid-write); nothing was written"
    )
    hint = f"if no git command is running, remove it: rm {path} (or run 'claude-container doctor')"
    return message, hint


def stale_locks(repo: GitRepo) -> list[Path]:
    """Every stale lock file on this tool's refs (the data ref, notes, logs, tracking refs)."""
    common = Path(repo.common_dir)
    found = [p for p in (stale_lock(repo, ref) for ref in _OWN) if p is not None]
    for folder in _OWN_FOLDERS:
        base = common / folder
        if not base.is_dir():
            continue
        for path in base.rglob("*.lock"):
            name = path.relative_to(common).as_posix()
            if folder == "refs/remotes" and "claude-tasks" not in name:
                continue  # a tracking ref of the user's own branches: not ours to touch
            seconds = age(path)
            if seconds is not None and seconds > STALE_AFTER:
                found.append(path)
    return sorted(set(found))


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"
