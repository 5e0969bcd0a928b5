"""Reading a run's logs: the local folder, else the logs ref (fetched when missing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gittask.runner import logs as runner_logs
from gittask.runner.worktree import remote_exists
from gittask.store import runlogs

if TYPE_CHECKING:
    from gittask.model import TaskMetadata
    from gittask.store.database import TaskDatabase


#: progress and warnings for the user (one line each)
Say = Callable[[str], None]


@dataclass
class RunView:
    """One run's logs for ``task logs``, from the run folder or from git."""

    run: int
    info: dict[str, Any]
    folder: Path | None = None  # the local run folder, when this clone has it
    stored: runlogs.StoredRun | None = None

    def read(self, execution: bool) -> bytes | None:
        if self.folder is not None:
            name = runner_logs.EXECUTION_LOG if execution else runner_logs.AGENT_LOG
            path = self.folder / name
            return path.read_bytes() if path.is_file() else None
        assert self.stored is not None
        return self.stored.read(runlogs.EXECUTION_LOG if execution else runlogs.AGENT_LOG)


def known_runs(db: TaskDatabase, task_id: str) -> list[int]:
    """Runs with logs here: local run folders and the local logs ref."""
    local = {n for n, _ in runner_logs.runs(db.logs_folder(task_id))}
    return sorted(local | set(runlogs.stored_runs(db.repo, task_id)))


def fetch_logs(db: TaskDatabase, remote: str, task_id: str) -> str | None:
    """Bring the remote's logs of the task into the local ref; why not, or None."""
    if not remote_exists(db.repo, remote):
        return None
    got = runlogs.fetch(db.repo, remote, task_id)
    return got.error


def find_run(
    db: TaskDatabase, task_id: str, run: int, remote: str, say: Say | None = None
) -> RunView | None:
    """Run ``run``'s logs: the local folder, else the logs ref, fetched from
    ``remote`` first when the ref lacks the run. None when no clone published it."""
    folder = runner_logs.run_folder(db.logs_folder(task_id), run)
    if folder.is_dir():
        return RunView(run, runner_logs.read_run_info(folder), folder=folder)
    stored = runlogs.read_run(db.repo, task_id, run)
    if stored is None:
        why = fetch_logs(db, remote, task_id)
        if why and say is not None:
            say(f"warning: could not fetch the logs from {remote}: {why}")
        stored = runlogs.read_run(db.repo, task_id, run)
    if stored is None:
        return None
    return RunView(run, stored.info, stored=stored)


def latest_run(db: TaskDatabase, task: TaskMetadata) -> int | None:
    runs = known_runs(db, task.id)
    latest = max([*runs, task.run_count], default=0)
    return latest or None
