"""A run claims its number on the remote before its container starts.

With ``sync.auto`` and a reachable remote, the run's ``running`` record (run
number, who and where: ``claimed_by``, since when: ``started_at``) is pushed by
compare-and-swap (no force) before the agent starts:

- accepted: this clone owns run N;
- rejected because the remote moved: the remote's copy of the task is read
  before anything is merged. If another clone claimed run N (or a later one),
  or is running the task now, this run LOSES: its local claim is undone (the
  remote's state wins), no container starts, and the command exits non-zero
  naming who runs the task since when. Otherwise the change was elsewhere: merge
  and push again.

The loser is refused rather than made to wait: a run can take an hour, and the
one-line message says what to do (wait, ``task sync``, continue). A remote
that does not answer never blocks a run: the claim stays local (one notice).

The run's result is then published with its work branch, notes and run logs in
one atomic push (:func:`publish_result`).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import pygit2

from gittask.config import ProjectConfig
from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.notices import notice
from gittask.store import layout, sync
from gittask.store.database import TaskDatabase
from gittask.store.repo import GitRepo
from gittask.workflow import publish


def identity(repo: GitRepo) -> str:
    """Who runs a task, as the record shows it: ``Name <email> on host``."""
    try:
        host = socket.gethostname() or "unknown host"
    except OSError:
        host = "unknown host"
    return f"{repo.author_string()} on {host}"


def sync_remote(db: TaskDatabase, config: ProjectConfig) -> str | None:
    try:
        return publish.auto_remote(db, config)
    except GittaskError:
        return None


def fetch_and_merge(db: TaskDatabase, remote: str) -> bool:
    return publish.fetch_and_merge(db, remote)


def claimed_elsewhere(repo: GitRepo, task: TaskMetadata) -> bool:
    """Running, and the claim is another person's or another machine's."""
    return (
        task.status is TaskStatus.RUNNING
        and task.claimed_by is not None
        and task.claimed_by != identity(repo)
    )


def running_elsewhere(task: TaskMetadata) -> GittaskError:
    since = task.started_at.strftime("%Y-%m-%d %H:%M:%S UTC") if task.started_at else "a while"
    return GittaskError(
        f"task {task.id[:8]} is being run by {task.claimed_by or 'another clone'} since "
        f"{since} (run {task.run_count})",
        "wait for it, then `task sync` and continue",
    )


class ClaimLost(Exception):
    """Another clone claimed this run (or ran the task) first."""

    def __init__(self, theirs: TaskMetadata) -> None:
        super().__init__(theirs.id)
        self.theirs = theirs

    def refusal(self, db: TaskDatabase) -> GittaskError:
        theirs = self.theirs
        with contextlib.suppress(GittaskError):
            theirs = db.task(theirs.id)  # merged: what this clone now holds
        if theirs.status is TaskStatus.RUNNING:
            return running_elsewhere(theirs)
        return GittaskError(
            f"task {theirs.id[:8]} was run meanwhile by {theirs.claimed_by or 'another clone'} "
            f"(run {theirs.run_count}, {theirs.status.value})",
            f"look at it with `task show {theirs.id[:8]}`, then continue again",
        )


def remote_copy(db: TaskDatabase, remote: str, task_id: str) -> TaskMetadata | None:
    """The task as the remote-tracking ref holds it (None: not there, or unreadable)."""
    tip = db.repo.pygit.references.get(sync.tracking_ref(remote))
    if tip is None:
        return None
    try:
        target = tip.resolve().target
        if not isinstance(target, pygit2.Oid):
            return None
        return db.task(task_id, at=target)
    except (GittaskError, KeyError, ValueError, pygit2.GitError):
        return None  # not readable: the merge says what is wrong


def publish_claim(
    db: TaskDatabase, remote: str, task_id: str, run: int, started_at: datetime | None = None
) -> None:
    """Push the local claim of run ``run``; raise ClaimLost if another clone won.

    ``started_at`` is the claim's own time: a remote copy showing this very claim
    (another command of this clone pushed the data ref, claim included, first)
    is ours, not a rival's. Any other failure (unreachable, a broken remote
    branch, a hook) is a notice: the run goes on with a local claim.
    """
    me = identity(db.repo)

    def check() -> None:
        theirs = remote_copy(db, remote, task_id)
        if theirs is None:
            return
        if (
            started_at is not None
            and theirs.status is TaskStatus.RUNNING
            and theirs.run_count == run
            and theirs.started_at == started_at
            and theirs.claimed_by == me
        ):
            return  # our own claim, already carried there by another push from here
        taken = theirs.run_count >= run
        busy = theirs.status is TaskStatus.RUNNING and theirs.claimed_by not in (None, me)
        if taken or busy:
            raise ClaimLost(theirs)

    try:
        if remote in publish.unreachable_remotes():
            raise sync.RemoteUnreachable(f"{remote} is unreachable")
        sync.publish(db.repo, remote, env={"GIT_TERMINAL_PROMPT": "0"}, on_remote_moved=check)
    except sync.RemoteUnreachable:
        publish.mark_unreachable(remote)
        notice(publish.unreachable_line(remote))
    except GittaskError as exc:
        notice(f"warning: the run's claim is local only ({exc.message})")


def roll_back(
    db: TaskDatabase,
    remote: str,
    before: TaskMetadata,
    claimed: TaskMetadata,
    before_tip: pygit2.Oid | None,
) -> None:
    """Undo this clone's claim commit, then take the remote's state."""
    git = db.repo.pygit
    ref = git.references.get(layout.DATA_REF)
    undone = False
    if ref is not None and before_tip is not None:
        tip = ref.target
        commit = git.get(tip) if isinstance(tip, pygit2.Oid) else None
        if isinstance(commit, pygit2.Commit) and commit.parent_ids == [before_tip]:
            try:
                ref.set_target(before_tip, "claim lost: undo the local claim")
                undone = True
            except (pygit2.GitError, OSError):
                undone = False
    if not undone:
        fields = (
            "status",
            "started_at",
            "completed_at",
            "last_continued_at",
            "run_count",
            "agent",
            "container_id",
            "claimed_by",
            "error_message",
            "publish_error",
            "base_branch",
        )

        def undo(t: TaskMetadata) -> str:
            for name in fields:
                setattr(t, name, getattr(before, name))  # not a transition: it never ran
            return f"run {claimed.run_count} lost its claim to another clone"

        db.update(claimed.id, undo, "undo")
    db.reindex()
    with contextlib.suppress(GittaskError):
        sync.integrate(db.repo, remote)
        sync.merge_notes(db.repo, remote)
    db.refresh()
    publish.after_change(db)  # what else this clone holds (the feedback) goes out


def publish_result(
    db: TaskDatabase,
    remote: str,
    branches: Sequence[str],
    extra_refs: Sequence[str],
    env: Mapping[str, str] | None = None,
    on_remote_moved: Callable[[], None] | None = None,
    attempts: int = sync.MAX_PUSH_ATTEMPTS,
) -> str | None:
    """Publish a run's result (branch, logs, notes, record) at once; why not, or None."""
    try:
        publish.publish_now(
            db,
            remote,
            branches,
            extra_refs,
            env=env,
            on_remote_moved=on_remote_moved,
            attempts=attempts,
        )
    except sync.PushRejected as exc:
        return exc.reasons
    except GittaskError as exc:
        return exc.message
    return None
