"""Find the git dir and read a ref's target from the files git keeps, without
loading libgit2 (or subprocess: :mod:`gittask.store.repo` re-exports these).

Used on the hot path of read-only commands (``task list``) to see whether the
local index is current. Anything unusual returns None and callers fall back to
pygit2.
"""

from __future__ import annotations

import os
from pathlib import Path

#: What git reads from the environment to find a repository.
ENVIRONMENT = ("GIT_DIR", "GIT_WORK_TREE")


def find_git_dir(start: Path) -> Path | None:
    """The git dir for ``start`` without importing pygit2 (fast path).

    Returns None when in doubt (GIT_DIR set, odd layouts); callers then use
    pygit2's discovery.
    """
    if any(name in os.environ for name in (*ENVIRONMENT, "GIT_COMMON_DIR")):
        return None
    for folder in (start, *start.parents):
        dotgit = folder / ".git"
        if dotgit.is_dir():
            return dotgit
        if dotgit.is_file():
            text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            gitdir = Path(text[len("gitdir:") :].strip())
            return gitdir if gitdir.is_absolute() else (folder / gitdir).resolve()
    return None


def common_dir_of(git_dir: Path) -> Path:
    """The shared git dir (differs from git_dir in a linked worktree)."""
    marker = git_dir / "commondir"
    if marker.is_file():
        target = Path(marker.read_text(encoding="utf-8").strip())
        return target if target.is_absolute() else (git_dir / target).resolve()
    return git_dir


def read_ref(common_dir: Path, name: str) -> str | None:
    loose = common_dir / name
    try:
        text = loose.read_text(encoding="ascii").strip()
    except (FileNotFoundError, NotADirectoryError):
        text = ""
    except (OSError, UnicodeDecodeError):
        return None
    if text:
        if text.startswith("ref:"):
            return None  # symbolic: let pygit2 follow it
        return text if len(text) in (40, 64) else None
    try:
        packed = (common_dir / "packed-refs").read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except OSError:
        return None
    suffix = " " + name
    for line in packed.splitlines():
        if line.endswith(suffix) and not line.startswith(("#", "^")):
            return line.split(" ", 1)[0]
    return ""  # "" means: the ref does not exist
