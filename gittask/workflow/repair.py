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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gittask.errors import GittaskError
from gittask.store import layout, locks
from gittask.store.trees import subtree

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


def index_disagreements(db: TaskDatabase) -> list[str]:
    """How the index differs from the data ref's tip (after a refresh), one line each."""
    store, index = db.store, db.index
    tip = store.tip()
    root = store.root(tip) if tip is not None else None
    tasks = subtree(store.git, root, layout.TASKS_DIR)
    in_ref: dict[str, tuple[str, set[str]]] = {}
    for fan in tasks or []:
        tree = store.git[fan.id]
        names = {e.name or "" for e in tree} if hasattr(tree, "__iter__") else set()
        in_ref[fan.name or ""] = (str(fan.id), names)
    problems = []
    if index.tip != (str(tip) if tip is not None else ""):
        problems.append("it is not at the data ref's tip")
    indexed_fans = index.fans()
    if set(indexed_fans) != set(in_ref):
        problems.append(f"it knows {len(indexed_fans)} fan-out folders, the ref has {len(in_ref)}")
    stale = [name for name, (oid, _) in in_ref.items() if indexed_fans.get(name) not in (oid, None)]
    if stale:
        problems.append(f"{len(stale)} fan-out folder(s) indexed at an older version")
    ids = set(index.ids())
    wanted = {name for _, names in in_ref.values() for name in names}
    if ids != wanted:
        problems.append(
            f"it lists {len(ids)} task(s), the ref holds {len(wanted)} "
            f"({len(wanted - ids)} missing, {len(ids - wanted)} extra)"
        )
    return problems


def _index(db: TaskDatabase, repair: bool) -> list[Finding]:
    try:
        db.refresh()
        problems = index_disagreements(db)
    except GittaskError as exc:
        problems = [f"it cannot be read: {exc.message}"]
    if not problems:
        return []
    found = Finding("index", "; ".join(problems))
    if repair:
        db.index.rebuild(db.store)
        left = index_disagreements(db)
        found.done = (
            f"rebuilt it from {layout.DATA_REF} ({len(db.index.ids())} tasks)"
            if not left
            else f"rebuilt it, but: {'; '.join(left)}"
        )
    return [found]


def _working_copy(db: TaskDatabase, repair: bool) -> list[Finding]:
    workcopy = db.workcopy
    if workcopy is None:
        return []
    problems = workcopy_disagreements(workcopy.root, db.index.tip, set(db.index.fans()))
    if not problems:
        return []
    found = Finding("working copy", f"{workcopy.root}: {'; '.join(problems)}")
    if repair:
        from gittask.store.workcopy import STATE_FILE

        with contextlib.suppress(FileNotFoundError):
            (workcopy.root / STATE_FILE).unlink()  # forgotten: written again in full
        workcopy.sync(db.index)
        left = workcopy_disagreements(workcopy.root, db.index.tip, set(db.index.fans()))
        found.done = "written again from the index" if not left else f"still: {'; '.join(left)}"
    return [found]


def workcopy_disagreements(root: Path, tip: str, fans: set[str]) -> list[str]:
    import json

    from gittask.store.workcopy import STATE_FILE

    try:
        state = json.loads((root / STATE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ["it was never written"] if fans else []
    except (OSError, ValueError):
        return [f"its {STATE_FILE} is unreadable"]
    problems = []
    if not isinstance(state, dict) or state.get("tip") != tip:
        problems.append("it shows another version of the tasks")
    missing = [fan for fan in fans if not (root / "registry" / f"{fan}.json").is_file()]
    if missing:
        problems.append(f"{len(missing)} registry file(s) missing")
    return problems


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
