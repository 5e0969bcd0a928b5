"""Three-way merge of two task histories: task by task, field by field.

Two clones that changed the data ref independently are combined into one tree:

- only the parts whose tree ids differ are walked: the ``tasks/<ab>`` fan-out
  folders, then the task folders inside them, so the cost follows the number
  of changed tasks, not the size of the database;
- a task changed on one side only takes that side's folder as it is;
- a task changed on both sides is merged file by file: feedback files are a
  union (their names never collide), and each YAML file (``metadata.yaml``, a
  feedback entry edited on both sides) is merged key by key against the merge
  base; a key changed on both sides to different values takes the later
  change: the side whose newest commit touching that task is later (commit
  time, then commit id), so two clones merging independently build identical
  trees. ``commits`` and ``depends_on`` are merged as sets, keeping order;
  the totals ``cost_usd``, ``input_tokens`` and ``output_tokens`` add both
  sides' additions to the base (runs on two clones both count), silently;
- a task deleted on one side and edited on the other stays deleted; the
  merge reports it, with the commit that made the dropped edit;
- tombstones and other files are unioned, later change winning on clashes.

YAML is merged as text: each top-level key of a block-style mapping (as
:mod:`gittask.store.yamlio` writes it) is one chunk, compared and copied
verbatim, so no document is parsed or re-dumped unless it has an unusual shape.
What comes from the other side is checked first (names, kinds, YAML syntax),
and a history that does not hold task records raises
:class:`InvalidHistoryError` before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pygit2

from gittask.errors import GittaskError
from gittask.store import layout, yamlio
from gittask.text import one_line

OURS, THEIRS = 0, 1
TREE = pygit2.GIT_FILEMODE_TREE
BLOB = pygit2.GIT_FILEMODE_BLOB

# (object id, file mode) of one tree entry; None where the entry is absent
Entry = tuple[pygit2.Oid, int]

LIST_FIELDS = frozenset({"commits", "depends_on"})
# totals over runs: runs on two clones both add to them, so both additions count
SUM_FIELDS = frozenset({"cost_usd", "input_tokens", "output_tokens"})
TOP_LEVEL = {layout.README_FILE: BLOB, layout.TASKS_DIR: TREE, layout.TOMBSTONES_DIR: TREE}

_FAN = re.compile(r"[0-9a-f]{2}")
_TASK_ID = re.compile(r"[0-9a-f]{8,64}")
_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*):(?: |\r?$)")
_TASK_ID_TRAILER = "\nTask-Id: "
# the usual record: starts with a top-level key; its id on a line of its own
_FIRST_KEY = re.compile(rb"(?:[ \t]*\r?\n)*[A-Za-z_][A-Za-z0-9_.-]*:(?:[ \t]|\r?\n|$)")
_ID_LINE = re.compile(rb"^id:[ \t]*([^\r\n]*?)[ \t]*\r?$", re.MULTILINE)


class InvalidHistoryError(GittaskError):
    """The other side of a merge is not a history of task records."""

    def __init__(self, message: str, hint: str | None = None, reason: str | None = None) -> None:
        super().__init__(message, hint)
        self.reason = reason or message  # what is wrong, without the ref's name


# -- YAML as chunks of text -------------------------------------------------------------


def split_chunks(data: bytes) -> dict[str, str] | None:
    """Top-level ``key: value`` chunks of a block-style YAML mapping, in order.

    Each chunk is the key's line plus its continuation lines (indented lines,
    ``- item`` lines, blank lines), ending in a newline. Returns None for
    anything else (document markers, comments, flow style, repeated keys):
    callers then parse the document properly.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    chunks: dict[str, str] = {}
    key: str | None = None
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        first = line[:1]
        if first in (" ", "\t", "\n", "\r") or (first == "-" and not line.startswith("---")):
            if key is None:
                if line.strip():
                    return None
                continue
            lines.append(line)
            continue
        match = _KEY_LINE.match(line)
        if match is None:
            return None
        if key is not None:
            chunks[key] = _joined(lines)
        key = match.group(1)
        if key in chunks:
            return None
        lines = [line]
    if key is not None:
        chunks[key] = _joined(lines)
    return chunks


def _joined(lines: list[str]) -> str:
    text = "".join(lines)
    return text if text.endswith("\n") else text + "\n"


@cache
def _c_parser() -> Any:
    try:
        from _ruamel_yaml import CParser  # type: ignore[import-not-found]
    except ImportError:
        try:
            from ruamel.yaml.clib._ruamel_yaml import CParser
        except ImportError:
            return None
    return CParser


