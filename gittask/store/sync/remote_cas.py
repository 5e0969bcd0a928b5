"""Compare-and-swap on the remote itself: a change built on the remote's tip, pushed by id.

A worker's lease is decided on the remote: claiming a task, renewing the lease,
giving the task back and asking a worker to stop are each one commit made on
the remote's task branch as just fetched (never on the local data ref), pushed
without force. The server accepts it only when its branch has not moved since
that fetch: a compare-and-swap. When it moved, fetch and decide again (the
change sees the new state and may refuse by raising). Only an accepted change
is then merged into the local data ref, so a lost race leaves nothing to undo.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Mapping

import pygit2

from gittask.errors import GittaskError
from gittask.model import TaskMetadata
from gittask.store import layout
from gittask.store.repo import GitRepo
from gittask.store.sync.integrate import integrate
from gittask.store.sync.refs import last_line, ref_oid, tracking_ref
from gittask.store.sync.transport import PushRejected, RemoteUnreachable, fetch, unreachable

#: how often the remote may move under one change before giving up
MAX_REMOTE_ATTEMPTS = 40

Change = Callable[[TaskMetadata], "str | None"]

# a push the server refused because its branch moved since the fetch
_MOVED = ("fetch first", "non-fast-forward", "failed to update ref", "cannot lock ref")


def update_remote(
    repo: GitRepo,
    remote: str,
    changes: Mapping[str, Change],
    verb: str,
    *,
    fetched: bool = False,
    branch: str = layout.REMOTE_BRANCH,
    env: Mapping[str, str] | None = None,
) -> dict[str, TaskMetadata]:
    """Apply ``changes`` (task id -> edit, as ``TaskStore.update`` takes) to the
    remote's tasks in one commit, by compare-and-swap; the records as written.

    ``fetched``: the tracking ref was fetched just now (the first attempt skips
    the fetch). A change may raise to give up: nothing is written anywhere then.
    Raises RemoteUnreachable, PushRejected, or GittaskError after too many races.
    """
    from gittask.store.taskstore import TaskStore

    git = repo.pygit
    for attempt in range(MAX_REMOTE_ATTEMPTS):
        if attempt or not fetched:
            fetch(repo, remote, branch)
        tip = ref_oid(git, tracking_ref(remote, branch))
        if tip is None:
            raise GittaskError(f"{remote} has no task data (branch {branch}) yet")
        scratch = f"refs/claude-tasks-cas/{os.getpid()}-{secrets.token_hex(4)}"
        git.references.create(scratch, tip, force=True)
        try:
            store = TaskStore(repo, scratch)
            written = {
                task_id: store.update(task_id, change, verb) for task_id, change in changes.items()
            }
            new = store.tip()
            assert new is not None
            if _push(repo, remote, new, branch, env):
                _follow(repo, remote, branch, tip, new)
                return written
        finally:
            git.references.delete(scratch)
    raise GittaskError(
        f"the task data on {remote} kept moving: gave up after {MAX_REMOTE_ATTEMPTS} attempts",
        "try again",
    )


def _push(
    repo: GitRepo, remote: str, commit: pygit2.Oid, branch: str, env: Mapping[str, str] | None
) -> bool:
    """Push ``commit`` as the remote's task branch, never forced; False: it moved meanwhile."""
    proc = repo.git(
        "push",
        "--porcelain",
        remote,
        f"{commit}:refs/heads/{branch}",
        check=False,
        env={"GIT_TERMINAL_PROMPT": "0", **(env or {})},
    )
    if proc.returncode == 0:
        return True
    rejected = [line for line in proc.stdout.splitlines() if line.startswith("!")]
    if not rejected and unreachable(proc.stderr):
        raise RemoteUnreachable(f"{remote} is unreachable: {last_line(proc)}")
    reasons = " ".join(rejected) + " " + proc.stderr
    if any(moved in reasons for moved in _MOVED):
        return False
    raise PushRejected(remote, " ".join(r.rsplit("\t", 1)[-1] for r in rejected) or last_line(proc))


def _follow(repo: GitRepo, remote: str, branch: str, old: pygit2.Oid, new: pygit2.Oid) -> None:
    """The remote now holds ``new``: so does the tracking ref, and the local data ref merges it."""
    ref = repo.pygit.references.get(tracking_ref(remote, branch))
    if ref is not None and ref.target == old:
        # a fetch may have moved it meanwhile: then it holds ours, or a descendant
        with contextlib.suppress(pygit2.GitError, OSError):
            ref.set_target(new, "claude-container: pushed by compare-and-swap")
    integrate(repo, remote, branch)
