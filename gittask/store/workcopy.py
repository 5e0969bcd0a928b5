"""The browsable working copy ``.claude-container/tasks/``: derived, never read back.

    README.md                                what this folder is
    task_registry.json                       the tip it shows, the task count, where to look
    registry/<ab>.json                       every task whose id starts with <ab>: id -> summary
    tasks/<id>/metadata.json                 the full record of a task you worked with
    tasks/<id>/feedback/001_initial.md       its description, then one file per
    tasks/<id>/feedback/002_continue.md      feedback entry in order
    tasks/<id>/logs/                         run logs (written by the runner)

It is brought up to date incrementally, as the index is: only the registry
files of the fan-out folders whose tree ids changed are rewritten, so a write
costs the same with 100 or 100,000 tasks. A task's own folder appears when a
command works with that task (``show``, ``create``, ``continue``, ``logs``, ...)
and is kept current from then on, or removed with the task; the registry
lists every task. That keeps the folder to a few hundred bytes a task (a
folder per task costs at least 8 KB of disk blocks).

Updated under a file lock, with atomic file replacement, so concurrent
commands never leave a half-written file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from gittask.files import write_atomic
from gittask.store.index import IndexRow, TaskIndex

WORKCOPY_DIR = Path(".claude-container") / "tasks"
STATE_FILE = ".state.json"  # the tip and fan-out tree ids shown, for the next update
README = """\
# Task records (derived)

claude-container keeps this folder in step with `refs/claude-tasks`; edits here
are overwritten and never read back.

- `task_registry.json`: which commit of `refs/claude-tasks` this shows.
- `registry/<ab>.json`: every task whose id starts with `<ab>`: status, branch, title.
- `tasks/<id>/`: the full record of each task a command worked with (show,
  create, continue, logs, ...): `metadata.json`, `feedback/`, `logs/`.
  `claude-container task show ID` adds the folder of any task.
