"""Talking to the remote through the git executable: fetch, and pushes that never force."""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gittask.errors import GittaskError
from gittask.store import layout
from gittask.store.repo import GitRepo
from gittask.store.sync.integrate import IntegrateResult, integrate, merge_notes
from gittask.store.sync.refs import (
    DEFAULT_REMOTE,
    Progress,
    data_fetch_refspec,
    data_push_refspec,
    hex_of,
    last_line,
    notes_fetch_refspec,
    notes_tracking_ref,
    quiet,
    ref_oid,
    remote_refspec,
    require_remote,
    tracking_ref,
)
from gittask.text import one_line

MAX_PUSH_ATTEMPTS = 6
#: fetches of one clone at the same moment (a worker and its runs) race for the tracking refs
FETCH_ATTEMPTS = 8


def _lock_lost(stderr: str) -> bool:
    return "cannot lock ref" in stderr or "but expected" in stderr


@dataclass
class FetchResult:
    remote: str
    data_before: str | None
    data_after: str | None
    notes_before: str | None
    notes_after: str | None

    @property
    def moved(self) -> bool:
        return self.data_before != self.data_after or self.notes_before != self.notes_after


def fetch(
    repo: GitRepo,
    remote: str = DEFAULT_REMOTE,
    branch: str = layout.REMOTE_BRANCH,
    progress: Progress = quiet,
) -> FetchResult:
    """Fetch the remote's task branch and notes into their tracking refs."""
    require_remote(repo, remote)
    git = repo.pygit
    data_ref, notes_ref = tracking_ref(remote, branch), notes_tracking_ref(remote)
    before = (hex_of(ref_oid(git, data_ref)), hex_of(ref_oid(git, notes_ref)))
    progress(f"fetching tasks from {remote}")
    for attempt in range(FETCH_ATTEMPTS):
        proc = repo.git(
            "fetch",
            "--quiet",
            "--no-write-fetch-head",
            remote,
            data_fetch_refspec(remote, branch),
            notes_fetch_refspec(remote),
            check=False,
        )
        if proc.returncode == 0 or not _lock_lost(proc.stderr):
            break
        time.sleep(random.uniform(0.02, 0.1 * (attempt + 1)))  # another fetch of this clone
    if proc.returncode != 0:
        raise GittaskError(f"fetching tasks from {remote} failed: {last_line(proc)}")
    return FetchResult(
        remote,
        before[0],
        hex_of(ref_oid(git, data_ref)),
        before[1],
        hex_of(ref_oid(git, notes_ref)),
    )


@dataclass
class PushResult:
    remote: str
    pushed: list[str] = field(default_factory=list)  # local refs that moved the remote
    up_to_date: list[str] = field(default_factory=list)
    attempts: int = 0
    merges: list[IntegrateResult] = field(default_factory=list)  # made to retry


def _porcelain(stdout: str) -> list[tuple[str, str, str]]:
    """(flag, "src:dst", summary) lines of ``git push --porcelain``."""
    found = []
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            found.append((parts[0], parts[1], parts[2]))
    return found


# the remote moved on (or another push holds its ref lock right now): merge and retry
_RETRYABLE = ("non-fast-forward", "fetch first", "failed to update ref", "cannot lock ref")


def _retryable(summary: str) -> bool:
    return any(reason in summary for reason in _RETRYABLE)


class RemoteUnreachable(GittaskError):
    """The remote did not answer (network, DNS, a missing path): nothing was pushed."""


class PushRejected(GittaskError):
    """The remote refused the push for a reason a merge does not fix (a hook, a
    permission, a diverged work branch)."""

    def __init__(self, remote: str, reasons: str) -> None:
        super().__init__(f"pushing to {remote} failed: {reasons}")
        self.reasons = reasons


# what git prints when it never reached the remote
_UNREACHABLE = (
    "could not read from remote",
    "does not appear to be a git repository",
    "unable to access",
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "operation timed out",
    "network is unreachable",
    "no route to host",
    "couldn't connect to server",
    "failed to connect",
    "connection reset",
)


def unreachable(stderr: str) -> bool:
    """Whether git's error output says it never reached the remote."""
    text = stderr.lower()
    return any(marker in text for marker in _UNREACHABLE)


_NO_ATOMIC = "does not support --atomic"

_COLLATERAL = "atomic push failed"  # refused only because another ref of the push was

# the server's compare-and-swap lost to a push that landed at the same moment: every
# ref of an atomic push says this, and the server's stderr names the ref that moved
_RACED = "atomic transaction failed"


def _lost_race(stderr: str) -> bool:
    return any("cannot lock ref" in line or "but expected" in line for line in stderr.split("\n"))


def _groups(
    repo: GitRepo, branch: str, branches: Sequence[str], extra_refs: Sequence[str]
) -> list[list[str]]:
    """The refspecs to push, in the order a non-atomic server gets them: branches,
    extra refs (run logs), notes, data. A task never points at a missing branch."""
    git = repo.pygit
    work = []
    for name in branches:
        ref = name if name.startswith("refs/") else f"refs/heads/{name}"
        if ref_oid(git, ref) is None:
            raise GittaskError(f"there is no local branch '{name}' to push")
        work.append(f"{ref}:{ref}")
    extra = [remote_refspec(ref) for ref in extra_refs]
    notes = [f"{layout.NOTES_REF}:{layout.NOTES_REF}"] if ref_oid(git, layout.NOTES_REF) else []
    data = [data_push_refspec(branch)] if ref_oid(git, layout.DATA_REF) else []
    return [group for group in (work, extra, notes, data) if group]


