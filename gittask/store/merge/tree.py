"""The three-way walk: task by task, file by file, key by key; later change wins a clash.

Each level compares three entries: ``base`` (the merge base's), ``ours`` and
``theirs``. Equal entries are skipped whole, so the cost follows the number of
changed tasks, not the size of the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pygit2

from gittask.store import layout, yamlio
from gittask.store.merge.fencing import FENCED_FIELDS, fence_winner
from gittask.store.merge.objects import BLOB, TREE, Entry, Objects, entries, put, written
from gittask.store.merge.report import DeleteKept, MergeResult, Resolution
from gittask.store.merge.validate import IncomingCheck
from gittask.store.merge.values import LIST_FIELDS, OURS, SUM_FIELDS, THEIRS, set_merge, sum_merge
from gittask.store.merge.yamltext import chunk_value

_TASK_ID_TRAILER = "\nTask-Id: "
_RECORD_TRAILER = "\nRecord-Id: "


@dataclass(frozen=True)
class Side:
    label: str
    commit: pygit2.Commit

    @property
    def key(self) -> tuple[int, str]:
        return (self.commit.commit_time, str(self.commit.id))


class TreeMerger:
    def __init__(
        self,
        git: pygit2.Repository,
        base: pygit2.Commit | None,
        ours: Side,
        theirs: Side,
        theirs_ref: str,
    ) -> None:
        self.git = git
        self.base = base
        self.sides = (ours, theirs)
        self.objects = Objects(git)
        self.check = IncomingCheck(self.objects, theirs_ref)
        self.result = MergeResult(tree=ours.commit.tree_id, incoming=self.check.incoming)
        self._touches: dict[int, dict[str, tuple[int, str, str]]] = {}
        self._later_cache: dict[str | None, int] = {}

    # -- who changed a task last --------------------------------------------------------

    def _touch_map(self, side: int) -> dict[str, tuple[int, str, str]]:
        """Task id -> (time, commit id, summary) of the side's newest commit on it."""
        found = self._touches.get(side)
        if found is not None:
            return found
        found = {}
        walker = self.git.walk(self.sides[side].commit.id, pygit2.enums.SortMode.NONE)
        if self.base is not None:
            walker.hide(self.base.id)
        for commit in walker:
            if len(commit.parents) > 1:
                continue  # a merge's changes come from commits this walk also visits
            message = commit.message
            trailer = _TASK_ID_TRAILER
            at = message.find(trailer)
            if at < 0:
                trailer = _RECORD_TRAILER  # a template or schedule: keyed by its path
                at = message.find(trailer)
            if at < 0:
                continue
            task_id = message[at + len(trailer) :].split("\n", 1)[0].strip()
            key = (commit.commit_time, str(commit.id))
            if task_id not in found or key > found[task_id][:2]:
                found[task_id] = (*key, message.split("\n", 1)[0])
        self._touches[side] = found
        return found

    def later(self, task_id: str | None) -> int:
        """The side whose change to this task is the later one (same on every clone)."""
        cached = self._later_cache.get(task_id)
        if cached is not None:
            return cached
        keys = []
        for side in (OURS, THEIRS):
            tip = self.sides[side].key
            touch = self._touch_map(side).get(task_id) if task_id is not None else None
            keys.append(((touch[0], touch[1]) if touch else tip, tip[1]))
        winner = THEIRS if keys[THEIRS] > keys[OURS] else OURS
        self._later_cache[task_id] = winner
        return winner

    def _resolve(
        self, task_id: str | None, what: str, values: tuple[str | None, str | None]
    ) -> int:
        """A clash: the later side wins; the report says what the other side had."""
        win = self.later(task_id)
        self.result.conflicts.append(
            Resolution(
                task_id=task_id,
                field=what,
                winner=self.sides[win].label,
                loser=self.sides[1 - win].label,
                kept=chunk_value(values[win]),
                dropped=chunk_value(values[1 - win]),
            )
        )
        return win

    # -- walking ----------------------------------------------------------------------

    def run(self) -> MergeResult:
        base_root = self.base.tree if self.base is not None else None
        ours_root = self.sides[OURS].commit.tree
        base_top, our_top = entries(base_root), entries(ours_root)
        their_top = entries(self.sides[THEIRS].commit.tree)
        self.check.top(base_top, their_top)
        builder = self.git.TreeBuilder(ours_root)
        for name in sorted(set(base_top) | set(our_top) | set(their_top)):
            base, ours, theirs = base_top.get(name), our_top.get(name), their_top.get(name)
            if theirs in (base, ours):
                continue
            if name in layout.RECORD_DIRS:
                self.check.incoming_records(name, base, theirs)
            if ours == base:
                new = theirs
                if name == layout.TASKS_DIR:
                    self.check.incoming_fans(base, theirs)
            elif name == layout.TASKS_DIR:
                new = self._tasks(base, ours, theirs)
            else:
                new = self._both(None, name, name, base, ours, theirs)
            put(builder, name, ours, new)
        self.result.tree = builder.write()
        return self.result

    def _tasks(self, base: Entry | None, ours: Entry | None, theirs: Entry | None) -> Entry | None:
        """``tasks/`` changed on both sides: fan-out folder by fan-out folder."""
        if theirs is not None and theirs[1] != TREE:
            raise self.check.bad(layout.TASKS_DIR, "is not a folder")
        in_base, in_ours = self.objects.items(base), self.objects.items(ours)
        in_theirs = self.objects.items(theirs)
        builder = self.objects.builder(ours)
        for fan in set(in_base) | set(in_ours) | set(in_theirs):
            base_fan, our_fan, their_fan = in_base.get(fan), in_ours.get(fan), in_theirs.get(fan)
            if their_fan == base_fan:
                continue
            if our_fan == base_fan:
                self.check.incoming_tasks(fan, base_fan, their_fan)
                new = their_fan
            elif our_fan == their_fan:
                continue
            else:
                self.check.fan(fan, their_fan)
                new = self._fan(fan, base_fan, our_fan, their_fan)
            put(builder, fan, our_fan, new)
        return written(builder)

    def _fan(
        self, fan: str, base: Entry | None, ours: Entry | None, theirs: Entry | None
    ) -> Entry | None:
        """One fan-out folder changed on both sides: task by task."""
        in_base, in_ours = self.objects.items(base), self.objects.items(ours)
        in_theirs = self.objects.items(theirs)
        builder = self.objects.builder(ours)
        for name in set(in_base) | set(in_ours) | set(in_theirs):
            base_task, our_task, their_task = (
                in_base.get(name),
                in_ours.get(name),
                in_theirs.get(name),
            )
            if their_task == base_task:
                continue
            self.result.incoming.add(name)
            if their_task is not None:
                self.check.task(fan, name, their_task, base_task)
            if our_task == their_task:
                continue
            if our_task == base_task:
                new = their_task
            else:
                new = self._task(name, base_task, our_task, their_task)
            put(builder, name, our_task, new)
        return written(builder)

    def _task(
        self, task_id: str, base: Entry | None, ours: Entry | None, theirs: Entry | None
    ) -> Entry | None:
        """A task changed on both sides."""
        if ours is None or theirs is None:
            self._delete_kept(task_id, deleter=OURS if ours is None else THEIRS)
            return None
        if ours[1] != TREE:  # unreadable locally: the other side's (checked) folder wins
            return theirs
        return self._folder(task_id, layout.task_dir(task_id), base, ours, theirs)

    def _folder(
        self, task_id: str | None, path: str, base: Entry | None, ours: Entry, theirs: Entry
    ) -> Entry | None:
        """A folder changed on both sides: entry by entry."""
        in_base, in_ours = self.objects.items(base), self.objects.items(ours)
        in_theirs = self.objects.items(theirs)
        builder = self.objects.builder(ours)
        for name in set(in_base) | set(in_ours) | set(in_theirs):
            base_item, our_item, their_item = (
                in_base.get(name),
                in_ours.get(name),
                in_theirs.get(name),
            )
            if our_item == their_item or their_item == base_item:
                continue
            if our_item == base_item:
                new = their_item
            else:
                new = self._both(task_id, f"{path}/{name}", name, base_item, our_item, their_item)
            put(builder, name, our_item, new)
        return written(builder)

    def _both(
        self,
        task_id: str | None,
        path: str,
        name: str,
        base: Entry | None,
        ours: Entry | None,
        theirs: Entry | None,
    ) -> Entry | None:
        """One entry changed on both sides, differently."""
        if ours is None or theirs is None:
            return ours if ours is not None else theirs  # deleted against changed: nothing lost
        if ours[1] == TREE and theirs[1] == TREE:
            return self._folder(
                task_id, path, base if base and base[1] == TREE else None, ours, theirs
            )
        label = _label(task_id, path)
        if ours[1] != TREE and theirs[1] != TREE and name.endswith(".yaml"):
            key = task_id
            if task_id is None and path.split("/", 1)[0] in layout.RECORD_DIRS:
                key, label = path, ""  # a named record: its own "later", its path in reports
            return self._yaml(key, label, base if base and base[1] != TREE else None, ours, theirs)
        values = (self.objects.text(ours), self.objects.text(theirs))
        return (ours, theirs)[self._resolve(task_id, label, values)]

    def _yaml(
        self, task_id: str | None, label: str, base: Entry | None, ours: Entry, theirs: Entry
    ) -> Entry | None:
        """Merge one YAML mapping key by key against the base."""
        our_keys, their_keys = self.objects.chunks(ours), self.objects.chunks(theirs)
        base_keys = (self.objects.chunks(base) if base is not None else None) or {}
        if our_keys is None or their_keys is None:
            what = f"{label} (unreadable)".strip()
            values = (self.objects.text(ours), self.objects.text(theirs))
            return (ours, theirs)[self._resolve(task_id, what, values)]
        win = self.later(task_id)
        sides = (our_keys, their_keys)
        keys = list(sides[win]) + [k for k in sides[1 - win] if k not in sides[win]]
        # a task's record: the newer lease owns the run's fields (store/merge/fencing.py)
        fence = fence_winner(our_keys, their_keys) if task_id and not label else None
        merged: list[str] = []
        for key in keys:
            in_base, in_ours, in_theirs = base_keys.get(key), our_keys.get(key), their_keys.get(key)
            if fence is not None and key in FENCED_FIELDS:
                value = sides[fence].get(key)
            elif in_ours == in_theirs or in_base == in_theirs:
                value = in_ours
            elif in_base == in_ours:
                value = in_theirs
            else:
                value = None
                if key in LIST_FIELDS:
                    value = set_merge(key, in_base, in_ours, in_theirs, win)
                elif key in SUM_FIELDS:
                    value = sum_merge(key, in_base, in_ours, in_theirs)
                if value is None:
                    what = f"{label} {key}".strip()
                    value = (in_ours, in_theirs)[self._resolve(task_id, what, (in_ours, in_theirs))]
            if value is not None:
                merged.append(value)
        for side in (win, 1 - win):
            if merged == list(sides[side].values()):
                return (ours, theirs)[side]
        return (self.git.create_blob("".join(merged).encode()), BLOB)

    def _delete_kept(self, task_id: str, deleter: int) -> None:
        """A task deleted on one side and edited on the other stays deleted: say so."""
        editor = 1 - deleter
        stone: dict[str, Any] = {}
        try:
            entry = self.sides[deleter].commit.tree[layout.tombstone_path(task_id)]
            blob = self.git[entry.id]
            loaded = yamlio.load(blob.data) if isinstance(blob, pygit2.Blob) else None
            stone = loaded if isinstance(loaded, dict) else {}
        except (KeyError, ValueError):
            stone = {}
        touch = self._touch_map(editor).get(task_id)
        self.result.deletes_kept.append(
            DeleteKept(
                task_id=task_id,
                title=stone.get("title"),
                deleted_on=self.sides[deleter].label,
                deleted_by=stone.get("deleted_by"),
                deleted_at=stone.get("deleted_at"),
                edited_on=self.sides[editor].label,
                lost_edit=touch[2] if touch else None,
                lost_commit=touch[1] if touch else None,
            )
        )


def _label(task_id: str | None, path: str) -> str:
    """How a clash names what it is about: a field, ``feedback <name>``, or a path."""
    if task_id is None:
        return path
    rel = path.removeprefix(layout.task_dir(task_id) + "/")
    if rel == layout.METADATA_FILE:
        return ""
    if rel.startswith(layout.FEEDBACK_DIR + "/"):
        return "feedback " + rel.split("/", 1)[1].removesuffix(".yaml")
    return rel