"""


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)


def _shard_text(entries: dict[str, dict[str, Any]]) -> str:
    """A registry file: one task a line (json.dumps with an indent is its slow encoder)."""
    lines = (
        f" {json.dumps(task_id)}: {json.dumps(summary, ensure_ascii=False)}"
        for task_id, summary in entries.items()
    )
    return "{\n" + ",\n".join(lines) + "\n}\n"


def feedback_file_name(number: int, entry: dict[str, Any]) -> str:
    kind = "review" if entry.get("feedback_type") == "review" else "continue"
    return f"{number:03d}_{kind}.md"


def _summary(row: IndexRow) -> dict[str, Any]:
    return {
        "oid": row.oid,
        "status": row.status,
        "branch_name": row.branch,
        "created_at": row.created_at,
        "title": row.title,
        "pr_url": row.pr_url,
        "error": row.error,
    }


class WorkCopy:
    def __init__(self, root: Path) -> None:
        self.root = root  # <worktree>/.claude-container/tasks

    def task_folder(self, task_id: str) -> Path:
        return self.root / "tasks" / task_id

    def shows(self, task_id: str) -> bool:
        """Whether the task has its folder (with its record) here."""
        return (self.task_folder(task_id) / "metadata.json").is_file()

    def logs_folder(self, task_id: str) -> Path:
        return self.task_folder(task_id) / "logs"

    def shard(self, fan: str) -> Path:
        return self.root / "registry" / f"{fan}.json"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _state(self) -> dict[str, Any]:
        try:
            data = json.loads((self.root / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        ok = isinstance(data, dict) and isinstance(data.get("fans"), dict)
        return data if ok else {}

    def _read_shard(self, fan: str) -> dict[str, Any]:
        try:
            data = json.loads(self.shard(fan).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def forget(self) -> None:
        """Forget what was written: the next :meth:`sync` writes everything again."""
        with contextlib.suppress(FileNotFoundError):
            (self.root / STATE_FILE).unlink()

    def sync(self, index: TaskIndex, touched: Iterable[str] = ()) -> None:
        """Make the working copy match the index (which matches the ref).

        ``touched``: tasks a command worked with; their folders are written.
        """
        wanted = [t for t in touched if t]
        tip = index.tip
        state = self._state()
        if state.get("tip") == tip and all(self.shows(t) for t in wanted):
            return
        with self._locked():
            state = self._state()
            full = not state
            if full:
                self._start_over()
            shown: dict[str, str] = state.get("fans") or {}
            fans = index.fans()
            count = int(state.get("count") or 0)
            folders = self._folders()
            for fan in sorted(set(shown) | set(fans)):
                if shown.get(fan) != fans.get(fan) or (full and fan in fans):
                    count += self._sync_fan(index, fan, folders)
            if full:  # folders of tasks that are gone (an older layout, a lost state)
                self._drop_strays(set(index.ids()))
            for task_id in wanted:
                if not self.shows(task_id):
                    self._write_task(task_id, index.record(task_id))
            registry = {
                "generated_from": "refs/claude-tasks",
                "tip": tip,
                "tasks": count,
                "registry": "registry/<first two hex digits of the id>.json",
                "note": "derived from refs/claude-tasks; edits here are overwritten",
            }
            _write_atomic(self.root / "task_registry.json", json.dumps(registry, indent=1) + "\n")
            state = {"tip": tip, "count": count, "fans": fans}
            _write_atomic(self.root / STATE_FILE, json.dumps(state, separators=(",", ":")))

    def _start_over(self) -> None:
        """No usable state (first run, an older layout, a damaged file): rewrite it all."""
        ignore = self.root / ".gitignore"
        if not ignore.exists():  # never show up in `git status`, even before `init`
            _write_atomic(ignore, "# derived from refs/claude-tasks by claude-container\n*\n")
        _write_atomic(self.root / "README.md", README)
        shutil.rmtree(self.root / "registry", ignore_errors=True)
        # an older layout kept a folder for every task: keep those with logs,
        # they are refreshed or removed with their fan-out folder below
        tasks = self.root / "tasks"
        if tasks.is_dir():
            for folder in tasks.iterdir():
                if folder.is_dir() and not (folder / "logs").is_dir():
                    shutil.rmtree(folder, ignore_errors=True)

    def _drop_strays(self, ids: set[str]) -> None:
        tasks = self.root / "tasks"
        if tasks.is_dir():
            for folder in tasks.iterdir():
                if folder.name not in ids:
                    shutil.rmtree(folder, ignore_errors=True)

    def _sync_fan(self, index: TaskIndex, fan: str, folders: set[str]) -> int:
        """Rewrite one registry file and the task folders under it; the change in count."""
        old = self._read_shard(fan)
        rows = index.rows(fan=fan)
        new = {row.id: _summary(row) for row in rows}
        if new:
            _write_atomic(self.shard(fan), _shard_text(new))
        else:
            self.shard(fan).unlink(missing_ok=True)
        for task_id in set(old) - set(new):
            shutil.rmtree(self.task_folder(task_id), ignore_errors=True)
        for task_id, summary in new.items():
            if (old.get(task_id) or {}).get("oid") == summary["oid"]:
                continue
            if task_id in folders:
                self._write_task(task_id, index.record(task_id))
        return len(new) - len(old)

    def _folders(self) -> set[str]:
        """The tasks that have a folder (a few: those commands worked with)."""
        try:
            return {entry.name for entry in os.scandir(self.root / "tasks") if entry.is_dir()}
        except OSError:
            return set()

    def _write_task(self, task_id: str, record: dict[str, Any]) -> None:
        folder = self.task_folder(task_id)
        if not record:  # unreadable on the ref: keep only logs
            (folder / "metadata.json").unlink(missing_ok=True)
            return
        _write_atomic(folder / "metadata.json", json.dumps(record, indent=2, ensure_ascii=False))
        feedback = folder / "feedback"
        wanted = {"001_initial.md": record.get("description") or ""}
        for number, entry in enumerate(record.get("feedback_history") or [], start=2):
            header = f"<!-- {entry.get('timestamp')} {entry.get('author') or ''} -->\n"
            wanted[feedback_file_name(number, entry)] = header + (entry.get("feedback") or "")
        if feedback.is_dir():
            for stale in feedback.iterdir():
                if stale.name not in wanted:
                    with suppress(OSError):
                        stale.unlink()
        for name, text in wanted.items():
            _write_atomic(feedback / name, text if text.endswith("\n") else text + "\n")
