"""Storing a run's logs on the task's logs ref at the end of the run, and pushing it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gittask.errors import GittaskError
from gittask.runner import logs as runner_logs
from gittask.runner.worktree import remote_exists
from gittask.store import runlogs
from gittask.store.repo import GitRepo

if TYPE_CHECKING:
    from gittask.config import ProjectConfig
    from gittask.model import TaskMetadata
    from gittask.runner.logs import Scrubber
    from gittask.store.database import TaskDatabase

from gittask.workflow.tasklogs.capping import cap_file, find_credential
from gittask.workflow.tasklogs.sessions import SessionLocator, claude_transcript, safe_session_id
from gittask.workflow.tasklogs.views import Say

#: local file in the run folder -> stored name
LOCAL_FILES = {
    runner_logs.AGENT_LOG: runlogs.AGENT_LOG,
    runner_logs.EXECUTION_LOG: runlogs.EXECUTION_LOG,
}


def keep_run(
    db: TaskDatabase,
    config: ProjectConfig,
    task: TaskMetadata | None,
    run: int,
    folder: Path,
    state_dir: Path | None,
    scrub: Scrubber,
    credentials: Mapping[str, str],
    remote: str,
    say: Say,
    locate: SessionLocator = claude_transcript,
) -> str | None:
    """Store run ``run``'s logs (and session) on the task's logs ref and push it;
    the ref's name, or None when the run never started. Never raises: the run is
    over and recorded, so a problem here is one warning line."""
    if task is None or task.run_count < run or run < 1:
        return None  # the run did not reach its container: nothing worth keeping
    try:
        ref = _store(db, config, task.id, run, folder, state_dir, scrub, credentials, say, locate)
    except (GittaskError, OSError) as exc:
        say(f"warning: the logs of run {run} were not stored in git: {exc}")
        return None
    try:
        why = push_logs(db.repo, remote, task.id)
    except GittaskError as exc:
        why = str(exc)
    if why:
        say(f"warning: the logs of run {run} stay in this clone: push to {remote} failed: {why}")
    return ref


def _store(
    db: TaskDatabase,
    config: ProjectConfig,
    task_id: str,
    run: int,
    folder: Path,
    state_dir: Path | None,
    scrub: Scrubber,
    credentials: Mapping[str, str],
    say: Say,
    locate: SessionLocator = claude_transcript,
) -> str:
    max_bytes = config.logs_max_bytes
    info = scrub.data(runner_logs.read_run_info(folder))
    info["run"] = run
    info["stored_at"] = datetime.now(UTC).isoformat()
    files: dict[str, bytes] = {}
    notes: list[str] = []
    for local, stored in LOCAL_FILES.items():
        capped = cap_file(folder / local, max_bytes, scrub, credentials)
        if capped is None:
            continue
        files[stored] = capped.data
        if capped.truncated:
            notes.append(f"{stored} truncated to logs.max_bytes ({capped.size} bytes)")
        if capped.withheld:
            say(f"warning: {stored} of run {run} held the value of {capped.withheld}: not stored")
    session_id = safe_session_id(str(info.get("session_id") or "") or _record_session(db, task_id))
    path = locate(state_dir, session_id) if state_dir is not None and session_id else None
    if state_dir is not None and session_id and path is not None:
        with contextlib.suppress(OSError, ValueError):
            size = path.stat().st_size
            if size > max_bytes:  # a cut transcript cannot be resumed: keep none
                notes.append(f"session not stored: {size} bytes > logs.max_bytes ({max_bytes})")
            else:
                capped = cap_file(path, max_bytes, scrub, credentials)
                if capped is not None and capped.withheld:
                    notes.append(f"session not stored: it held the value of {capped.withheld}")
                elif capped is not None:
                    files[runlogs.SESSION] = capped.data
                    info["session_file"] = session_id
                    info["session_path"] = path.relative_to(state_dir).as_posix()
    if notes:
        info["stored_notes"] = notes
    leaked = find_credential(json.dumps(info, default=str).encode(), credentials)
    if leaked is None:
        leaked = find_credential(
            json.dumps(info, default=str, ensure_ascii=False).encode(), credentials
        )
    if leaked is not None:
        say(f"warning: run.json of run {run} held the value of {leaked}: stored without it")
        info = {"run": run, "stored_at": info["stored_at"], "withheld": leaked}
    return runlogs.store_run(db.repo, task_id, run, info, files)


def _record_session(db: TaskDatabase, task_id: str) -> str | None:
    with contextlib.suppress(GittaskError):
        return db.task(task_id).session_id
    return None


def push_logs(repo: GitRepo, remote: str, task_id: str) -> str | None:
    """Publish the task's logs ref (until the sync layer's publish carries
    :func:`gittask.store.runlogs.push_refspec` with the rest). None when done or
    when there is no such remote, else why not."""
    if not remote_exists(repo, remote):
        return None
    return runlogs.push(repo, remote, task_id)
