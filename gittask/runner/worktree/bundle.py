"""A run's worktree as a git bundle, and the agent's work back from one (remote engines).

The host side of :mod:`gittask.runner.transfer`: :func:`start_bundle` packs the
worktree's start commit (with its history) for the container, and
:func:`import_bundle` takes what the container left: its objects are fetched
into the repository through git's checks (``transfer.fsckObjects``) under
quarantine refs, HEAD is set to where the agent left it, and the working tree
becomes the agent's (uncommitted files included) so that the harvest commits,
checks and publishes it exactly as it does a local run's.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from gittask.errors import GittaskError
from gittask.runner.worktree.checkout import SAFE_GIT, Worktree

_QUARANTINE = "refs/claude-tasks-harvest"


def start_bundle(worktree: Worktree) -> bytes:
    """The worktree's HEAD (the run's start) and all its history, as a bundle."""
    path = worktree.scratch / "in.bundle"
    worktree.git("bundle", "create", "--quiet", str(path), "HEAD")
    try:
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


def import_bundle(worktree: Worktree, bundle: Path | None) -> str:
    """Take the agent's HEAD and working tree from the bundle it left; what was done.

    No bundle (the agent was killed, or made none): the worktree stays at the
    start, and the harvest finds nothing changed.
    """
    if bundle is None or not bundle.is_file():
        return "the container left no bundle: nothing to take"
    repo = worktree.repo
    quarantine = f"{_QUARANTINE}/{worktree.path.name}"
    listed = repo.git("bundle", "list-heads", str(bundle), check=False).stdout.split()
    # a HEAD still at the start is not in the bundle (the start is its prerequisite)
    names = [n for n in ("head", "worktree") if f"refs/gittask/{n}" in listed]
    proc = repo.git(
        *SAFE_GIT,
        "-c",
        "transfer.fsckObjects=true",
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        str(bundle),
        *(f"refs/gittask/{n}:{quarantine}/{n}" for n in names),
        check=False,
    )
    try:
        if proc.returncode != 0 or "worktree" not in names:
            reason = (proc.stderr.strip().splitlines() or ["it holds no working tree"])[-1]
            raise GittaskError(f"the agent's bundle was refused: {reason}")
        head = worktree.start
        if "head" in names:
            head = repo.git("rev-parse", "--verify", f"{quarantine}/head^{{commit}}").stdout.strip()
        tree = repo.git("rev-parse", "--verify", f"{quarantine}/worktree^{{tree}}").stdout.strip()
        worktree.git("update-ref", "--no-deref", "HEAD", head)
        worktree.git("read-tree", "--reset", "-u", tree)
    finally:
        for name in ("head", "worktree"):
            with contextlib.suppress(GittaskError):
                repo.git("update-ref", "-d", f"{quarantine}/{name}", check=False)
    return (
        f"took the agent's work from its bundle ({bundle.stat().st_size} bytes): HEAD {head[:12]}"
    )
