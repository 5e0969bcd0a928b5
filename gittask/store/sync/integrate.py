"""Folding the remote-tracking refs into the local ones: the data ref, then notes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import pygit2

from gittask.errors import ConcurrentUpdateError, GittaskError
from gittask.notices import notice
from gittask.store import layout
from gittask.store.index import TaskIndex
from gittask.store.merge import InvalidHistoryError, MergeResult, check_incoming, merge_commits
from gittask.store.repo import GitRepo
from gittask.store.sync.configure import ensure_configured
from gittask.store.sync.refs import (
    DEFAULT_REMOTE,
    NOTES_MERGE_STRATEGY,
    Progress,
    hex_of,
    last_line,
    notes_tracking_ref,
    quiet,
    ref_oid,
    tracking_ref,
)
from gittask.store.taskstore import TaskStore

MAX_INTEGRATE_ATTEMPTS = 50


@dataclass
class IntegrateResult:
    action: str  # "none" (nothing there), "up to date", "fast-forward", "merge"
    remote: str
    local_before: str | None = None
    local_after: str | None = None
    theirs: str | None = None
    tasks_in: int = 0
    merge: MergeResult | None = None

    @property
    def changed(self) -> bool:
        return self.action in ("fast-forward", "merge")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": self.action,
            "local_before": self.local_before,
            "local_after": self.local_after,
            "remote_tip": self.theirs,
            "tasks_in": self.tasks_in,
            "conflicts": [],
            "deletes_kept": [],
        }
        if self.merge is not None:
            data["conflicts"] = [c.to_dict() for c in self.merge.conflicts]
            data["deletes_kept"] = [d.to_dict() for d in self.merge.deletes_kept]
        return data


class _Moved(Exception):
    """The local data ref moved while a merge was being built: start over."""


def _peel_commit(git: pygit2.Repository, ref: str, oid: pygit2.Oid) -> pygit2.Oid:
    obj: object
    try:
        obj = git[oid]
    except (KeyError, ValueError):
        obj = None
    if isinstance(obj, pygit2.Tag):
        obj = obj.peel(pygit2.Commit)
    if not isinstance(obj, pygit2.Commit):
        kind = type(obj).__name__.lower() if obj is not None else "missing object"
        reason = f"it points at a {kind} ({str(oid)[:12]}), not a commit"
        raise InvalidHistoryError(
            f"{ref} is not a valid task history: {reason}",
            f"local tasks are unchanged; repair the remote branch, or drop this copy with: "
            f"git update-ref -d {ref}",
            reason=reason,
        )
    return obj.id


def _cas_ref(
    git: pygit2.Repository, name: str, old: pygit2.Reference | None, new: pygit2.Oid, why: str
) -> bool:
    try:
        if old is None:
            git.create_reference_direct(name, new, False, message=why)
        else:
            old.set_target(new, why)
    except (pygit2.AlreadyExistsError, pygit2.GitError, OSError):
        return False
    return True


def _merge_commit(
    store: TaskStore, local: pygit2.Oid, theirs: pygit2.Oid, remote: str, tracking: str
) -> tuple[pygit2.Oid, MergeResult]:
    """The merge commit of ``theirs`` into ``local``, by compare-and-swap on the data ref."""
    found: list[MergeResult] = []

    def build(root: pygit2.Tree | None) -> tuple[pygit2.Oid, str]:
        if store.tip() != local:
            raise _Moved  # decide again: maybe a fast-forward, maybe nothing to do
        merged = merge_commits(store.git, local, theirs, theirs_label=remote, theirs_ref=tracking)
        found[:] = [merged]
        return merged.tree, merged.message(remote, tracking, theirs, local)

    new = store.commit(build, extra_parents=[theirs])
    return new, found[0]


def broken_remote(remote: str, branch: str, exc: InvalidHistoryError) -> InvalidHistoryError:
    """The one-line refusal for a remote task branch that is not task data, with the repair."""
    return InvalidHistoryError(
        f"{remote}'s {branch} is not task data ({exc.reason}): nothing was merged and "
        "local tasks are unchanged",
        f"inspect it with `git log {remote}/{branch}`; to replace it with yours: "
        f"`git push --force {remote} {layout.DATA_REF}:refs/heads/{branch}`",
        reason=exc.reason,
    )


def broken_remote_warning(remote: str, exc: InvalidHistoryError) -> str:
    """The one warning line a command that goes on with local data prints."""
    return (
        f"warning: {remote}'s {layout.REMOTE_BRANCH} is not task data ({exc.reason}): "
        "showing local tasks only; `task sync` says how to repair it"
    )


def integrate(
    repo: GitRepo,
    remote: str = DEFAULT_REMOTE,
    branch: str = layout.REMOTE_BRANCH,
    progress: Progress = quiet,
) -> IntegrateResult:
    """Bring what was fetched into ``refs/claude-tasks``: nothing, a fast-forward or a merge.

    Raises InvalidHistoryError (and writes nothing) when the tracking ref
    does not hold task records (garbage, a hostile record): see :func:`broken_remote`.
    """
    try:
        return _integrate(repo, remote, branch, progress)
    except InvalidHistoryError as exc:
        raise broken_remote(remote, branch, exc) from None


def _integrate(repo: GitRepo, remote: str, branch: str, progress: Progress) -> IntegrateResult:
    git = repo.pygit
    store = TaskStore(repo)
    tracking = tracking_ref(remote, branch)
    for _ in range(MAX_INTEGRATE_ATTEMPTS):
        target = ref_oid(git, tracking)
        if target is None:
            return IntegrateResult("none", remote)
        theirs = _peel_commit(git, tracking, target)
        ref = git.references.get(layout.DATA_REF)
        held = ref.target if ref is not None else None  # what the swap compares against
        local = held if isinstance(held, pygit2.Oid) else None
        result = IntegrateResult("up to date", remote, hex_of(local), hex_of(local), str(theirs))
        if local == theirs or (local is not None and git.descendant_of(local, theirs)):
            return result
        if local is None or git.descendant_of(theirs, local):
            incoming = check_incoming(git, local, theirs, theirs_ref=tracking)
            n = len(incoming)
            progress(f"fast-forwarding {n} task{'' if n == 1 else 's'} from {remote}")
            if not _cas_ref(git, layout.DATA_REF, ref, theirs, f"fast-forward to {tracking}"):
                continue
            ensure_configured(repo, remote)
            result.action, result.local_after, result.tasks_in = "fast-forward", str(theirs), n
            return result
        progress(f"merging tasks from {remote}")
        try:
            new, merged = _merge_commit(store, local, theirs, remote, tracking)
        except _Moved:
            continue
        result.action, result.local_after = "merge", str(new)
        result.tasks_in, result.merge = len(merged.incoming), merged
        return result
    raise ConcurrentUpdateError(
        f"{layout.DATA_REF} kept changing while merging {tracking}; nothing was merged",
        "try again",
    )


def merge_notes(repo: GitRepo, remote: str = DEFAULT_REMOTE) -> str:
    """Fold the fetched notes into ``refs/notes/claude-tasks`` (line union).

    Returns "none", "up to date", "fast-forward" or "merge".
    """
    git = repo.pygit
    source = notes_tracking_ref(remote)
    theirs = ref_oid(git, source)
    if theirs is None:
        return "none"
    local = ref_oid(git, layout.NOTES_REF)
    if local == theirs or (local is not None and git.descendant_of(local, theirs)):
        return "up to date"
    if local is None:
        zero = "0" * len(str(theirs))  # update only if it still does not exist
        proc = repo.git("update-ref", layout.NOTES_REF, str(theirs), zero, check=False)
        if proc.returncode == 0:
            return "fast-forward"
    proc = repo.git(
        "notes",
        f"--ref={layout.NOTES_REF}",
        "merge",
        "--quiet",
        f"--strategy={NOTES_MERGE_STRATEGY}",
        source,
        check=False,
    )
    if proc.returncode != 0:
        raise GittaskError(f"merging notes from {source} failed: {last_line(proc)}")
    return "merge"


def integrate_fetched(repo: GitRepo, index: TaskIndex, remote: str = DEFAULT_REMOTE) -> str:
    """Fold in what a plain ``git fetch`` brought, before a command reads tasks.

    Cheap when nothing arrived: two ref reads and one index lookup. Returns
    the remote-tracking tip now contained in the data ref ("" if none), which
    the index keeps as ``remote_seen`` so the read-only fast path can tell
    that nothing new arrived.
    """
    git = repo.pygit
    notes = ref_oid(git, notes_tracking_ref(remote))
    if notes is not None and index.get_meta("remote_notes_seen") != str(notes):
        with contextlib.suppress(GittaskError):  # `task sync` reports notes problems
            merge_notes(repo, remote)
        index.set_meta("remote_notes_seen", str(notes))
    theirs = ref_oid(git, tracking_ref(remote))
    if theirs is None:
        return ""
    if index.get_meta("remote_seen") == str(theirs):
        return str(theirs)
    try:
        integrate(repo, remote)
    except InvalidHistoryError as exc:
        # local reads go on with local data; `task sync` refuses and says how to repair
        notice(broken_remote_warning(remote, exc))
        return ""  # not seen: the next read looks (and warns) again
    return str(theirs)


@dataclass(frozen=True)
class SyncLink:
    """The database's link to one remote (see :class:`gittask.store.database.RemoteLink`)."""

    remote: str = DEFAULT_REMOTE

    def integrate(self, repo: GitRepo, index: TaskIndex) -> str:
        return integrate_fetched(repo, index, self.remote)

    def after_write(self, repo: GitRepo) -> None:
        ensure_configured(repo, self.remote)  # the first task sets up the fetch refspecs
