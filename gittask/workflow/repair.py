"""``doctor``'s second half: check everything derived from git, and rebuild what is wrong.

Derived state is whatever can be made again from the refs without losing a
thing: the SQLite index, the working copy ``.claude-container/tasks/``, the
remote's refspecs and notes settings, ref lock files a crash left, and what
crashed runs left on this machine (worktrees, containers, run markers). Each
check gives one :class:`Finding`: what was wrong and what was done about it.
Task records are never changed here, except that a record still ``running``
for a run whose process died here is recorded as failed (as ``clean`` does).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gittask.errors import GittaskError
from gittask.store import layout, locks

if TYPE_CHECKING:
    from gittask.store.database import TaskDatabase
    from gittask.store.repo import GitRepo


@dataclass
class Finding:
    what: str  # index, working copy, refspecs, ref lock, leftovers
    problem: str
    done: str | None = None  # None: only reported (``--no-repair``, or it cannot be fixed here)

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "problem": self.problem, "done": self.done}


def check_derived(repo: GitRepo, repair: bool = True) -> list[Finding]:
    """Every derived thing that disagrees with git, repaired unless ``repair`` is False."""
    findings = _ref_locks(repo, repair)
    if any(f.done is None for f in findings):
        return findings  # the index and the working copy cannot follow a locked ref
    from gittask.workflow.database import database_for

    db = database_for(repo)
    findings += _index(db, repair)
    findings += _working_copy(db, repair)
    findings += _refspecs(repo, repair)
    findings += _leftovers(repo, repair)
    return findings


def _ref_locks(repo: GitRepo, repair: bool) -> list[Finding]:
    findings = []
    for path in locks.stale_locks(repo):
        seconds = locks.age(path) or 0.0
        found = Finding("ref lock", f"{path} left by a crash ({seconds:.0f} s old)")
        if repair:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            found.done = "removed it"
        findings.append(found)
    return findings


def _index(db: TaskDatabase, repair: bool) -> list[Finding]:
    try:
        db.refresh()
        problems = db.index_problems()
    except GittaskError as exc:
        problems = [f"it cannot be read: {exc.message}"]
    if not problems:
        return []
    found = Finding("index", "; ".join(problems))
    if repair:
        count = db.rebuild_index()
        left = db.index_problems()
        found.done = (
            f"rebuilt it from {layout.DATA_REF} ({count} tasks)"
            if not left
            else f"rebuilt it, but: {'; '.join(left)}"
        )
    return [found]


def _working_copy(db: TaskDatabase, repair: bool) -> list[Finding]:
    if db.workcopy is None:
        return []
    problems = db.workcopy_problems()
    if not problems:
        return []
    found = Finding("working copy", f"{db.workcopy.root}: {'; '.join(problems)}")
    if repair:
        db.rewrite_workcopy()
        left = db.workcopy_problems()
        found.done = "written again from the index" if not left else f"still: {'; '.join(left)}"
    return [found]


def _refspecs(repo: GitRepo, repair: bool) -> list[Finding]:
    from gittask.config import load_config, remote_of
    from gittask.store.sync import configure_remote, needs_configuration

    remote = remote_of(load_config(repo))
    if not needs_configuration(repo, remote):
        return []
    found = Finding("refspecs", f"git's settings for task data and notes on {remote} are missing")
    if repair:
        configure_remote(repo, remote)
        found.done = f"set them (git config remote.{remote}.fetch, notes.rewriteRef)"
    return [found]


def _leftovers(repo: GitRepo, repair: bool) -> list[Finding]:
    from gittask.workflow.project.clean import apply_clean, plan_clean

    plan = plan_clean(repo)  # without an engine: worktrees and markers only (doctor says why)
    described = plan.describe()
    if not described:
        return []
    found = Finding("leftovers", "left by crashed runs: " + ", ".join(described))
    if repair:
        found.done = "; ".join(apply_clean(repo, plan)) or "removed them"
    return [found]
