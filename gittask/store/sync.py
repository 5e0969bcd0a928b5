"""Team sync: carry the task database between clones through a git remote.

On a remote the data ref ``refs/claude-tasks`` is the branch ``claude-tasks``
(a server refuses a ref directly under ``refs/``), so a plain clone fetches it
to ``refs/remotes/<remote>/claude-tasks``; notes travel as
``refs/notes/claude-tasks`` and are fetched to
``refs/notes/remotes/<remote>/claude-tasks``. Fetches only ever move those
tracking refs; this module folds them into the local refs:

- the data ref: fast-forward by compare-and-swap when the local tip is an
  ancestor (or absent), else a merge commit (:mod:`gittask.store.merge`)
  made with :meth:`TaskStore.commit`, so a concurrent local write is never lost;
- notes: ``git notes merge -s cat_sort_uniq`` (each note line stands alone).

Pushes never force: the server's fast-forward check is the remote
compare-and-swap. A rejected push fetches, merges and tries again.

Everything that talks to a remote goes through the ``git`` executable, so the
user's credentials, ssh config and the server's ref-name checks all apply.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pygit2

from gittask.errors import ConcurrentUpdateError, GittaskError
from gittask.notices import notice
from gittask.store import layout
from gittask.store.index import TaskIndex
from gittask.store.merge import InvalidHistoryError, MergeResult, check_incoming, merge_commits
from gittask.store.repo import GitRepo
from gittask.store.taskstore import TaskStore
from gittask.text import one_line

DEFAULT_REMOTE = layout.DEFAULT_REMOTE
MAX_PUSH_ATTEMPTS = 6
MAX_INTEGRATE_ATTEMPTS = 50
NOTES_MERGE_STRATEGY = "cat_sort_uniq"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# -- names ------------------------------------------------------------------------------


def tracking_ref(remote: str = DEFAULT_REMOTE, branch: str = layout.REMOTE_BRANCH) -> str:
    """Where a fetch leaves the remote's copy of the data ref."""
    return f"refs/remotes/{remote}/{branch}"


def notes_tracking_ref(remote: str = DEFAULT_REMOTE) -> str:
    """Where a fetch leaves the remote's task notes."""
    return f"refs/notes/remotes/{remote}/" + layout.NOTES_REF.removeprefix("refs/notes/")


def data_fetch_refspec(remote: str, branch: str = layout.REMOTE_BRANCH) -> str:
    # a partial glob: unlike an exact refspec, it does not break `git fetch`
    # while the remote has no such branch yet
    return f"+refs/heads/{branch}*:refs/remotes/{remote}/{branch}*"


def notes_fetch_refspec(remote: str) -> str:
    return f"+{layout.NOTES_REF}*:{notes_tracking_ref(remote)}*"


def data_push_refspec(branch: str = layout.REMOTE_BRANCH) -> str:
    """What the tool pushes for the data ref (never written to the git config)."""
    return f"{layout.DATA_REF}:refs/heads/{branch}"


# what older versions added to `remote.<name>.push`; removed on sight
NOTES_PUSH_REFSPEC = f"{layout.NOTES_REF}*:{layout.NOTES_REF}*"
# notes.rewriteRef: an exact name that does not exist yet makes every amend and
# rebase warn "notes ref ... is invalid"; a glob does not
NOTES_GLOB = f"{layout.NOTES_REF}*"


# -- small ref helpers ------------------------------------------------------------------


def _ref_oid(git: pygit2.Repository, name: str) -> pygit2.Oid | None:
    ref = git.references.get(name)
    if ref is None:
        return None
    try:
        target = ref.resolve().target
    except (KeyError, pygit2.GitError):
        return None
    return target if isinstance(target, pygit2.Oid) else None


def _remote_exists(repo: GitRepo, remote: str) -> bool:
    try:
        return f"remote.{remote}.url" in repo.pygit.config
    except pygit2.GitError:
        return False


def remote_exists(repo: GitRepo, remote: str) -> bool:
    """Whether the git remote ``remote`` is configured."""
    return _remote_exists(repo, remote)


def _require_remote(repo: GitRepo, remote: str) -> None:
    if not _remote_exists(repo, remote):
        raise GittaskError(
            f"there is no git remote '{remote}'",
            f"add one with: git remote add {remote} <url>",
        )


