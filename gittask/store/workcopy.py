"""The browsable working copy ``.claude-container/tasks/``: derived, never read back.

    task_registry.json                       the master list (id -> summary)
    tasks/<id>/metadata.json                 the full record
    tasks/<id>/feedback/001_initial.md       the description, then one file per
    tasks/<id>/feedback/002_continue.md      feedback entry in order
    tasks/<id>/logs/                         run logs (written by the runner)

Refreshed from the index after every change, under a file lock, with atomic
file replacement, so concurrent commands never leave a half-written file.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gittask.files import write_atomic
from gittask.store.index import TaskIndex

WORKCOPY_DIR = Path(".claude-container") / "tasks"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)


def feedback_file_name(number: int, entry: dict[str, Any]) -> str:
    kind = "review" if entry.get("feedback_type") == "review" else "continue"
    return f"{number:03d}_{kind}.md"


class WorkCopy:
    def __init__(self, root: Path) -> None:
        self.root = root  # <worktree>/.claude-container/tasks

    def task_folder(self, task_id: str) -> Path:
        return self.root / "tasks" / task_id

    def logs_folder(self, task_id: str) -> Path:
        return self.task_folder(task_id) / "logs"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _registry(self) -> dict[str, Any]:
        try:
            data = json.loads((self.root / "task_registry.json").read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def sync(self, index: TaskIndex) -> None:
        """Make the working copy match the index (which matches the ref)."""
        tip_file = self.root / ".tip"
        if tip_file.is_file() and tip_file.read_text().strip() == index.tip:
            return
        with self._locked():
            ignore = self.root / ".gitignore"
            if not ignore.exists():  # never show up in `git status`, even before `init`
                _write_atomic(ignore, "# derived from refs/claude-tasks by claude-container\n*\n")
            tip = index.tip
            registry = self._registry()
            old = registry.get("tasks") or {}
            new: dict[str, Any] = {}
            for row in index.rows():
                new[row.id] = {
                    "oid": row.oid,
                    "status": row.status,
                    "branch_name": row.branch,
                    "created_at": row.created_at,
                    "title": row.title,
                    "pr_url": row.pr_url,
                    "error": row.error,
                }
                if (old.get(row.id) or {}).get("oid") != row.oid:
                    self._write_task(row.id, index.record(row.id))
            for task_id in set(old) - set(new):
                shutil.rmtree(self.task_folder(task_id), ignore_errors=True)
            registry = {
                "generated_from": "refs/claude-tasks",
                "tip": tip,
                "note": "derived from refs/claude-tasks; edits here are overwritten",
                "tasks": new,
            }
            _write_atomic(self.root / "task_registry.json", json.dumps(registry, indent=1))
            _write_atomic(tip_file, tip + "\n")

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
                    stale.unlink()
        for name, text in wanted.items():
            _write_atomic(feedback / name, text if text.endswith("\n") else text + "\n")