def _failure_reasons(
    proc: subprocess.CompletedProcess[str], rejected: list[tuple[str, str]]
) -> str:
    reasons = [
        f"{spec.split(':', 1)[-1].removeprefix('refs/heads/')} {why}" for spec, why in rejected
    ]
    for line in proc.stderr.splitlines():
        text = line.strip()
        if text.startswith("remote:") and text[7:].strip():
            reasons.append(text)
    if not reasons:
        reasons = [last_line(proc)]
    return one_line("; ".join(reasons))


@dataclass
class _Pushed:
    proc: subprocess.CompletedProcess[str]
    rejected: list[tuple[str, str]]
    done: bool = False  # every group went through
    no_atomic: bool = False  # the server lacks --atomic: nothing was pushed


def _push_once(
    repo: GitRepo,
    remote: str,
    groups: list[list[str]],
    atomic: bool,
    env: Mapping[str, str] | None,
    result: PushResult,
) -> _Pushed:
    """One push of every group (atomic), or one push per group, stopping at a refusal."""
    proc: subprocess.CompletedProcess[str] | None = None
    for specs in [[s for g in groups for s in g]] if atomic else groups:
        flags = ["--atomic"] if atomic else []
        proc = repo.git(
            "push", "--porcelain", *flags, remote, *specs, check=False, env=dict(env or {})
        )
        if atomic and proc.returncode != 0 and _NO_ATOMIC in proc.stderr:
            return _Pushed(proc, [], no_atomic=True)
        lines = _porcelain(proc.stdout)
        for flag, spec, _ in lines:
            source = spec.split(":", 1)[0]
            if flag in ("*", " ", "+") and source not in result.pushed:
                result.pushed.append(source)
            elif flag == "=" and source not in result.up_to_date:
                result.up_to_date.append(source)
        rejected = [(spec, why) for flag, spec, why in lines if flag == "!"]
        if proc.returncode != 0 or rejected:
            if not lines and any(m in proc.stderr.lower() for m in _UNREACHABLE):
                raise RemoteUnreachable(f"{remote} is unreachable: {last_line(proc)}")
            return _Pushed(proc, rejected)
    assert proc is not None  # groups is never empty
    return _Pushed(proc, [], done=True)


def publish(
    repo: GitRepo,
    remote: str = DEFAULT_REMOTE,
    branches: Sequence[str] = (),
    extra_refs: Sequence[str] = (),
    branch: str = layout.REMOTE_BRANCH,
    progress: Progress = quiet,
    env: Mapping[str, str] | None = None,
    on_remote_moved: Callable[[], None] | None = None,
    attempts: int = MAX_PUSH_ATTEMPTS,
) -> PushResult:
    """Push work branches, extra refs, the notes and the data ref in ONE atomic push.

    Never forces: the server's fast-forward check is the remote compare-and-swap.
    Where the server does not support ``--atomic``, the groups go one push each,
    in the order of :func:`_groups`, stopping at the first failure. A rejected
    data or notes ref means the remote moved: fetch, merge, retry.
    ``on_remote_moved`` runs after that fetch, before the merge: it may raise to
    stop (a run's claim looks whether another clone claimed the same run).
    ``attempts``: pushes before giving up while others keep pushing (workers
    sharing one remote push often, and give their results more).

    Raises RemoteUnreachable when git never reached the remote, PushRejected when
    the remote refused for another reason (the message holds the server's words).
    """
    require_remote(repo, remote)
    result = PushResult(remote)
    shared = {data_push_refspec(branch), f"{layout.NOTES_REF}:{layout.NOTES_REF}"}
    atomic = True
    for attempt in range(1, attempts + 1):
        groups = _groups(repo, branch, branches, extra_refs)
        if not groups:
            return result
        result.attempts = attempt
        progress(f"pushing to {remote}")
        tried = _push_once(repo, remote, groups, atomic, env, result)
        if tried.done:
            return result  # every group went through
        if tried.no_atomic:
            atomic = False
            continue  # again, one group at a time
        _refuse_unless_moved(tried, shared, remote)
        if attempt == attempts:
            break
        progress(f"{remote} has task changes this clone does not: fetching and merging them")
        fetch(repo, remote, branch)
        if on_remote_moved is not None:
            on_remote_moved()
        merged = integrate(repo, remote, branch, progress)
        if merged.changed:
            result.merges.append(merged)
        merge_notes(repo, remote)
        time.sleep(random.uniform(0, 0.05 * min(attempt, 10)))
    raise GittaskError(
        f"pushing tasks to {remote} was rejected {attempts} times: "
        "others keep pushing at the same moment",
        "run 'claude-container task sync' again",
    )


def _refuse_unless_moved(tried: _Pushed, shared: set[str], remote: str) -> None:
    """PushRejected unless the rejection means the remote moved (a shared ref, or a
    lost race), so that fetching, merging and pushing again can succeed."""
    proc, rejected = tried.proc, tried.rejected
    real = [(spec, why) for spec, why in rejected if _COLLATERAL not in why]
    if real and all(_RACED in why for _, why in real) and _lost_race(proc.stderr):
        return  # another push updated a ref between our read and our write
    if not (real and all(spec in shared and _retryable(why) for spec, why in real)):
        raise PushRejected(remote, _failure_reasons(proc, real))


def push(
    repo: GitRepo,
    remote: str = DEFAULT_REMOTE,
    branch: str = layout.REMOTE_BRANCH,
    progress: Progress = quiet,
) -> PushResult:
    """Push the data ref (as branch ``claude-tasks``) and notes, never forcing.

    A non-fast-forward rejection means the remote moved: fetch, merge, retry.
    """
    return publish(repo, remote, branch=branch, progress=progress)