def _values(repo: GitRepo, key: str) -> list[str]:
    try:
        return [str(v) for v in repo.pygit.config.get_multivar(key)]
    except (KeyError, pygit2.GitError):
        return []


def _refspec_covers(spec: str, ref: str) -> bool:
    """Whether the fetch refspec ``spec`` takes the remote ref ``ref``."""
    if spec.startswith("^"):
        return False
    source = spec.lstrip("+").split(":", 1)[0]
    if "*" in source:
        head, _, tail = source.partition("*")
        return ref.startswith(head) and ref.endswith(tail) and len(ref) >= len(head) + len(tail)
    return source == ref


# -- configuration ----------------------------------------------------------------------

#: notes settings ``init`` makes: amend and rebase keep the task notes
NOTES_SETTINGS = (
    ("notes.rewrite.amend", "true"),
    ("notes.rewrite.rebase", "true"),
    ("notes.rewriteMode", NOTES_MERGE_STRATEGY),
)


def configure_remote(
    repo: GitRepo, remote: str = DEFAULT_REMOTE, branch: str = layout.REMOTE_BRANCH
) -> list[str]:
    """Make plain ``git fetch`` bring the task refs and amend/rebase keep the notes.

    Idempotent; returns one line per setting it changed.

    - notes: ``notes.rewriteRef`` (the glob ``refs/notes/claude-tasks*``: the
      exact name warns while it does not exist), ``notes.rewrite.amend``,
      ``notes.rewrite.rebase``, ``notes.rewriteMode``;
    - fetch: the notes into ``refs/notes/remotes/<remote>/claude-tasks`` (the
      branch ``claude-tasks`` already comes with ``+refs/heads/*``; a narrowed
      fetch refspec gets a partial glob for it). Both force-update tracking refs
      only, so no state of the remote's task data can make ``git fetch`` fail.

    Nothing is added to ``remote.<name>.push`` (any push line changes what a
    bare ``git push`` does, and a rejected task ref would make it exit 1): the
    tool publishes task data itself (:func:`publish`). What older versions added
    there, and ``notes.displayRef`` (it doubles the notes in
    ``git log --notes=claude-tasks``), is removed.
    """
    done = remove_legacy(repo, remote, branch)
    if not _notes_setting_present(repo, "notes.rewriteRef"):
        _add(repo, "notes.rewriteRef", NOTES_GLOB)
        done.append(f"set notes.rewriteRef = {NOTES_GLOB} (amend and rebase keep task notes)")
    for key, value in NOTES_SETTINGS:
        if repo.config_get(key) != value:
            repo.git("config", key, value)
            done.append(f"set {key} = {value}")
    if not _remote_exists(repo, remote):
        return done
    fetch_key = f"remote.{remote}.fetch"
    if not any(_refspec_covers(s, f"refs/heads/{branch}") for s in _values(repo, fetch_key)):
        spec = data_fetch_refspec(remote, branch)
        _add(repo, fetch_key, spec)
        done.append(f"added {fetch_key} = {spec} (git fetch brings the tasks)")
    spec = notes_fetch_refspec(remote)
    if spec not in _values(repo, fetch_key):
        _add(repo, fetch_key, spec)
        done.append(f"added {fetch_key} = {spec} (git fetch brings the task notes)")
    return done


def remove_legacy(
    repo: GitRepo, remote: str = DEFAULT_REMOTE, branch: str = layout.REMOTE_BRANCH
) -> list[str]:
    """Remove the push refspecs and ``notes.displayRef`` older versions added."""
    done = []
    for key in _keys_matching(repo, r"^remote\..*\.push$"):
        values = _values(repo, key)
        ours = [v for v in values if _legacy_push(v)]
        if not ours:
            continue
        # `HEAD` was ours when it stood only next to our refspecs
        extra = ["HEAD"] if set(values) - set(ours) == {"HEAD"} else []
        for value in [*ours, *extra]:
            _unset(repo, key, value)
            done.append(f"removed {key} = {value}")
    for value in _values(repo, "notes.displayRef"):
        if value in (NOTES_GLOB, layout.NOTES_REF):
            _unset(repo, "notes.displayRef", value)
            done.append(f"removed notes.displayRef = {value}")
    return done


