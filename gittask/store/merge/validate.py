"""What comes from the other side must be task records: checked before anything is written.

Names (two-hex-digit fan-out folders, task ids), kinds (files and folders) and
YAML syntax; a metadata file must carry its folder's id. Only what differs
from the merge base is read, so the cost follows what the other side changed.
"""

from __future__ import annotations

import re

from gittask.errors import GittaskError
from gittask.store import layout
from gittask.store.merge.objects import BLOB, TREE, Entry, Objects
from gittask.store.merge.yamltext import chunk_value, syntax_error, unquote

TOP_LEVEL = {
    layout.README_FILE: BLOB,
    layout.TASKS_DIR: TREE,
    layout.TOMBSTONES_DIR: TREE,
    **{folder: TREE for folder in layout.RECORD_DIRS},
}
#: folders any one of which makes a tree a task history
_DATA_DIRS = (layout.TASKS_DIR, layout.TOMBSTONES_DIR, *layout.RECORD_DIRS)

_FAN = re.compile(r"[0-9a-f]{2}")
_TASK_ID = re.compile(r"[0-9a-f]{8,64}")
_RECORD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\.yaml")
# the usual record: starts with a top-level key; its id on a line of its own
_FIRST_KEY = re.compile(rb"(?:[ \t]*\r?\n)*[A-Za-z_][A-Za-z0-9_.-]*:(?:[ \t]|\r?\n|$)")
_ID_LINE = re.compile(rb"^id:[ \t]*([^\r\n]*?)[ \t]*\r?$", re.MULTILINE)


class InvalidHistoryError(GittaskError):
    """The other side of a merge is not a history of task records."""

    def __init__(self, message: str, hint: str | None = None, reason: str | None = None) -> None:
        super().__init__(message, hint)
        self.reason = reason or message  # what is wrong, without the ref's name


