"""The workspace as git objects, for an engine whose host cannot see this machine's folders.

On a remote engine (``ssh://``, ``tcp://``; or ``config set workspace bundle``)
nothing is bind-mounted. Before the container starts, one archive is copied
into it (:meth:`gittask.runner.engine.Engine.copy_in_files`):

    /run/gittask/work.bundle   the run's start commit and its history (git bundle)
    /run/gittask/prompt.md     the prompt
    /workspace                 an empty folder owned by the run's user
    <agent state folder>       the agent's per-task state (Claude's sessions)

The container's command is :data:`SCRIPT` wrapped around the agent's: it
clones the bundle into ``/workspace`` (detached at the start, as a local run's
worktree is), runs the agent, then leaves in ``/tmp/gittask-out``:

    work.bundle   ``refs/gittask/head`` (where the agent left HEAD) and
                  ``refs/gittask/worktree`` (a commit of its working tree,
                  uncommitted files included), without what the start has
    state.tar     the agent's state folder

After the agent has exited, the host copies those out (the container no longer
runs), fetches the bundle into its repository with git's object checks, and the
harvest goes on as for a local run (:func:`gittask.runner.worktree.import_bundle`).
The host, not the container, pushes. Nothing written by the agent is trusted
more than in a local run: only the commits' objects come back, and the same
checks apply to them.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gittask.runner.agents.base import DEFAULT_PROMPT_FILE, WORKDIR

INBOX = "/run/gittask"
BUNDLE_IN = f"{INBOX}/work.bundle"
OUTBOX = "/tmp/gittask-out"
BUNDLE_OUT = f"{OUTBOX}/work.bundle"
STATE_OUT = f"{OUTBOX}/state.tar"

#: What the container runs around the agent's command ("$@"); POSIX sh, git and tar.
SCRIPT = r"""
set -u
in=/run/gittask out=/tmp/gittask-out
cd /workspace || exit 125
git init -q --template= . && git fetch -q --no-tags "$in/work.bundle" "+HEAD:refs/gittask/start" &&
  git checkout -q --detach refs/gittask/start && git update-ref -d refs/gittask/start ||
  { echo "gittask: cannot check the run's start out of the bundle" >&2; exit 125; }
"$@"
code=$?
mkdir -p "$out"
git update-ref refs/gittask/head HEAD 2>/dev/null &&
  git add -A . >/dev/null 2>&1 &&
  tree=$(git write-tree) &&
  snap=$(echo "the working tree" | git commit-tree "$tree" -p HEAD) &&
  git update-ref refs/gittask/worktree "$snap" &&
  git bundle create -q "$out/work.bundle" refs/gittask/head refs/gittask/worktree \
    "^$GITTASK_START" 2>"$out/bundle.err" ||
  echo "gittask: the agent's work could not be bundled" >&2
if [ -n "${GITTASK_STATE_DIR:-}" ] && [ -d "$GITTASK_STATE_DIR" ]; then
  tar -cf "$out/state.tar" -C "$GITTASK_STATE_DIR" . 2>/dev/null
fi
exit "$code"
"""


def wrap(command: Sequence[str]) -> tuple[str, ...]:
    """The container's command: :data:`SCRIPT` around the agent's."""
    return ("sh", "-c", SCRIPT, "gittask-workspace", *command)


@dataclass(frozen=True)
class FileIn:
    """One entry of the archive copied into a container (a folder when ``data`` is None)."""

    path: str  # absolute, in the container
    data: bytes | None = None
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


def archive(entries: Sequence[FileIn]) -> bytes:
    """A tar of ``entries`` to unpack at ``/``. Only the entries given: a folder that
    exists in the image keeps its owner (the engine makes missing parents)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry in entries:
            info = _info(entry.path.strip("/"), entry.data, entry.mode, entry.uid, entry.gid)
            tar.addfile(info, io.BytesIO(entry.data) if entry.data is not None else None)
    return buffer.getvalue()


def _info(name: str, data: bytes | None, mode: int, uid: int, gid: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode, info.uid, info.gid, info.mtime = mode, uid, gid, 0
    if data is None:
        info.type = tarfile.DIRTYPE
    else:
        info.size = len(data)
    return info


def inputs(
    bundle: bytes,
    prompt: bytes,
    uid: int,
    gid: int,
    state_dir: str | None,
    state: Path | None,
) -> list[FileIn]:
    """What a run copies in: the bundle, the prompt, ``/workspace``, the agent's state."""
    entries = [
        FileIn(INBOX, None, 0o755),
        FileIn(BUNDLE_IN, bundle, 0o444),
        FileIn(DEFAULT_PROMPT_FILE, prompt, 0o444),
        FileIn(WORKDIR, None, 0o755, uid, gid),
    ]
    if state_dir:
        entries.append(FileIn(state_dir, None, 0o700, uid, gid))
        if state is not None:
            entries += _folder(state, state_dir, uid, gid)
    return entries


def credential_inputs(folder: str, values: Mapping[str, str], uid: int, gid: int) -> list[FileIn]:
    """The credentials as files for an engine that cannot see this machine's tmpfs: in
    the container's own file system, read and removed by the agent's wrapper at start
    (:func:`gittask.runner.credentials.wrap`), never in the container's configuration."""
    entries = [FileIn(folder, None, 0o700, uid, gid)]
    entries += [
        FileIn(f"{folder}/{name}", value.encode(), 0o600, uid, gid)
        for name, value in sorted(values.items())
    ]
    return entries


def _folder(folder: Path, target: str, uid: int, gid: int) -> list[FileIn]:
    """A host folder's regular files and folders (no links), owned by the run's user."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = Path(dirpath).relative_to(folder)
        for name in dirnames:
            if not (Path(dirpath) / name).is_symlink():
                found.append(FileIn(f"{target}/{(rel / name).as_posix()}", None, 0o700, uid, gid))
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            found.append(FileIn(f"{target}/{(rel / name).as_posix()}", data, 0o600, uid, gid))
    return found


def unpack_state(data: bytes, folder: Path) -> int:
    """Unpack the agent's state the container left into ``folder``: regular files and
    folders only, nothing outside it (tarfile's ``data`` filter); how many files."""
    count = 0
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
            for member in members:
                tar.extract(member, folder, filter="data")
                count += member.isfile()
    except tarfile.TarError as exc:
        raise ValueError(f"the agent's state archive was refused: {exc}") from None
    return count