def unconfigure_remote(
    repo: GitRepo, remote: str = DEFAULT_REMOTE, branch: str = layout.REMOTE_BRANCH
) -> list[str]:
    """Remove every setting :func:`configure_remote` (or an older version) made."""
    done = remove_legacy(repo, remote, branch)
    for key in _keys_matching(repo, r"^remote\..*\.fetch$"):
        name = key[len("remote.") : -len(".fetch")]
        for value in _values(repo, key):
            if value in (data_fetch_refspec(name, branch), notes_fetch_refspec(name)):
                _unset(repo, key, value)
                done.append(f"removed {key} = {value}")
    for value in _values(repo, "notes.rewriteRef"):
        if value in (NOTES_GLOB, layout.NOTES_REF):
            _unset(repo, "notes.rewriteRef", value)
            done.append(f"removed notes.rewriteRef = {value}")
    for key, value in NOTES_SETTINGS:
        if repo.config_get(key) == value:
            repo.git("config", "--unset-all", key, check=False)
            done.append(f"removed {key} = {value}")
    return done


def _legacy_push(value: str) -> bool:
    return value == NOTES_PUSH_REFSPEC or value.startswith(f"{layout.DATA_REF}:")


def _keys_matching(repo: GitRepo, pattern: str) -> list[str]:
    listed = repo.git("config", "--local", "--get-regexp", pattern, check=False).stdout
    keys: list[str] = []
    for line in listed.splitlines():
        key = line.partition(" ")[0]
        if key not in keys:
            keys.append(key)
    return keys


def forget_data_push(repo: GitRepo) -> None:
    """Drop push refspecs for the data ref that older versions added."""
    for key in _keys_matching(repo, r"^remote\..*\.push$"):
        for value in _values(repo, key):
            if value.startswith(f"{layout.DATA_REF}:"):
                _unset(repo, key, value)


def _notes_setting_present(repo: GitRepo, key: str) -> bool:
    return bool({NOTES_GLOB, layout.NOTES_REF} & set(_values(repo, key)))


def _add(repo: GitRepo, key: str, value: str) -> None:
    if value not in _values(repo, key):
        # --replace-all with a literal value pattern: idempotent even when racing
        repo.git("config", "--fixed-value", "--replace-all", key, value, value)


def _unset(repo: GitRepo, key: str, value: str) -> None:
    repo.git("config", "--local", "--fixed-value", "--unset-all", key, value, check=False)


def needs_configuration(
    repo: GitRepo, remote: str = DEFAULT_REMOTE, branch: str = layout.REMOTE_BRANCH
) -> bool:
    """A cheap check (config reads only): would configure_remote change anything?"""
    if not _notes_setting_present(repo, "notes.rewriteRef"):
        return True
    if _notes_setting_present(repo, "notes.displayRef"):
        return True  # an older version's: to be removed
    if not _remote_exists(repo, remote):
        return False
    if any(_legacy_push(v) for v in _values(repo, f"remote.{remote}.push")):
        return True
    return notes_fetch_refspec(remote) not in _values(repo, f"remote.{remote}.fetch")


def ensure_configured(repo: GitRepo, remote: str = DEFAULT_REMOTE) -> bool:
    """configure_remote if the cheap check says so; never fails (best effort).

    Called after writes to the data ref, so the first task configures the
    clone (and removes what older versions configured). True if it ran.
    """
    try:
        if not needs_configuration(repo, remote):
            return False
        configure_remote(repo, remote)
    except (GittaskError, pygit2.GitError, OSError):
        return False
    return True


# -- fetch ------------------------------------------------------------------------------


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


def _hex(oid: pygit2.Oid | None) -> str | None:
    return str(oid) if oid is not None else None


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [x.strip() for x in (proc.stderr or proc.stdout or "").splitlines() if x.strip()]
    for line in reversed(lines):
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else f"exit code {proc.returncode}"


