"""What a merge did, for the user and for the merge commit's message."""

from __future__ import annotations

from dataclasses import dataclass, field

import pygit2

from gittask.store import layout


@dataclass(frozen=True)
class Resolution:
    """One value chosen automatically: both sides changed it differently."""

    task_id: str | None
    field: str
    winner: str
    loser: str
    kept: str
    dropped: str

    def line(self) -> str:
        where = f"task {self.task_id[:8]}" if self.task_id else "file"
        if self.task_id and "/" in self.task_id:  # a named record: templates/NAME.yaml
            where = self.task_id.removesuffix(".yaml")
        what = f" {self.field}" if self.field else ""
        return (
            f"conflict {where}{what}: {self.winner} won ({self.kept}); "
            f"{self.loser} had {self.dropped}"
        )

    def to_dict(self) -> dict[str, str | None]:
        return {
            "task_id": self.task_id,
            "field": self.field,
            "winner": self.winner,
            "kept": self.kept,
            "dropped": self.dropped,
        }


@dataclass(frozen=True)
class DeleteKept:
    """A task deleted on one side and edited on the other: it stays deleted."""

    task_id: str
    title: str | None
    deleted_on: str
    deleted_by: str | None
    deleted_at: str | None
    edited_on: str
    lost_edit: str | None  # summary line of the newest commit that edited it
    lost_commit: str | None

    def line(self) -> str:
        title = f' "{self.title}"' if self.title else ""
        who = f" by {self.deleted_by}" if self.deleted_by else ""
        when = f" at {self.deleted_at}" if self.deleted_at else ""
        edit = self.lost_edit or "an edit"
        commit = ""
        if self.lost_commit:
            commit = f" (commit {self.lost_commit[:12]}, still in the history)"
        return (
            f"delete kept task {self.task_id[:8]}{title}: deleted on {self.deleted_on}{who}{when}; "
            f"dropped the edit on {self.edited_on}: {edit}{commit}"
        )

    def to_dict(self) -> dict[str, str | None]:
        return {
            "task_id": self.task_id,
            "title": self.title,
            "deleted_on": self.deleted_on,
            "deleted_by": self.deleted_by,
            "edited_on": self.edited_on,
            "lost_edit": self.lost_edit,
            "lost_commit": self.lost_commit,
        }


@dataclass
class MergeResult:
    tree: pygit2.Oid
    incoming: set[str] = field(default_factory=set)  # tasks the other side changed
    conflicts: list[Resolution] = field(default_factory=list)
    deletes_kept: list[DeleteKept] = field(default_factory=list)

    def summary(self, theirs_label: str) -> str:
        count = len(self.incoming)
        text = f"merge: {count} task{'' if count == 1 else 's'} from {theirs_label}"
        extra = []
        if self.conflicts:
            n = len(self.conflicts)
            extra.append(f"{n} conflict{'' if n == 1 else 's'} resolved")
        if self.deletes_kept:
            n = len(self.deletes_kept)
            extra.append(f"{n} delete{'' if n == 1 else 's'} kept")
        return text + (f" ({', '.join(extra)})" if extra else "")

    def message(
        self, theirs_label: str, theirs_ref: str, theirs: pygit2.Oid, ours: pygit2.Oid
    ) -> str:
        lines = [
            self.summary(theirs_label),
            "",
            f"Merge {theirs_ref} ({str(theirs)[:12]}) into {layout.DATA_REF} ({str(ours)[:12]}).",
        ]
        body = [c.line() for c in self.conflicts] + [d.line() for d in self.deletes_kept]
        if body:
            lines += ["", *body]
        lines += ["", "Task-Action: merge"]
        return "\n".join(lines) + "\n"