class IncomingCheck:
    """Checks the other side's changes; ``incoming`` collects the task ids it changed."""

    def __init__(self, objects: Objects, theirs_ref: str) -> None:
        self.objects = objects
        self.theirs_ref = theirs_ref
        self.incoming: set[str] = set()

    def bad(self, path: str, reason: str) -> InvalidHistoryError:
        where = f"{path}: " if path else ""
        return InvalidHistoryError(
            f"{self.theirs_ref} is not a valid task history: {where}{reason}",
            f"nothing was merged and local tasks are unchanged; repair the remote branch, "
            f"or drop this copy with: git update-ref -d {self.theirs_ref}",
            reason=f"{where}{reason}",
        )

    def top(self, base: dict[str, Entry], theirs: dict[str, Entry]) -> None:
        """The top of their tree: task folders, tombstones, the README; nothing else."""
        if not any(folder in theirs for folder in _DATA_DIRS):
            folders = f"{layout.TASKS_DIR}/ or {layout.TOMBSTONES_DIR}/"
            raise self.bad("", f"its tree has no {folders} folder (not task records)")
        for name, entry in theirs.items():
            if base.get(name) == entry:
                continue
            wanted = TOP_LEVEL.get(name)
            if wanted is None:
                raise self.bad(name, "unexpected at the top level (not a task record)")
            if entry[1] != wanted:
                raise self.bad(name, "is a file" if wanted == TREE else "is a folder")

    def fan(self, fan: str, entry: Entry | None) -> None:
        if entry is None:
            return
        path = f"{layout.TASKS_DIR}/{fan}"
        if not _FAN.fullmatch(fan):
            raise self.bad(path, "is not a fan-out folder (two hex digits)")
        if entry[1] != TREE:
            raise self.bad(path, "is not a folder")

    def task(self, fan: str, name: str, entry: Entry, base: Entry | None) -> None:
        """A task folder they changed: named after its id, a metadata file, feedback files."""
        path = f"{layout.TASKS_DIR}/{fan}/{name}"
        if not _TASK_ID.fullmatch(name) or not name.startswith(fan):
            raise self.bad(path, "is not named after a task id")
        tree = self.objects.tree(entry)
        if tree is None:
            raise self.bad(path, "is not a folder")
        base_files = self.objects.items(base)
        try:
            meta = tree[layout.METADATA_FILE]
        except KeyError:
            raise self.bad(f"{path}/{layout.METADATA_FILE}", "is missing") from None
        if meta.filemode != BLOB:
            raise self.bad(f"{path}/{layout.METADATA_FILE}", "is not a file")
        if base_files.get(layout.METADATA_FILE) != (meta.id, meta.filemode):
            self.record(f"{path}/{layout.METADATA_FILE}", (meta.id, BLOB), name)
        feedback = base_files.get(layout.FEEDBACK_DIR)
        theirs = next(((e.id, e.filemode) for e in tree if e.name == layout.FEEDBACK_DIR), None)
        if theirs is not None and theirs != feedback:
            self._feedback(f"{path}/{layout.FEEDBACK_DIR}", theirs, feedback)

    def _feedback(self, path: str, theirs: Entry, base: Entry | None) -> None:
        folder = self.objects.tree(theirs)
        if folder is None:
            raise self.bad(path, "is not a folder")
        known = self.objects.items(base)
        for item in folder:
            entry = (item.id, item.filemode)
            if item.name is None or known.get(item.name) == entry:
                continue
            if item.filemode != BLOB:
                raise self.bad(f"{path}/{item.name}", "is not a file")
            self.record(f"{path}/{item.name}", entry)

    def record(self, path: str, entry: Entry, task_id: str | None = None) -> None:
        """Well-formed YAML, a mapping of fields, and (for metadata) the right id.

        The usual shape is checked on the bytes (C parser, two regexes); only
        an unusual one is parsed in full.
        """
        data = self.objects.data(entry)
        reason = syntax_error(data)
        if reason is not None:
            raise self.bad(path, reason)
        found = _ID_LINE.search(data) if task_id is not None else None
        if _FIRST_KEY.match(data) and (task_id is None or found is not None):
            stored = unquote(found.group(1).decode("utf-8", "replace")) if found else None
        else:
            chunks = self.objects.chunks(entry)
            if chunks is None:
                raise self.bad(path, "is not a mapping of fields")
            stored = unquote(chunk_value(chunks.get("id"), 200)) if "id" in chunks else ""
        if task_id is not None and stored != task_id:
            raise self.bad(path, f"its id does not match {task_id}")

    def incoming_records(self, folder: str, base: Entry | None, theirs: Entry | None) -> None:
        """A folder of named records (templates, schedules) they changed: one YAML file
        per record, each a mapping of fields."""
        if theirs is None:
            return
        if theirs[1] != TREE:
            raise self.bad(folder, "is not a folder")
        known = self.objects.items(base)
        for name, entry in self.objects.items(theirs).items():
            if known.get(name) == entry:
                continue
            path = f"{folder}/{name}"
            if not _RECORD_NAME.fullmatch(name):
                raise self.bad(path, "is not a record file (NAME.yaml)")
            if entry[1] != BLOB:
                raise self.bad(path, "is not a file")
            self.record(path, entry)

    # -- what they changed where we did not: checked and counted ----------------------

    def incoming_fans(self, base: Entry | None, theirs: Entry | None) -> None:
        """Under ``tasks/``, ours unchanged: check and count what they changed."""
        base_fans, their_fans = self.objects.items(base), self.objects.items(theirs)
        for fan in set(base_fans) | set(their_fans):
            if base_fans.get(fan) != their_fans.get(fan):
                self.incoming_tasks(fan, base_fans.get(fan), their_fans.get(fan))

    def incoming_tasks(self, fan: str, base: Entry | None, theirs: Entry | None) -> None:
        self.fan(fan, theirs)
        base_tasks, their_tasks = self.objects.items(base), self.objects.items(theirs)
        for name in set(base_tasks) | set(their_tasks):
            old, new = base_tasks.get(name), their_tasks.get(name)
            if old != new:
                if new is not None:
                    self.task(fan, name, new, old)
                self.incoming.add(name)
