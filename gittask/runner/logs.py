"""Raw run logs under the task's ``logs/`` folder, one subfolder per run.

    logs/run-001/claude_output.log    the agent's output, raw (stream-json for Claude)
    logs/run-001/execution.log        what the tool did, with timestamps
    logs/run-001/run.json             run number, feedback id, times, outcome
    logs/claude_output.log            symlinks to the latest run's files
    logs/execution.log

Everything written here goes through a :class:`Scrubber` first: the credential
values passed to the container are replaced by ``***`` even if the agent prints
them. :func:`scrub_folder` does the same to files the agent left on the host
(Claude's transcripts in the task's agent-state folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from gittask.files import write_atomic

AGENT_LOG = "claude_output.log"
EXECUTION_LOG = "execution.log"
RUN_INFO = "run.json"
MASK = "***"
_RUN_DIR = re.compile(r"^run-(\d+)$")
#: A line of agent output is written once complete, or in pieces past this size.
LONG_LINE = 1 << 16


class Scrubber:
    """Replaces secret values (at least 6 characters long) in text and bytes.

    Each value is also looked for as it appears inside a JSON string (escaped),
    so a masked JSON line stays valid JSON.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            if secret and len(secret.strip()) >= 6:
                values.add(secret)
                values.add(json.dumps(secret)[1:-1])
                values.add(json.dumps(secret, ensure_ascii=False)[1:-1])
        self._text = sorted(values, key=len, reverse=True)
        self._bytes = [s.encode() for s in self._text]
        self.multiline = any(b"\n" in b for b in self._bytes)

    def __bool__(self) -> bool:
        return bool(self._bytes)

    @property
    def longest(self) -> int:
        return max((len(b) for b in self._bytes), default=0)

    def text(self, value: str) -> str:
        for secret in self._text:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def bytes(self, value: bytes) -> bytes:
        for secret in self._bytes:
            if secret in value:
                value = value.replace(secret, MASK.encode())
        return value

    def data(self, value: Any) -> Any:
        """Scrub every string inside a JSON-like value."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value


def run_folder(logs_root: Path, run: int) -> Path:
    return logs_root / f"run-{run:03d}"


def runs(logs_root: Path) -> list[tuple[int, Path]]:
    """(run number, folder) of every recorded run, oldest first."""
    found = []
    try:
        entries = list(logs_root.iterdir())
    except OSError:
        return []
    for entry in entries:
        match = _RUN_DIR.match(entry.name)
        if match and entry.is_dir():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def read_run_info(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / RUN_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


class RunLogs:
    """The two log files of one run, written as the run goes."""

    def __init__(self, logs_root: Path, run: int, scrubber: Scrubber) -> None:
        self.root = logs_root
        self.folder = run_folder(logs_root, run)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.scrub = scrubber
        self._agent: IO[bytes] = open(self.folder / AGENT_LOG, "ab")  # noqa: SIM115
        self._exec: IO[str] = open(  # noqa: SIM115
            self.folder / EXECUTION_LOG, "a", encoding="utf-8", buffering=1
        )
        self._pending = b""
        self._exec_lock = threading.Lock()  # the egress proxy's threads log too
        self.info: dict[str, Any] = {"run": run}
        self._link_latest()

    def _link_latest(self) -> None:
        for name in (AGENT_LOG, EXECUTION_LOG):
            link = self.root / name
            tmp = self.root / f".{name}.{os.getpid()}"
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
                os.symlink(f"{self.folder.name}/{name}", tmp)
                os.replace(tmp, link)

    def agent_output(self, chunk: bytes) -> None:
        """Raw agent output, scrubbed; written by whole lines (a very long line in
        pieces) so that no secret is ever split between what is written and what
        is held back."""
        ready = self._scrubbed(chunk)
        if ready:
            self._agent.write(ready)
            self._agent.flush()

    def _scrubbed(self, chunk: bytes) -> bytes:
        """What can be written now of ``pending + chunk``, scrubbed; the rest is kept.

        The whole buffer is scrubbed first; a secret that may go on in the next
        chunk starts within its last ``longest - 1`` bytes (or, for secrets without
        a newline, after its last newline), so that much is held back, already
        scrubbed, and scrubbed again with what follows.
        """
        data = self._pending + chunk
        if b"\n" not in chunk and len(data) < LONG_LINE:
            self._pending = data
            return b""
        clean = self.scrub.bytes(data)
        hold = max(0, self.scrub.longest - 1)
        safe = len(clean) - hold  # no secret can straddle a cut at or before this
        cut = clean.rfind(b"\n") + 1
        if self.scrub.multiline:  # a newline is no boundary for a secret holding one
            cut = min(cut, max(0, safe))
        if len(clean) - cut >= LONG_LINE:  # a very long unfinished line: write all of it
            cut = max(cut, safe)  # but the bytes a secret going on could start in
        self._pending = clean[cut:]
        return clean[:cut]

    def event(self, message: str) -> None:
        """One timestamped line in execution.log."""
        text = self.scrub.text(" ".join(message.split()) if "\n" in message else message)
        with self._exec_lock, contextlib.suppress(OSError, ValueError):
            self._exec.write(f"{_now()} {text}\n")

    def save_info(self, **fields: Any) -> None:
        self.info.update(self.scrub.data(fields))
        text = json.dumps(self.info, indent=1, default=str) + "\n"
        write_atomic(self.folder / RUN_INFO, text, mode=0o644)

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self._pending:
                self._agent.write(self.scrub.bytes(self._pending))
                self._pending = b""
            self._agent.close()
        with contextlib.suppress(OSError, ValueError):
            self._exec.close()


def scrub_folder(root: Path, scrubber: Scrubber) -> list[Path]:
    """Mask the secrets in every regular file below ``root``; the files changed.

    Symlinks are neither followed nor changed; a file is rewritten through a
    temporary file in its folder (its mode kept), never in place.
    """
    changed: list[Path] = []
    if not scrubber:
        return changed
    for dirpath, _dirs, files in os.walk(root):  # does not descend into symlinks
        for name in files:
            path = Path(dirpath) / name
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue  # a symlink, or unreadable
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode):
                    continue
                data = handle.read()
            clean = scrubber.bytes(data)
            if clean == data:
                continue
            tmp = path.with_name(f".{name}.scrub-{os.getpid()}")
            try:
                with open(tmp, "xb") as out:
                    out.write(clean)
                os.chmod(tmp, stat.S_IMODE(info.st_mode))
                os.replace(tmp, path)
            except OSError:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                with contextlib.suppress(OSError):
                    os.unlink(path)  # better gone than holding a credential
            changed.append(path)
    return changed


def follow(
    path: Path, still_running: Any, poll: float = 0.2, idle: bool = False
) -> Iterable[bytes]:
    """Yield the bytes of ``path`` as they are written, until ``still_running()`` is
    false (then the rest is drained). Waits for the file to appear. ``idle``: also
    yield ``b""`` after each wait, so that the reader can tell time passing."""
    handle: IO[bytes] | None = None
    try:
        while True:
            if handle is None:
                try:
                    handle = open(path, "rb")  # noqa: SIM115
                except FileNotFoundError:
                    if not still_running():
                        return
                    time.sleep(poll)
                    if idle:
                        yield b""
                    continue
            chunk = handle.read(65536)
            if chunk:
                yield chunk
                continue
            if not still_running():
                rest = handle.read()
                if rest:
                    yield rest
                return
            time.sleep(poll)
            if idle:
                yield b""
    finally:
        if handle is not None:
            handle.close()