def syntax_error(data: bytes) -> str | None:
    """Why ``data`` is not well-formed YAML, or None. About 25 µs per record."""
    parser = _c_parser()
    try:
        if parser is not None:
            parser(data).raw_parse()
        else:
            yamlio.load(data)
    except Exception as exc:  # the C parser raises ruamel's MarkedYAMLError family
        return " ".join(str(exc).split()) or type(exc).__name__
    return None


def chunk_value(chunk: str | None, width: int = 60) -> str:
    """The value part of a chunk, on one line, for a merge report."""
    if chunk is None:
        return "(absent)"
    text = " ".join(chunk.split(":", 1)[1].split()) if ":" in chunk else chunk.strip()
    return one_line(text.lstrip("|-> ").strip() or "(empty)", width)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


# -- the report -------------------------------------------------------------------------


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
        return (
            f"conflict {where} {self.field}: {self.winner} won ({self.kept}); "
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


# -- the merge --------------------------------------------------------------------------


def _entries(tree: pygit2.Tree | None) -> dict[str, Entry]:
    if tree is None:
        return {}
    return {e.name: (e.id, e.filemode) for e in tree if e.name is not None}


def _put(builder: pygit2.TreeBuilder, name: str, current: Entry | None, new: Entry | None) -> None:
    if new == current:
        return
    if new is None:
        builder.remove(name)
    else:
        builder.insert(name, new[0], new[1])


def _written(builder: pygit2.TreeBuilder) -> Entry | None:
    return (builder.write(), TREE) if len(builder) else None


@dataclass(frozen=True)
class _Side:
    label: str
    commit: pygit2.Commit

    @property
    def key(self) -> tuple[int, str]:
        return (self.commit.commit_time, str(self.commit.id))


class _TreeMerger:
    def __init__(
        self,
        git: pygit2.Repository,
        base: pygit2.Commit | None,
        ours: _Side,
        theirs: _Side,
        theirs_ref: str,
    ) -> None:
        self.git = git
        self.base = base
        self.sides = (ours, theirs)
        self.theirs_ref = theirs_ref
        self.result = MergeResult(tree=ours.commit.tree_id)
        self._touches: dict[int, dict[str, tuple[int, str, str]]] = {}
        self._later_cache: dict[str | None, int] = {}
        self._chunk_cache: dict[pygit2.Oid, dict[str, str] | None] = {}

    # -- the other side must hold task records --------------------------------------

    def bad(self, path: str, reason: str) -> InvalidHistoryError:
        where = f"{path}: " if path else ""
        return InvalidHistoryError(
            f"{self.theirs_ref} is not a valid task history: {where}{reason}",
            f"nothing was merged and local tasks are unchanged; repair the remote branch, "
            f"or drop this copy with: git update-ref -d {self.theirs_ref}",
            reason=f"{where}{reason}",
        )

    def _tree(self, entry: Entry | None) -> pygit2.Tree | None:
        if entry is None or entry[1] != TREE:
            return None
        obj = self.git[entry[0]]
        return obj if isinstance(obj, pygit2.Tree) else None

    def _builder(self, entry: Entry | None) -> pygit2.TreeBuilder:
        tree = self._tree(entry)
        return self.git.TreeBuilder(tree) if tree is not None else self.git.TreeBuilder()

    def _check_top(self, base: dict[str, Entry], theirs: dict[str, Entry]) -> None:
        if layout.TASKS_DIR not in theirs and layout.TOMBSTONES_DIR not in theirs:
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

    def _check_task(self, fan: str, name: str, entry: Entry, base: Entry | None) -> None:
        path = f"{layout.TASKS_DIR}/{fan}/{name}"
        if not _TASK_ID.fullmatch(name) or not name.startswith(fan):
            raise self.bad(path, "is not named after a task id")
        tree = self._tree(entry)
        if tree is None:
            raise self.bad(path, "is not a folder")
        base_files = _entries(self._tree(base))
        try:
            meta = tree[layout.METADATA_FILE]
        except KeyError:
            raise self.bad(f"{path}/{layout.METADATA_FILE}", "is missing") from None
        if meta.filemode != BLOB:
            raise self.bad(f"{path}/{layout.METADATA_FILE}", "is not a file")
        if base_files.get(layout.METADATA_FILE) != (meta.id, meta.filemode):
            self._check_record(f"{path}/{layout.METADATA_FILE}", (meta.id, BLOB), name)
        feedback = base_files.get(layout.FEEDBACK_DIR)
        fb_entry = next(((e.id, e.filemode) for e in tree if e.name == layout.FEEDBACK_DIR), None)
        if fb_entry is not None and fb_entry != feedback:
            fb_tree = self._tree(fb_entry)
            if fb_tree is None:
                raise self.bad(f"{path}/{layout.FEEDBACK_DIR}", "is not a folder")
            known = _entries(self._tree(feedback))
            for fb in fb_tree:
                fb_item = (fb.id, fb.filemode)
                if fb.name is None or known.get(fb.name) == fb_item:
                    continue
                fb_path = f"{path}/{layout.FEEDBACK_DIR}/{fb.name}"
                if fb.filemode != BLOB:
                    raise self.bad(fb_path, "is not a file")
                self._check_record(fb_path, fb_item)

    def _check_record(self, path: str, entry: Entry, task_id: str | None = None) -> None:
        """Well-formed YAML, a mapping of fields, and (for metadata) the right id.

        The usual shape is checked on the bytes (C parser, two regexes); only
        an unusual one is parsed in full.
        """
        blob = self.git[entry[0]]
        data = blob.data if isinstance(blob, pygit2.Blob) else b""
        reason = syntax_error(data)
        if reason is not None:
            raise self.bad(path, reason)
        found = _ID_LINE.search(data) if task_id is not None else None
        if _FIRST_KEY.match(data) and (task_id is None or found is not None):
            stored = _unquote(found.group(1).decode("utf-8", "replace")) if found else None
        else:
            chunks = self._chunks(entry)
            if chunks is None:
                raise self.bad(path, "is not a mapping of fields")
            stored = _unquote(chunk_value(chunks.get("id"), 200)) if "id" in chunks else ""
        if task_id is not None and stored != task_id:
            raise self.bad(path, f"its id does not match {task_id}")

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
            at = message.find(_TASK_ID_TRAILER)
            if at < 0:
                continue
            task_id = message[at + len(_TASK_ID_TRAILER) :].split("\n", 1)[0].strip()
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
        theirs_root = self.sides[THEIRS].commit.tree
        b, o, t = _entries(base_root), _entries(ours_root), _entries(theirs_root)
        self._check_top(b, t)
        builder = self.git.TreeBuilder(ours_root)
        for name in sorted(set(b) | set(o) | set(t)):
            x, y, z = b.get(name), o.get(name), t.get(name)
            if z in (x, y):
                continue
            if y == x:
                new = z
                if name == layout.TASKS_DIR:
                    self._incoming_fans(x, z)
            elif name == layout.TASKS_DIR:
                new = self._tasks(x, y, z)
            else:
                new = self._both(None, name, name, x, y, z)
            _put(builder, name, y, new)
        self.result.tree = builder.write()
        return self.result

    def _incoming_fans(self, x: Entry | None, z: Entry | None) -> None:
        """Check and count what the other side changed under tasks/ (ours unchanged)."""
        xe, ze = _entries(self._tree(x)), _entries(self._tree(z))
        for fan in set(xe) | set(ze):
            if xe.get(fan) != ze.get(fan):
                self._incoming_tasks(fan, xe.get(fan), ze.get(fan))

    def _check_fan(self, fan: str, entry: Entry | None) -> None:
        if entry is None:
            return
        path = f"{layout.TASKS_DIR}/{fan}"
        if not _FAN.fullmatch(fan):
            raise self.bad(path, "is not a fan-out folder (two hex digits)")
        if entry[1] != TREE:
            raise self.bad(path, "is not a folder")

    def _incoming_tasks(self, fan: str, x: Entry | None, z: Entry | None) -> None:
        self._check_fan(fan, z)
        xe, ze = _entries(self._tree(x)), _entries(self._tree(z))
        for name in set(xe) | set(ze):
            old, new = xe.get(name), ze.get(name)
            if old != new:
                if new is not None:
                    self._check_task(fan, name, new, old)
                self.result.incoming.add(name)

    def _tasks(self, x: Entry | None, y: Entry | None, z: Entry | None) -> Entry | None:
        if z is not None and z[1] != TREE:
            raise self.bad(layout.TASKS_DIR, "is not a folder")
        xe = _entries(self._tree(x))
        ye = _entries(self._tree(y))
        ze = _entries(self._tree(z))
        builder = self._builder(y)
        for fan in set(xe) | set(ye) | set(ze):
            a, b, c = xe.get(fan), ye.get(fan), ze.get(fan)
            if c == a:
                continue
            if b == a:
                self._incoming_tasks(fan, a, c)
                new = c
            elif b == c:
                continue
            else:
                self._check_fan(fan, c)
                new = self._fan(fan, a, b, c)
            _put(builder, fan, b, new)
        return _written(builder)

    def _fan(self, fan: str, x: Entry | None, y: Entry | None, z: Entry | None) -> Entry | None:
        xe = _entries(self._tree(x))
        ye = _entries(self._tree(y))
        ze = _entries(self._tree(z))
        builder = self._builder(y)
        for name in set(xe) | set(ye) | set(ze):
            a, b, c = xe.get(name), ye.get(name), ze.get(name)
            if c == a:
                continue
            self.result.incoming.add(name)
            if c is not None:
                self._check_task(fan, name, c, a)
            if b == c:
                continue
            new = c if b == a else self._task(name, a, b, c)
            _put(builder, name, b, new)
        return _written(builder)

    def _task(
        self, task_id: str, x: Entry | None, y: Entry | None, z: Entry | None
    ) -> Entry | None:
        """A task changed on both sides."""
        if y is None or z is None:
            self._delete_kept(task_id, deleter=OURS if y is None else THEIRS)
            return None
        if y[1] != TREE:  # unreadable locally: the other side's (checked) folder wins
            return z
        return self._folder(task_id, layout.task_dir(task_id), x, y, z)

    def _folder(
        self, task_id: str | None, path: str, x: Entry | None, y: Entry, z: Entry
    ) -> Entry | None:
        xe = _entries(self._tree(x))
        ye = _entries(self._tree(y))
        ze = _entries(self._tree(z))
        builder = self._builder(y)
        for name in set(xe) | set(ye) | set(ze):
            a, b, c = xe.get(name), ye.get(name), ze.get(name)
            if b == c or c == a:
                continue
            new = c if b == a else self._both(task_id, f"{path}/{name}", name, a, b, c)
            _put(builder, name, b, new)
        return _written(builder)

    def _both(
        self,
        task_id: str | None,
        path: str,
        name: str,
        x: Entry | None,
        y: Entry | None,
        z: Entry | None,
    ) -> Entry | None:
        """One entry changed on both sides, differently."""
        if y is None or z is None:
            return y if y is not None else z  # deleted against changed: nothing is lost
        if y[1] == TREE and z[1] == TREE:
            return self._folder(task_id, path, x if x and x[1] == TREE else None, y, z)
        label = self._label(task_id, path)
        if y[1] != TREE and z[1] != TREE and name.endswith(".yaml"):
            return self._yaml(task_id, label, x if x and x[1] != TREE else None, y, z)
        values = (self._text(y), self._text(z))
        return (y, z)[self._resolve(task_id, label, values)]

    @staticmethod
    def _label(task_id: str | None, path: str) -> str:
        if task_id is None:
            return path
        rel = path.removeprefix(layout.task_dir(task_id) + "/")
        if rel == layout.METADATA_FILE:
            return ""
        if rel.startswith(layout.FEEDBACK_DIR + "/"):
            return "feedback " + rel.split("/", 1)[1].removesuffix(".yaml")
        return rel

    def _text(self, entry: Entry) -> str | None:
        blob = self.git[entry[0]]
        if not isinstance(blob, pygit2.Blob):
            return "(folder)"
        return ": " + blob.data.decode("utf-8", errors="replace")

    def _chunks(self, entry: Entry) -> dict[str, str] | None:
        if entry[0] in self._chunk_cache:
            return self._chunk_cache[entry[0]]
        blob = self.git[entry[0]]
        data = blob.data if isinstance(blob, pygit2.Blob) else b""
        chunks = split_chunks(data)
        if chunks is None:  # an unusual shape: parse it, then write each key as we would
            try:
                loaded = yamlio.load(data)
            except ValueError:
                loaded = None
            if isinstance(loaded, dict):
                chunks = {str(k): yamlio.dump({str(k): v}) for k, v in loaded.items()}
        self._chunk_cache[entry[0]] = chunks
        return chunks

    def _yaml(
        self, task_id: str | None, label: str, x: Entry | None, y: Entry, z: Entry
    ) -> Entry | None:
        """Merge one YAML mapping key by key against the base."""
        ours, theirs = self._chunks(y), self._chunks(z)
        base = (self._chunks(x) if x is not None else None) or {}
        if ours is None or theirs is None:
            what = f"{label} (unreadable)".strip()
            return (y, z)[self._resolve(task_id, what, (self._text(y), self._text(z)))]
        win = self.later(task_id)
        sides = (ours, theirs)
        keys = list(sides[win]) + [k for k in sides[1 - win] if k not in sides[win]]
        merged: list[str] = []
        for key in keys:
            kb, ko, kt = base.get(key), ours.get(key), theirs.get(key)
            if ko == kt or kb == kt:
                value = ko
            elif kb == ko:
                value = kt
            else:
                value = None
                if key in LIST_FIELDS:
                    value = self._set_merge(key, kb, ko, kt, win)
                elif key in SUM_FIELDS:
                    value = self._sum_merge(key, kb, ko, kt)
                if value is None:
                    what = f"{label} {key}".strip()
                    value = (ko, kt)[self._resolve(task_id, what, (ko, kt))]
            if value is not None:
                merged.append(value)
        for side in (win, 1 - win):
            if merged == list(sides[side].values()):
                return (y, z)[side]
        return (self.git.create_blob("".join(merged).encode()), BLOB)

    @staticmethod
    def _set_merge(
        key: str, base: str | None, ours: str | None, theirs: str | None, win: int
    ) -> str | None:
        """Three-way set merge of a list field; None if a side is not a list."""
        values = []
        for chunk in (base, ours, theirs):
            try:
                loaded = yamlio.load(chunk) if chunk is not None else {key: []}
            except ValueError:
                return None
            items = loaded.get(key) if isinstance(loaded, dict) else None
            if items is None and chunk is not None and isinstance(loaded, dict):
                items = []
            if not isinstance(items, list):
                return None
            values.append(items)
        lb, lo, lt = values
        removed = [v for v in lb if v not in lo or v not in lt]
        first, second = (lo, lt) if win == THEIRS else (lt, lo)  # the earlier change first
        merged: list[Any] = []
        for item in [*first, *second]:
            if item not in removed and item not in merged:
                merged.append(item)
        return yamlio.dump({key: merged})

    @staticmethod
    def _sum_merge(key: str, base: str | None, ours: str | None, theirs: str | None) -> str | None:
        """A total both sides added to: base + both additions; None if not numbers."""
        numbers = []
        for chunk in (base, ours, theirs):
            try:
                loaded = yamlio.load(chunk) if chunk is not None else {key: 0}
            except ValueError:
                return None
            value = loaded.get(key) if isinstance(loaded, dict) else None
            value = 0 if value is None else value
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            numbers.append(value)
        nb, no, nt = numbers
        total = no + nt - nb
        if isinstance(total, float):
            total = round(total, 6)
        return yamlio.dump({key: total})

    def _delete_kept(self, task_id: str, deleter: int) -> None:
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


def _commit(git: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Commit:
    obj = git[oid]
    assert isinstance(obj, pygit2.Commit)
    return obj


def merge_commits(
    git: pygit2.Repository,
    ours: pygit2.Oid,
    theirs: pygit2.Oid,
    *,
    ours_label: str = "local",
    theirs_label: str = "origin",
    theirs_ref: str = "the other side",
) -> MergeResult:
    """Merge the task trees of two commits (against their merge base, if any).

    Writes the merged tree's objects and returns it with a report; moves no
    ref. The result does not depend on which side is ``ours``.
    """
    base_oid = git.merge_base(ours, theirs)
    merger = _TreeMerger(
        git,
        _commit(git, base_oid) if base_oid is not None else None,
        _Side(ours_label, _commit(git, ours)),
        _Side(theirs_label, _commit(git, theirs)),
        theirs_ref,
    )
    return merger.run()


def check_incoming(
    git: pygit2.Repository,
    ours: pygit2.Oid | None,
    theirs: pygit2.Oid,
    *,
    theirs_ref: str = "the other side",
) -> set[str]:
    """Check what ``theirs`` adds on top of ``ours`` (a fast-forward); the changed task ids.

    Raises InvalidHistoryError when the new part does not hold task records.
    """
    theirs_commit = _commit(git, theirs)
    base = _commit(git, ours) if ours is not None else None
    merger = _TreeMerger(
        git,
        base,
        _Side("local", base if base is not None else theirs_commit),
        _Side("remote", theirs_commit),
        theirs_ref,
    )
    b = _entries(base.tree if base is not None else None)
    t = _entries(theirs_commit.tree)
    merger._check_top(b, t)
    if b.get(layout.TASKS_DIR) != t.get(layout.TASKS_DIR):
        merger._incoming_fans(b.get(layout.TASKS_DIR), t.get(layout.TASKS_DIR))
    return merger.result.incoming