def fetch(
    repo: GitRepo,
    remote: str = DEFAULT_REMOTE,
    branch: str = layout.REMOTE_BRANCH,
    progress: Progress = _quiet,
) -> FetchResult:
    """Fetch the remote's task branch and notes into their tracking refs."""
    _require_remote(repo, remote)
    git = repo.pygit
    data_ref, notes_ref = tracking_ref(remote, branch), notes_tracking_ref(remote)
    before = (_hex(_ref_oid(git, data_ref)), _hex(_ref_oid(git, notes_ref)))
    progress(f"fetching tasks from {remote}")
    proc = repo.git(
        "fetch",
        "--quiet",
        "--no-write-fetch-head",
        remote,
        data_fetch_refspec(remote, branch),
        notes_fetch_refspec(remote),
        check=False,
    )
    if proc.returncode != 0:
        raise GittaskError(f"fetching tasks from {remote} failed: {_last_line(proc)}")
    return FetchResult(
        remote,
        before[0],
        _hex(_ref_oid(git, data_ref)),
        before[1],
        _hex(_ref_oid(git, notes_ref)),
    )


# -- integrate: fold the tracking ref into the data ref ---------------------------------


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
    progress: Progress = _quiet,
) -> IntegrateResult:
    """Bring what was fetched into ``refs/claude-tasks``: nothing, a fast-forward or a merge.

    Raises InvalidHistoryError (and writes nothing) when the tracking ref
    does not hold task records (garbage, a hostile record): see :func:`broken_remote`.
    """
    try:
        return _integrate(repo, remote, branch, progress)
    except InvalidHistoryError as exc:
        raise broken_remote(remote, branch, exc) from None


def _integrate(
    repo: GitRepo, remote: str, branch: str, progress: Progress
) -> IntegrateResult:
    git = repo.pygit
    store = TaskStore(repo)
    tracking = tracking_ref(remote, branch)
    for _ in range(MAX_INTEGRATE_ATTEMPTS):
        target = _ref_oid(git, tracking)
        if target is None:
            return IntegrateResult("none", remote)
        theirs = _peel_commit(git, tracking, target)
        ref = git.references.get(layout.DATA_REF)
        held = ref.target if ref is not None else None  # what the swap compares against
        local = held if isinstance(held, pygit2.Oid) else None
        result = IntegrateResult("up to date", remote, _hex(local), _hex(local), str(theirs))
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
    theirs = _ref_oid(git, source)
    if theirs is None:
        return "none"
    local = _ref_oid(git, layout.NOTES_REF)
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
        raise GittaskError(f"merging notes from {source} failed: {_last_line(proc)}")
    return "merge"


# -- push -------------------------------------------------------------------------------


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
_NO_ATOMIC = "does not support --atomic"
_COLLATERAL = "atomic push failed"  # refused only because another ref of the push was
# the server's compare-and-swap lost to a push that landed at the same moment: every
# ref of an atomic push says this, and the server's stderr names the ref that moved
_RACED = "atomic transaction failed"


def _lost_race(stderr: str) -> bool:
    return any("cannot lock ref" in line or "but expected" in line for line in stderr.split("\n"))


def remote_refspec(ref: str) -> str:
    """The push refspec for a local ref: branches keep their name, other refs go
    under ``refs/heads/`` (a server refuses most names outside it); "src:dst" as given."""
    if ":" in ref:
        return ref
    if ref.startswith("refs/heads/"):
        return f"{ref}:{ref}"
    return f"{ref}:refs/heads/{ref.removeprefix('refs/')}"


def _groups(
    repo: GitRepo, branch: str, branches: Sequence[str], extra_refs: Sequence[str]
) -> list[list[str]]:
    """The refspecs to push, in the order a non-atomic server gets them: branches,
    extra refs (run logs), notes, data. A task never points at a missing branch."""
    git = repo.pygit
    work = []
    for name in branches:
        ref = name if name.startswith("refs/") else f"refs/heads/{name}"
        if _ref_oid(git, ref) is None:
            raise GittaskError(f"there is no local branch '{name}' to push")
        work.append(f"{ref}:{ref}")
    extra = [remote_refspec(ref) for ref in extra_refs]
    notes = [f"{layout.NOTES_REF}:{layout.NOTES_REF}"] if _ref_oid(git, layout.NOTES_REF) else []
    data = [data_push_refspec(branch)] if _ref_oid(git, layout.DATA_REF) else []
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
        reasons = [_last_line(proc)]
    return one_line("; ".join(reasons))


