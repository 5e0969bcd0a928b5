"""Credentials reach the agent as files, never through the container's configuration.

A variable given to ``docker create`` is part of the container's configuration:
``docker inspect`` shows it to anyone who may talk to the engine, and the engine
writes it to ``config.v2.json`` on its disk. So the credentials travel apart:

- :class:`CredentialFiles` writes one file per variable (``0600``, in a ``0700``
  folder of the user's own) on a tmpfs (``/dev/shm``, else ``$XDG_RUNTIME_DIR``):
  in memory, never on a disk. It is mounted read-only at
  :data:`IN_CONTAINER` and removed once the container is gone (the run's
  cleanup, also on Ctrl-C or an error); a folder a killed run left is removed
  by ``clean`` (:func:`leftovers`);
- :func:`wrap` puts a few lines of ``sh`` before the agent's command: they export
  each file's content as the variable it is named after, then ``exec`` the
  agent, which reads its credentials as it always does (``ANTHROPIC_API_KEY``,
  ``CLAUDE_CODE_OAUTH_TOKEN``, ``CODEX_API_KEY``, ...). The values exist in the
  agent's processes only.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from gittask.runner.live import pid_alive

#: Where the container sees the folder of credential files (read-only).
IN_CONTAINER = "/run/gittask/credentials"
#: ``sh -c`` script: each file of the folder becomes a variable, then the command runs.
#: ``$(cat f; echo x)`` and ``${v%x}`` keep a value's trailing newlines.
#: No file at all means the folder did not reach the container (an engine on another
#: machine, or in another mount namespace): said in one line, exit 125.
LOAD_SCRIPT = (
    f'n=0; for f in {IN_CONTAINER}/*; do [ -f "$f" ] || continue; '
    'v=$(cat "$f"; echo x); export "${f##*/}=${v%x}"; n=$((n+1)); '
    'rm -f "$f" 2>/dev/null; done; '
    '[ "$n" -gt 0 ] || { echo "claude-container: the credential files did not reach '
    f"the container ({IN_CONTAINER} is empty): does the engine run on this machine? "
    'GITTASK_CREDENTIALS_DIR names a folder it can see" >&2; exit 125; }; '
    'exec "$@"'
)
_SCRIPT_NAME = "gittask-credentials"
_PREFIX = "gittask-credentials-"
_FOLDER = re.compile(rf"^{_PREFIX}(\d+)-[0-9a-f]+$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def wrap(command: Sequence[str]) -> tuple[str, ...]:
    """``command``, run once the credential files are exported."""
    return ("sh", "-c", LOAD_SCRIPT, _SCRIPT_NAME, *command)


def _tmpfs_mounts() -> set[str]:
    mounts: set[str] = set()
    with contextlib.suppress(OSError), open("/proc/self/mounts", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 3 and fields[2] in ("tmpfs", "ramfs"):
                mounts.add(fields[1].replace("\\040", " "))
    return mounts


def folder_parent() -> tuple[Path, bool]:
    """Where the credential folders go, and whether that is a tmpfs (memory).

    ``GITTASK_CREDENTIALS_DIR`` first, then ``/dev/shm`` and ``$XDG_RUNTIME_DIR``
    when they are tmpfs mounts; else the temporary folder (a disk: said in the log).
    """
    tmpfs = _tmpfs_mounts()
    chosen = os.environ.get("GITTASK_CREDENTIALS_DIR")
    candidates = [chosen] if chosen else ["/dev/shm", os.environ.get("XDG_RUNTIME_DIR") or ""]
    for candidate in candidates:
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return Path(candidate), candidate.rstrip("/") in tmpfs
    return Path(tempfile.gettempdir()), tempfile.gettempdir() in tmpfs


class CredentialFiles:
    """One run's folder of credential files, until :meth:`remove`."""

    def __init__(self, path: Path, names: tuple[str, ...], in_memory: bool) -> None:
        self.path = path
        self.names = names
        self.in_memory = in_memory

    @classmethod
    def write(cls, credentials: Mapping[str, str]) -> CredentialFiles:
        """A new folder holding ``credentials`` (name -> value), readable by this user only."""
        parent, in_memory = folder_parent()
        final = parent / f"{_PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
        os.mkdir(final, 0o700)  # a name taken already is an error, never shared
        files = cls(final, tuple(sorted(credentials)), in_memory)
        try:
            os.chmod(final, 0o700)
            for name, value in credentials.items():
                if not _NAME.match(name):
                    raise ValueError(f"not a variable name: {name!r}")
                fd = os.open(final / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(value)
        except BaseException:
            files.remove()
            raise
        return files

    def remove(self) -> None:
        """Remove the folder (again: nothing happens)."""
        remove_folder(self.path)

    def describe(self) -> str:
        where = "a tmpfs" if self.in_memory else "disk: no tmpfs was found"
        return f"credentials {', '.join(self.names)} as read-only files ({where}) at {IN_CONTAINER}"


def remove_folder(path: Path) -> None:
    """Remove a credential folder (one :func:`leftovers` found)."""
    shutil.rmtree(path, ignore_errors=True)


def leftovers(pid: int | None = None) -> list[Path]:
    """Credential folders of this user whose run's process is gone (killed, crashed);
    with ``pid``: only that process's."""
    found: list[Path] = []
    parents = {folder_parent()[0], Path("/dev/shm"), Path(tempfile.gettempdir())}
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        parents.add(Path(runtime))
    for parent in parents:
        with contextlib.suppress(OSError):
            for entry in parent.iterdir():
                match = _FOLDER.match(entry.name)
                if not match or pid_alive(int(match.group(1))):
                    continue
                if pid is not None and int(match.group(1)) != pid:
                    continue
                with contextlib.suppress(OSError):
                    info = entry.lstat()
                    if entry.is_dir() and not entry.is_symlink() and info.st_uid == os.getuid():
                        found.append(entry)
    return sorted(found)
