"""``clean --logs --older-than``: old runs leave the logs refs, here and on the remote."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gittask.errors import UsageError
from gittask.runner import logs as runner_logs
from gittask.runner.worktree import remote_exists
from gittask.store import runlogs
from gittask.store.repo import GitRepo

if TYPE_CHECKING:
    pass


_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")

_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w``, ``90m``, ``45s``."""
    match = _AGE.match(text.lower())
    if not match:
        raise UsageError(f"bad age {text!r}", "use a number and a unit: 30d, 12h, 2w")
    return timedelta(seconds=int(match.group(1)) * _UNIT[match.group(2)])


def _when(info: Mapping[str, Any]) -> datetime | None:
    for key in ("completed_at", "stored_at", "started_at"):
        value = info.get(key)
        if isinstance(value, str) and value:
            with contextlib.suppress(ValueError):
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


@dataclass
class CleanLogs:
    runs: int = 0  # runs dropped from logs refs
    refs: int = 0  # logs refs changed
    freed: int = 0  # bytes of blobs no longer on any logs ref
    folders: int = 0  # local run folders removed
    folder_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def describe(self, dry_run: bool) -> list[str]:
        verb = "would free" if dry_run else "freed"
        lines = [
            f"{verb} {_size(self.freed)} of stored logs: {self.runs} run(s) of {self.refs} task(s)",
            f"{verb} {_size(self.folder_bytes)} of local run folders: {self.folders} folder(s)",
        ]
        return [*self.notes, *lines]

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "tasks": self.refs,
            "freed_bytes": self.freed,
            "local_folders": self.folders,
            "local_bytes": self.folder_bytes,
            "notes": list(self.notes),
        }


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB ({n} bytes)"
    return f"{n / (1024 * 1024):.1f} MiB ({n} bytes)"


def _folder_size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(Path(dirpath) / name).st_size
    return total


def local_logs_roots(repo: GitRepo) -> list[Path]:
    """Every task's local ``logs`` folder (working copy, or the state folder of a
    bare repository)."""
    from gittask.store.workcopy import WORKCOPY_DIR

    roots: list[Path] = []
    main = repo.main_workdir
    if main is not None:
        tasks = main / WORKCOPY_DIR / "tasks"
        if tasks.is_dir():
            roots += [child / "logs" for child in sorted(tasks.iterdir()) if child.is_dir()]
    bare = repo.state_dir / "logs"
    if bare.is_dir():
        roots += [child for child in sorted(bare.iterdir()) if child.is_dir()]
    return roots


def clean_logs(
    repo: GitRepo,
    remote: str,
    older_than: timedelta,
    logs_roots: Iterable[Path] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> CleanLogs:
    """Drop runs older than ``older_than`` from every logs ref, here and on
    ``remote`` (replaced only if nobody pushed meanwhile), and the local run
    folders below ``logs_roots`` (default: every task's)."""
    if logs_roots is None:
        logs_roots = local_logs_roots(repo)
    cutoff = (now or datetime.now(UTC)) - older_than
    result = CleanLogs()

    def old(_run: int, info: dict[str, Any]) -> bool:
        moment = _when(info)
        return moment is not None and moment < cutoff

    reachable = remote_exists(repo, remote)
    remote_tips: dict[str, Any] = {}
    if reachable and dry_run:
        result.notes.append(f"dry run: {remote}'s logs were not fetched; only this clone's count")
    elif reachable:
        got = runlogs.fetch(repo, remote, None)
        if got.error:
            result.notes.append(f"{remote} not cleaned (only this clone): {got.error}")
            reachable = False
        remote_tips = got.tips
    for task_id in runlogs.all_refs(repo):
        pruned = runlogs.prune(repo, task_id, old, dry_run=dry_run)
        if not pruned.runs:
            continue
        result.runs += len(pruned.runs)
        result.refs += 1
        result.freed += pruned.freed
        if dry_run or not reachable:
            continue
        why = _replace_remote(repo, remote, task_id, remote_tips.get(task_id), old)
        if why:
            result.notes.append(f"logs of task {task_id[:8]} not replaced on {remote}: {why}")
    for root in logs_roots:
        for number, folder in runner_logs.runs(root):
            if old(number, runner_logs.read_run_info(folder)):
                result.folders += 1
                result.folder_bytes += _folder_size(folder)
                if not dry_run:
                    shutil.rmtree(folder, ignore_errors=True)
    return result


def _replace_remote(
    repo: GitRepo,
    remote: str,
    task_id: str,
    expected: Any,
    old: Callable[[int, dict[str, Any]], bool],
) -> str | None:
    """Push the pruned ref over the remote's, by lease; when someone pushed
    meanwhile, combine with theirs, prune again and retry."""
    why: str | None = None
    for _ in range(runlogs.MAX_PUSH_ATTEMPTS):
        why = runlogs.push_rewritten(repo, remote, task_id, expected)
        if why is None:
            return None
        got = runlogs.fetch(repo, remote, task_id)
        if got.error:
            return got.error
        expected = got.tips.get(task_id)
        runlogs.prune(repo, task_id, old, rewrite=True)
    return why
