"""After the run: take what the agent left, trusting nothing it wrote.

Once the container is gone and before any host git command in the worktree,
:func:`reclaim_admin` reduces the worktree's git folder to what git itself puts
there; :func:`import_objects` copies only regular object files;
:func:`agent_head` re-detaches HEAD after checking it descends from the start;
:func:`commit_changes` commits what was left uncommitted, with hooks off.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
from pathlib import Path

from gittask.errors import GittaskError
from gittask.files import write_atomic
from gittask.runner.worktree.branches import is_ancestor
from gittask.runner.worktree.checkout import SAFE_GIT, Worktree, make_writable
from gittask.store.repo import GitRepo

_HEX = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
#: What git itself keeps in a worktree's admin folder, and all the host lets stay
#: there once the agent is gone: regular files and, in the folders, regular files
#: and real folders (``git worktree add`` writes HEAD, index, commondir, gitdir and
#: logs/HEAD; git at work adds ORIG_HEAD, refs/ and ``locked``).
ADMIN_FILES = frozenset({"HEAD", "index", "commondir", "gitdir", "ORIG_HEAD", "locked"})
ADMIN_FOLDERS = frozenset({"logs", "refs"})


def reclaim_admin(worktree: Worktree) -> list[str]:
    """Reduce the admin folder to what git puts there; the names of what was removed.

    Call it once the container is gone and before any host git command in the
    worktree. Anything not in :data:`ADMIN_FILES`/:data:`ADMIN_FOLDERS` goes
    (``config.worktree``, ``info/``, ``sharedindex.*``, lock files, ...), and so
    does any symlink, fifo or hard-linked file, at any depth; symlinks are never
    followed. Raises GittaskError when something cannot be removed: then no host
    git may run there.
    """
    admin = worktree.admin
    try:
        info = os.lstat(admin)
    except OSError as exc:
        raise GittaskError(f"the worktree's git folder is gone: {exc}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise GittaskError(f"the worktree's git folder {admin} is not a folder")
    with contextlib.suppress(OSError):
        os.chmod(admin, 0o755)
    removed: list[str] = []
    for entry in _scan(admin):
        name = entry.name
        if name in ADMIN_FILES and _plain_file(entry):
            continue
        if name in ADMIN_FOLDERS and entry.is_dir(follow_symlinks=False):
            removed += [f"{name}/{sub}" for sub in _prune_folder(Path(entry.path))]
            continue
        _remove(Path(entry.path))
        removed.append(name)
    left = [
        e.name
        for e in _scan(admin)
        if not (
            (e.name in ADMIN_FILES and _plain_file(e))
            or (e.name in ADMIN_FOLDERS and e.is_dir(follow_symlinks=False))
        )
    ]
    if left:
        raise GittaskError(
            f"cannot remove {', '.join(sorted(left))} the agent left in the worktree's git "
            "folder; nothing was taken from the run"
        )
    worktree.exposed = False
    return removed


def _scan(folder: Path) -> list[os.DirEntry[str]]:
    try:
        return list(os.scandir(folder))
    except OSError as exc:
        raise GittaskError(f"cannot read the worktree's git folder: {exc}") from None


def _plain_file(entry: os.DirEntry[str]) -> bool:
    """A regular file, not a symlink, with no other name (no hard link)."""
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_nlink == 1


def _prune_folder(folder: Path) -> list[str]:
    """Keep only real folders and plain files below ``folder``; what went."""
    removed: list[str] = []
    with contextlib.suppress(OSError):
        os.chmod(folder, 0o755)
    for entry in _scan(folder):
        if entry.is_dir(follow_symlinks=False):
            removed += [f"{entry.name}/{sub}" for sub in _prune_folder(Path(entry.path))]
        elif not _plain_file(entry):
            _remove(Path(entry.path))
            removed.append(entry.name)
    return removed


def _remove(path: Path) -> None:
    """Delete a file, symlink or folder tree, never following a symlink; raise
    GittaskError when it is still there."""
    try:
        info = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISDIR(info.st_mode):
        with contextlib.suppress(OSError):
            os.unlink(path)
    else:
        shutil.rmtree(path, ignore_errors=True)  # never follows symlinks
        if os.path.lexists(path):  # folders the agent made read-only: writable, again
            make_writable(path)
            shutil.rmtree(path, ignore_errors=True)
    if os.path.lexists(path):
        raise GittaskError(
            f"cannot remove {path.name} the agent left in the worktree's git folder; "
            "nothing was taken from the run"
        )


def import_objects(worktree: Worktree) -> int:
    """Copy the objects the agent wrote into the repository (regular files only)."""
    source, target = worktree.objects, worktree.repo.common_dir / "objects"
    copied = 0
    try:
        top = list(os.scandir(source))
    except OSError:
        return 0
    packs: list[os.DirEntry[str]] = []
    for entry in top:
        if entry.name == "pack" and entry.is_dir(follow_symlinks=False):
            packs = sorted(
                os.scandir(entry.path),
                key=lambda e: (not e.name.endswith(".pack"), e.name),  # packs before indexes
            )
            continue
        if not (re.fullmatch(r"[0-9a-f]{2}", entry.name) and entry.is_dir(follow_symlinks=False)):
            continue
        for obj in os.scandir(entry.path):
            if re.fullmatch(r"[0-9a-f]{38}([0-9a-f]{24})?", obj.name):
                copied += _copy_regular(Path(obj.path), target / entry.name / obj.name)
    for pack in packs:
        if re.fullmatch(r"pack-[0-9a-f]+\.(pack|idx|rev)", pack.name):
            copied += _copy_regular(Path(pack.path), target / "pack" / pack.name)
    return copied


def _copy_regular(source: Path, target: Path) -> int:
    if target.exists():
        return 0
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return 0  # a symlink or unreadable: not an object we take
    with os.fdopen(fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            return 0
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
        with open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    return 1


def agent_head(worktree: Worktree) -> str:
    """The commit the agent left HEAD at, re-detached there; must descend from the start."""
    if worktree.exposed:
        reclaim_admin(worktree)
    head_file = worktree.admin / "HEAD"
    try:
        text = head_file.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        text = ""
    commit: str | None = None
    if _HEX.match(text):
        proc = worktree.repo.git("cat-file", "-t", text, check=False)
        commit = text if proc.stdout.strip() == "commit" else None
    elif text.startswith("ref: refs/"):
        proc = worktree.repo.git(
            "rev-parse", "--verify", "--quiet", f"{text[5:].strip()}^{{commit}}", check=False
        )
        commit = proc.stdout.strip() or None
    if commit is None:
        _write_head(worktree, worktree.start)
        raise GittaskError(
            "the agent left the worktree's HEAD unreadable; its commits (if any) are lost, "
            "uncommitted files were not taken"
        )
    if commit != worktree.start and not is_ancestor(worktree.repo, worktree.start, commit):
        _write_head(worktree, worktree.start)
        raise GittaskError(
            f"the agent moved HEAD to {commit[:12]}, which does not descend from the run's "
            f"start {worktree.start[:12]}; nothing was taken"
        )
    _write_head(worktree, commit)
    return commit


def _write_head(worktree: Worktree, commit: str) -> None:
    write_atomic(worktree.admin / "HEAD", commit + "\n", mode=0o644)


def commit_changes(worktree: Worktree, message: str) -> str | None:
    """Commit whatever the agent left uncommitted; the new commit, or None."""
    added = worktree.repo.git(
        *SAFE_GIT, "add", "--all", "--", ".", env=worktree.env(), cwd=worktree.path, check=False
    )
    if added.returncode != 0:
        # an index git cannot read (a split index whose shared part was removed, or
        # garbage): start again from HEAD's tree, then take the files as they are
        with contextlib.suppress(FileNotFoundError):
            (worktree.admin / "index").unlink()
        worktree.git("read-tree", "HEAD")
        worktree.git("add", "--all", "--", ".")
    staged = worktree.repo.git(
        *SAFE_GIT, "diff", "--cached", "--quiet", "HEAD", env=worktree.env(), check=False
    )
    if staged.returncode == 0:
        return None
    worktree.repo.git(
        *SAFE_GIT,
        "commit",
        "--quiet",
        "--no-verify",
        "--no-gpg-sign",
        "-F",
        "-",
        input=message,
        env=worktree.env(),
        cwd=worktree.path,
    )
    return worktree.git("rev-parse", "HEAD")


def new_commits(repo: GitRepo, start: str, head: str) -> list[str]:
    """Commits in ``start..head``, oldest first."""
    if start == head:
        return []
    out = repo.git("rev-list", "--reverse", f"{start}..{head}").stdout
    return [line for line in out.split() if line]