def publish(
    repo: GitRepo,
    remote: str = DEFAULT_REMOTE,
    branches: Sequence[str] = (),
    extra_refs: Sequence[str] = (),
    branch: str = layout.REMOTE_BRANCH,
    progress: Progress = _quiet,
    env: Mapping[str, str] | None = None,
    on_remote_moved: Callable[[], None] | None = None,
) -> PushResult:
    """Push work branches, extra refs, the notes and the data ref in ONE atomic push.

    Never forces: the server's fast-forward check is the remote compare-and-swap.
    Where the server does not support ``--atomic``, the groups go one push each,
    in the order of :func:`_groups`, stopping at the first failure. A rejected
    data or notes ref means the remote moved: fetch, merge, retry.
    ``on_remote_moved`` runs after that fetch, before the merge: it may raise to
    stop (a run's claim looks whether another clone claimed the same run).

    Raises RemoteUnreachable when git never reached the remote, PushRejected when
    the remote refused for another reason (the message holds the server's words).
    """
    _require_remote(repo, remote)
    result = PushResult(remote)
    shared = {data_push_refspec(branch), f"{layout.NOTES_REF}:{layout.NOTES_REF}"}
    atomic = True
    for attempt in range(1, MAX_PUSH_ATTEMPTS + 1):
        groups = _groups(repo, branch, branches, extra_refs)
        if not groups:
            return result
        result.attempts = attempt
        progress(f"pushing to {remote}")
        rejected: list[tuple[str, str]] = []
        proc: subprocess.CompletedProcess[str] | None = None
        for specs in [[s for g in groups for s in g]] if atomic else groups:
            flags = ["--atomic"] if atomic else []
            args = ["push", "--porcelain", *flags, remote, *specs]
            proc = repo.git(*args, check=False, env=dict(env or {}))
            if atomic and proc.returncode != 0 and _NO_ATOMIC in proc.stderr:
                atomic = False
                break
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
                    raise RemoteUnreachable(f"{remote} is unreachable: {_last_line(proc)}")
                break
        else:
            return result  # every group went through
        if not atomic and proc is not None and _NO_ATOMIC in proc.stderr:
            continue  # again, one group at a time
        assert proc is not None
        real = [(spec, why) for spec, why in rejected if _COLLATERAL not in why]
        if real and all(_RACED in why for _, why in real) and _lost_race(proc.stderr):
            retry = True  # another push updated a ref between our read and our write
        else:
            retry = bool(real) and all(spec in shared and _retryable(why) for spec, why in real)
        if not retry:
            raise PushRejected(remote, _failure_reasons(proc, real))
        if attempt == MAX_PUSH_ATTEMPTS:
            break
        progress(f"{remote} has task changes this clone does not: fetching and merging them")
        fetch(repo, remote, branch)
        if on_remote_moved is not None:
            on_remote_moved()
        merged = integrate(repo, remote, branch, progress)
        if merged.changed:
            result.merges.append(merged)
        merge_notes(repo, remote)
        time.sleep(random.uniform(0, 0.05 * attempt))
    raise GittaskError(
        f"pushing tasks to {remote} was rejected {MAX_PUSH_ATTEMPTS} times: "
        "others keep pushing at the same moment",
        "run 'claude-container task sync' again",
    )


def push(
    repo: GitRepo,
    remote: str = DEFAULT_REMOTE,
    branch: str = layout.REMOTE_BRANCH,
    progress: Progress = _quiet,
) -> PushResult:
    """Push the data ref (as branch ``claude-tasks``) and notes, never forcing.

    A non-fast-forward rejection means the remote moved: fetch, merge, retry.
    """
    return publish(repo, remote, branch=branch, progress=progress)


# -- the whole round trip ---------------------------------------------------------------


