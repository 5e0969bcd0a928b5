"""Live-run markers: ``<runs_dir>/<task-id>.json``, one per task being run on this machine.

The marker is claimed under a file lock before a run touches anything, so two
processes never run the same task at once; it holds the driving process's pid,
the container id once there is one, the run number and the log folder. It is
removed when the run ends, whatever the ending. A marker whose pid is dead was
left by a crash (``kill -9``, power loss): it is stale, and the next run of the
task, ``task list`` and ``clean`` treat it so.

No docker, no pygit2 here: ``task list`` reads these on its fast path.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gittask.errors import GittaskError
from gittask.files import write_atomic
from gittask.runner import naming
from gittask.store.repo import GitRepo

STATE_PREPARING = "preparing"  # claimed: worktree and container being set up
STATE_RUNNING = "running"  # the record says running; the container is started
STATE_FINISHING = "finishing"  # the agent ended: commit, note, push


@dataclass
class RunMarker:
    task_id: str
    pid: int
    run: int
    state: str = STATE_PREPARING
    container_id: str | None = None
    container_name: str | None = None
    log_dir: str | None = None
    worktree: str | None = None
    started_at: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunMarker:
        return cls(
            task_id=str(data["task_id"]),
            pid=int(data["pid"]),
            run=int(data.get("run") or 0),
            state=str(data.get("state") or STATE_PREPARING),
            container_id=data.get("container_id"),
            container_name=data.get("container_name"),
            log_dir=data.get("log_dir"),
            worktree=data.get("worktree"),
            started_at=float(data.get("started_at") or 0.0),
        )

    @property
    def alive(self) -> bool:
        return pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process that looks like this tool (not a reused pid)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (not Linux): trust kill(0)
    if not cmdline:
        return False  # a zombie
    text = cmdline.replace(b"\0", b" ")
    return b"gittask" in text or b"claude-container" in text


def marker_path(repo: GitRepo, task_id: str) -> Path:
    return naming.runs_dir(repo) / f"{task_id}.json"


def read_marker(path: Path) -> RunMarker | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunMarker.from_dict(data) if isinstance(data, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def marker_for(repo: GitRepo, task_id: str) -> RunMarker | None:
    return read_marker(marker_path(repo, task_id))


def all_markers(repo: GitRepo) -> list[RunMarker]:
    """Every marker on this machine for ``repo``, live or stale."""
    folder = naming.runs_dir(repo)
    try:
        names = sorted(p for p in folder.iterdir() if p.suffix == ".json")
    except OSError:
        return []
    found = []
    for path in names:
        marker = read_marker(path)
        if marker is not None:
            found.append(marker)
    return found


@contextlib.contextmanager
def _task_lock(marker_file: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``<task-id>.lock`` beside the marker.

    The kernel releases it even when a process dies. :func:`release` removes the
    lock file, so a lock taken on a file that was removed meanwhile is retried.
    """
    lock_file = marker_file.with_suffix(".lock")
    while True:
        fd = os.open(lock_file, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(lock_file).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                try:
                    yield
                finally:
                    with contextlib.suppress(FileNotFoundError):
                        if not marker_file.exists():
                            lock_file.unlink()  # nothing left to guard
                return
        finally:
            os.close(fd)  # releases the lock


def already_running(held: RunMarker) -> GittaskError:
    """The refusal when a live process of this machine runs the task."""
    return GittaskError(
        f"task {held.task_id[:8]} is already running (run {held.run}, pid {held.pid})",
        f"follow it with 'task logs {held.task_id[:8]} --follow'",
    )


def refuse_if_running(repo: GitRepo, task_id: str) -> None:
    """Raise :func:`already_running` when a live process here runs the task."""
    held = marker_for(repo, task_id)
    if held is not None and held.alive:
        raise already_running(held)


def claim(repo: GitRepo, marker: RunMarker) -> Path:
    """Create the marker, refusing when a live run of the task holds it.

    Check and create happen under :func:`_task_lock`, so of two processes that
    both find a stale marker only one takes the task over.
    """
    path = marker_path(repo, marker.task_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _task_lock(path):
        held = read_marker(path)
        if held is not None and held.alive:
            raise already_running(held)
        update(repo, marker)  # replaces a stale marker (left by a crashed run) at once
    return path


def update(repo: GitRepo, marker: RunMarker) -> None:
    """Rewrite the marker atomically (readers never see half a file)."""
    write_atomic(marker_path(repo, marker.task_id), marker.to_json())


def release(repo: GitRepo, marker: RunMarker) -> None:
    """Remove the marker if it is still ours."""
    path = marker_path(repo, marker.task_id)
    if not path.parent.is_dir():
        return
    with _task_lock(path):
        held = read_marker(path)
        if held is None or held.pid == marker.pid:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
