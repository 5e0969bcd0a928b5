"""Run logs and agent sessions that travel with the task (stored by ``store/runlogs.py``).

- :func:`keep_run`, at the end of a run: the run's agent output, execution log,
  ``run.json`` and the agent's session transcript, each scrubbed, capped at
  ``logs.max_bytes`` (a cut log ends with a line saying so) and checked for
  credential values, become one commit on the task's logs ref, which is pushed.
- :func:`find_run`, for ``task logs``: a run this clone has no folder for is
  read from the logs ref, fetched from the remote when the ref lacks it.
- :func:`restore_session`, before a run: the session transcript that a run on
  another clone left goes into this clone's agent-state folder, so ``--resume``
  finds it.
- :func:`clean_logs`, for ``clean --logs --older-than``: runs older than that
  leave every logs ref (and the remote's) and the local run folders.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gittask.errors import GittaskError, UsageError
from gittask.files import write_atomic
from gittask.runner import logs as runner_logs
from gittask.runner.agents import WORKDIR
from gittask.runner.worktree import MIN_SECRET_LENGTH, remote_exists
from gittask.store import runlogs
from gittask.store.repo import GitRepo

if TYPE_CHECKING:
    from gittask.config import ProjectConfig
    from gittask.model import TaskMetadata
    from gittask.runner.logs import Scrubber
    from gittask.store.database import TaskDatabase

#: local file in the run folder -> stored name
LOCAL_FILES = {
    runner_logs.AGENT_LOG: runlogs.AGENT_LOG,
    runner_logs.EXECUTION_LOG: runlogs.EXECUTION_LOG,
}
#: a line printed before a file that cannot be read with the logs ref
Say = Callable[[str], None]


def transcript_path(state_dir: Path, session_id: str) -> Path:
    """Claude Code's session transcript in the agent's state folder."""
    return state_dir / "projects" / WORKDIR.replace("/", "-") / f"{session_id}.jsonl"


def _safe_session_id(session_id: str | None) -> str | None:
    if session_id and re.fullmatch(r"[A-Za-z0-9._-]{1,128}", session_id) and ".." not in session_id:
        return session_id
    return None


# -- what goes into git --------------------------------------------------------------------


def _secret_forms(credentials: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each credential value long enough to look for, as written
    plainly and inside a JSON string, longest first."""
    forms: set[tuple[str, bytes]] = set()
    for name, value in credentials.items():
        if value and len(value.strip()) >= MIN_SECRET_LENGTH:
            for text in (
                value,
                json.dumps(value)[1:-1],
                json.dumps(value, ensure_ascii=False)[1:-1],
            ):
                forms.add((name, text.encode()))
    return sorted(forms, key=lambda item: -len(item[1]))


def find_credential(data: bytes, credentials: Mapping[str, str]) -> str | None:
    """The name of the first credential whose value ``data`` holds (the check that
    guards the agent's commits, applied to a log before it is stored)."""
    for name, value in _secret_forms(credentials):
        if value in data:
            return name
    return None


def _strip_partial_secret(data: bytes, credentials: Mapping[str, str]) -> bytes:
    """Drop a tail that is the start of a credential value (a cut through it)."""
    for _name, value in _secret_forms(credentials):
        for length in range(min(len(value) - 1, len(data)), 0, -1):
            if data.endswith(value[:length]):
                return data[:-length]
    return data


@dataclass
class Capped:
    data: bytes
    size: int  # bytes of the original file
    truncated: bool = False
    withheld: str | None = None  # credential name that kept the file out


def cap_file(
    path: Path, max_bytes: int, scrub: Scrubber, credentials: Mapping[str, str]
) -> Capped | None:
    """The file scrubbed and cut to ``max_bytes`` (ending with a line that says so);
    a content that still holds a credential value is withheld. None: no file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        # enough past the cut that a secret starting before it is masked whole
        head = handle.read(max_bytes + scrub.longest + 1)
    data = scrub.bytes(head)
    truncated = size > max_bytes or len(data) > max_bytes
    if truncated:
        data = data[:max_bytes]
        line_end = data.rfind(b"\n", max(0, len(data) - 65536))
        if line_end >= 0:
            data = data[: line_end + 1]
        data = _strip_partial_secret(data, credentials)
        dropped = max(0, size - len(data))
        if data and not data.endswith(b"\n"):
            data += b"\n"
        data += (
            f"[claude-container: log truncated: {dropped} of {size} bytes were not stored "
            f"(logs.max_bytes = {max_bytes})]\n"
        ).encode()
    leaked = find_credential(data, credentials)
    if leaked is not None:
        note = f"[claude-container: withheld: this log held the value of {leaked}]\n"
        return Capped(note.encode(), size, truncated, withheld=leaked)
    return Capped(data, size, truncated)


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
) -> str | None:
    """Store run ``run``'s logs (and session) on the task's logs ref and push it;
    the ref's name, or None when the run never started. Never raises: the run is
    over and recorded, so a problem here is one warning line."""
    if task is None or task.run_count < run or run < 1:
        return None  # the run did not reach its container: nothing worth keeping
    try:
        ref = _store(db, config, task.id, run, folder, state_dir, scrub, credentials, say)
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
) -> str:
    max_bytes = int(config["logs.max_bytes"])
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
    session_id = _safe_session_id(str(info.get("session_id") or "") or _record_session(db, task_id))
    if state_dir is not None and session_id:
        path = transcript_path(state_dir, session_id)
        with contextlib.suppress(OSError):
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
        return db.store.get(task_id).session_id
    return None


def push_logs(repo: GitRepo, remote: str, task_id: str) -> str | None:
    """Publish the task's logs ref (until the sync layer's publish carries
    :func:`gittask.store.runlogs.push_refspec` with the rest). None when done or
    when there is no such remote, else why not."""
    if not remote_exists(repo, remote):
        return None
    return runlogs.push(repo, remote, task_id)


# -- reading -------------------------------------------------------------------------------


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


# -- session hand-off ----------------------------------------------------------------------


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


def _restore_session(
    db: TaskDatabase, remote: str, task: TaskMetadata, state_dir: Path, log: Say
) -> bool:
    session_id = _safe_session_id(task.session_id)
    if session_id is None:
        return False
    target = transcript_path(state_dir, session_id)
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


# -- clean --logs --------------------------------------------------------------------------

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