@dataclass
class SyncResult:
    remote: str
    fetched: FetchResult | None = None
    integrated: IntegrateResult | None = None
    notes: str = "none"
    pushed: PushResult | None = None
    local_tip: str | None = None

    def _merges(self) -> list[IntegrateResult]:
        found = [self.integrated] if self.integrated and self.integrated.changed else []
        return found + (self.pushed.merges if self.pushed else [])

    def summary(self) -> str:
        parts = []
        merges = self._merges()
        tasks_in = sum(m.tasks_in for m in merges)
        conflicts = sum(len(m.merge.conflicts) for m in merges if m.merge)
        deletes = sum(len(m.merge.deletes_kept) for m in merges if m.merge)
        if merges:
            how = "merged" if any(m.action == "merge" for m in merges) else "fast-forwarded"
            text = f"{how} {tasks_in} task{'' if tasks_in == 1 else 's'} from {self.remote}"
            extra = []
            if conflicts:
                extra.append(f"{conflicts} conflict{'' if conflicts == 1 else 's'} resolved")
            if deletes:
                extra.append(f"{deletes} delete{'' if deletes == 1 else 's'} kept")
            parts.append(text + (f" ({', '.join(extra)})" if extra else ""))
        if self.notes in ("merge", "fast-forward"):
            parts.append(f"notes from {self.remote} merged")
        if self.pushed is not None and self.pushed.pushed:
            names = ["tasks" if r == layout.DATA_REF else "notes" for r in self.pushed.pushed]
            parts.append(f"pushed {' and '.join(names)} to {self.remote}")
        if not parts:
            return f"tasks up to date with {self.remote}"
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        merges = self._merges()
        return {
            "remote": self.remote,
            "summary": self.summary(),
            "fetched": self.fetched.moved if self.fetched else False,
            "merges": [m.to_dict() for m in merges],
            "action": self.integrated.action if self.integrated else None,
            "tasks_in": sum(m.tasks_in for m in merges),
            "notes": self.notes,
            "pushed": [
                "tasks" if r == layout.DATA_REF else "notes"
                for r in (self.pushed.pushed if self.pushed else [])
            ],
            "push_attempts": self.pushed.attempts if self.pushed else 0,
            "local_tip": self.local_tip,
        }


def pull(
    repo: GitRepo,
    remote: str = DEFAULT_REMOTE,
    branch: str = layout.REMOTE_BRANCH,
    progress: Progress = _quiet,
) -> SyncResult:
    """Fetch, then merge the remote's tasks and notes into the local refs."""
    configure_remote(repo, remote, branch)
    result = SyncResult(remote)
    result.fetched = fetch(repo, remote, branch, progress)
    result.integrated = integrate(repo, remote, branch, progress)
    result.notes = merge_notes(repo, remote)
    result.local_tip = _hex(_ref_oid(repo.pygit, layout.DATA_REF))
    return result


def push_tasks(
    repo: GitRepo,
    remote: str = DEFAULT_REMOTE,
    branch: str = layout.REMOTE_BRANCH,
    progress: Progress = _quiet,
) -> SyncResult:
    """Push the local tasks and notes (merging first if the remote moved on)."""
    configure_remote(repo, remote, branch)
    result = SyncResult(remote)
    result.pushed = push(repo, remote, branch, progress)
    result.local_tip = _hex(_ref_oid(repo.pygit, layout.DATA_REF))
    return result


def sync(
    repo: GitRepo,
    remote: str = DEFAULT_REMOTE,
    branch: str = layout.REMOTE_BRANCH,
    progress: Progress = _quiet,
) -> SyncResult:
    """Fetch, merge and push: afterwards both sides hold the same tasks."""
    result = pull(repo, remote, branch, progress)
    configure_remote(repo, remote, branch)  # the data ref may exist only now
    result.pushed = push(repo, remote, branch, progress)
    result.local_tip = _hex(_ref_oid(repo.pygit, layout.DATA_REF))
    return result


# -- the read-path hook -----------------------------------------------------------------


def integrate_fetched(repo: GitRepo, index: TaskIndex, remote: str = DEFAULT_REMOTE) -> str:
    """Fold in what a plain ``git fetch`` brought, before a command reads tasks.

    Cheap when nothing arrived: two ref reads and one index lookup. Returns
    the remote-tracking tip now contained in the data ref ("" if none), which
    the index keeps as ``remote_seen`` so the read-only fast path can tell
    that nothing new arrived.
    """
    git = repo.pygit
    notes = _ref_oid(git, notes_tracking_ref(remote))
    if notes is not None and index.get_meta("remote_notes_seen") != str(notes):
        with contextlib.suppress(GittaskError):  # `task sync` reports notes problems
            merge_notes(repo, remote)
        index.set_meta("remote_notes_seen", str(notes))
    theirs = _ref_oid(git, tracking_ref(remote))
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
