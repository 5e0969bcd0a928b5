"""``task sync``, ``pull`` and ``push``: the whole round trip, and what it did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gittask.store import layout
from gittask.store.repo import GitRepo
from gittask.store.sync.configure import configure_remote
from gittask.store.sync.integrate import IntegrateResult, integrate, merge_notes
from gittask.store.sync.refs import (
    DEFAULT_REMOTE,
    Progress,
    hex_of,
    quiet,
    ref_oid,
)
from gittask.store.sync.transport import FetchResult, PushResult, fetch, push


@dataclass
class SyncResult:
    remote: str
    fetched: FetchResult | None = None
    integrated: IntegrateResult | None = None
    notes: str = "none"
    pushed: PushResult | None = None
    local_tip: str | None = None

    def merges(self) -> list[IntegrateResult]:
        found = [self.integrated] if self.integrated and self.integrated.changed else []
        return found + (self.pushed.merges if self.pushed else [])

    def summary(self) -> str:
        parts = []
        merges = self.merges()
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
        merges = self.merges()
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
    progress: Progress = quiet,
) -> SyncResult:
    """Fetch, then merge the remote's tasks and notes into the local refs."""
    configure_remote(repo, remote, branch)
    result = SyncResult(remote)
    result.fetched = fetch(repo, remote, branch, progress)
    result.integrated = integrate(repo, remote, branch, progress)
    result.notes = merge_notes(repo, remote)
    result.local_tip = hex_of(ref_oid(repo.pygit, layout.DATA_REF))
    return result


def push_tasks(
    repo: GitRepo,
    remote: str = DEFAULT_REMOTE,
    branch: str = layout.REMOTE_BRANCH,
    progress: Progress = quiet,
) -> SyncResult:
    """Push the local tasks and notes (merging first if the remote moved on)."""
    configure_remote(repo, remote, branch)
    result = SyncResult(remote)
    result.pushed = push(repo, remote, branch, progress)
    result.local_tip = hex_of(ref_oid(repo.pygit, layout.DATA_REF))
    return result


def sync(
    repo: GitRepo,
    remote: str = DEFAULT_REMOTE,
    branch: str = layout.REMOTE_BRANCH,
    progress: Progress = quiet,
) -> SyncResult:
    """Fetch, merge and push: afterwards both sides hold the same tasks."""
    result = pull(repo, remote, branch, progress)
    configure_remote(repo, remote, branch)  # the data ref may exist only now
    result.pushed = push(repo, remote, branch, progress)
    result.local_tip = hex_of(ref_oid(repo.pygit, layout.DATA_REF))
    return result
