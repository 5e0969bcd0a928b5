"""The agent's session transcript: where it is, and restoring one another clone left."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gittask.errors import GittaskError
from gittask.files import write_atomic
from gittask.runner import logs as runner_logs
from gittask.runner.agents import WORKDIR
from gittask.store import runlogs

if TYPE_CHECKING:
    from gittask.model import TaskMetadata
    from gittask.store.database import TaskDatabase

from gittask.workflow.tasklogs.views import Say, fetch_logs


def transcript_path(state_dir: Path, session_id: str) -> Path:
    """Claude Code's session transcript in the agent's state folder."""
    return state_dir / "projects" / WORKDIR.replace("/", "-") / f"{session_id}.jsonl"


def safe_session_id(session_id: str | None) -> str | None:
    if session_id and re.fullmatch(r"[A-Za-z0-9._-]{1,128}", session_id) and ".." not in session_id:
        return session_id
    return None


def restore_session(
    db: TaskDatabase, remote: str, task: TaskMetadata, state_dir: Path, log: Say
) -> bool:
    """Put the task's session transcript into ``state_dir`` when a run on another
    clone holds a newer one than this clone has (fetching the logs when needed);
    True when a transcript was written. Never raises: without it the run starts
    a fresh session."""
    try:
        return _restore_session(db, remote, task, state_dir, log)
    except (GittaskError, OSError) as exc:
        log(f"could not restore the session of task {task.id[:8]}: {exc}")
        return False


#: Where an agent keeps a session's transcript in its state folder, if it is there
#: (``Agent.session_file``: Claude's projects/-workspace/<id>.jsonl, Codex's rollouts).
SessionLocator = Callable[[Path, str], Path | None]


def claude_transcript(state_dir: Path, session_id: str) -> Path | None:
    path = transcript_path(state_dir, session_id)
    return path if path.is_file() else None


def _stored_session_path(state_dir: Path, info: Mapping[str, object], session_id: str) -> Path:
    """Where a stored transcript goes back: the path the run recorded, relative to the
    state folder (checked: no absolute path, no ``..``), else Claude's layout."""
    relative = info.get("session_path")
    if isinstance(relative, str) and relative and not relative.startswith("/"):
        parts = Path(relative).parts
        if ".." not in parts and all(re.fullmatch(r"[A-Za-z0-9._-]+", p) for p in parts):
            return state_dir.joinpath(*parts)
    return transcript_path(state_dir, session_id)


def _restore_session(
    db: TaskDatabase, remote: str, task: TaskMetadata, state_dir: Path, log: Say
) -> bool:
    session_id = safe_session_id(task.session_id)
    if session_id is None:
        return False
    # runs this clone made (not the one starting now, whose folder may exist already)
    local_runs = {n for n, _ in runner_logs.runs(db.logs_folder(task.id)) if n <= task.run_count}
    stored = _session_run(db, task.id, session_id)
    known = local_runs | set(runlogs.stored_runs(db.repo, task.id))
    if stored is None or max(known, default=0) < task.run_count:
        # a run this clone has not seen may hold a newer transcript
        why = fetch_logs(db, remote, task.id)
        if why:
            log(f"could not fetch the logs of task {task.id[:8]} from {remote}: {why}")
        stored = _session_run(db, task.id, session_id)
    if stored is None:
        return False
    target = _stored_session_path(state_dir, stored.info, session_id)
    if target.is_file() and max(local_runs, default=0) >= stored.run:
        return False  # this clone ran the session since: its transcript is the newest
    data = stored.read(runlogs.SESSION)
    if data is None:
        return False
    if target.is_file() and target.read_bytes() == data:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, data, mode=0o644)
    log(f"restored session {session_id} from run {stored.run}'s logs ({len(data)} bytes)")
    return True


def _session_run(db: TaskDatabase, task_id: str, session_id: str) -> runlogs.StoredRun | None:
    """The latest stored run that holds the transcript of ``session_id``."""
    for number in reversed(runlogs.stored_runs(db.repo, task_id)):
        stored = runlogs.read_run(db.repo, task_id, number)
        if (
            stored is not None
            and stored.info.get("session_file") == session_id
            and runlogs.SESSION in stored.names
        ):
            return stored
    return None
