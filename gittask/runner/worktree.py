"""The run's own git worktree: base branch, branch start point, create, harvest, remove.

Each run checks the task's branch out, *detached*, in a fresh folder under
``naming.worktrees_dir(repo)``; the user's own checkout is never touched, and
several tasks can run at once. The agent may use git inside the container:

* the repository's shared git dir is mounted read-only at its own path (so the
  worktree's ``.git`` file resolves), with a minimal ``config`` laid over the real
  one (no remote URLs, no hooks path, no credentials) and the tool's private
  folder hidden;
* the worktree's own admin folder (HEAD, index) is writable;
* new objects go to a per-run folder (``GIT_OBJECT_DIRECTORY``), the repository's
  objects are an alternate: the agent cannot alter what is already stored.

Nothing the agent wrote is trusted afterwards. Once the container is gone and
before any host git command in the worktree, the admin folder is reduced to what
git itself puts there (:func:`reclaim_admin`: a ``config.worktree``, which host
git would read with ``extensions.worktreeConfig``, or a symlink host git would
write through, is deleted); the host runs git with explicit
``GIT_DIR``/``GIT_COMMON_DIR``/``GIT_WORK_TREE`` and hooks off, re-detaches HEAD
after checking it descends from where the run started, copies only regular
object files, refuses new commits holding a credential value
(:func:`credential_leak`), and removes the folders itself rather than through git.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gittask.errors import GittaskError
from gittask.files import write_atomic
from gittask.runner import naming
from gittask.store.repo import GitRepo

_HEX = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
# git options for every command the tool runs in a run's worktree
_SAFE = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")
#: What git itself keeps in a worktree's admin folder, and all the host lets stay
#: there once the agent is gone: regular files and, in the folders, regular files
#: and real folders (``git worktree add`` writes HEAD, index, commondir, gitdir and
#: logs/HEAD; git at work adds ORIG_HEAD, refs/ and ``locked``).
ADMIN_FILES = frozenset({"HEAD", "index", "commondir", "gitdir", "ORIG_HEAD", "locked"})
ADMIN_FOLDERS = frozenset({"logs", "refs"})
#: Credential values shorter than this are not looked for in commits.
MIN_SECRET_LENGTH = 8


def _ref_exists(repo: GitRepo, ref: str) -> bool:
    return repo.git("rev-parse", "--verify", "--quiet", ref, check=False).returncode == 0


def _rev(repo: GitRepo, ref: str) -> str | None:
    proc = repo.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    value = proc.stdout.strip()
    return value if proc.returncode == 0 and value else None


def remote_exists(repo: GitRepo, remote: str) -> bool:
    return repo.config_get(f"remote.{remote}.url") is not None


# -- base branch -----------------------------------------------------------------------


def resolve_base(
    repo: GitRepo, explicit: str | None, configured: str | None, remote: str
) -> tuple[str, str]:
    """The base branch's name and how it was chosen, never a hard-coded name.

    ``--base``/the task's base, else the config's ``base_branch``, else the
    target of ``refs/remotes/<remote>/HEAD``, else the remote's default branch
    (``git ls-remote --symref``), else the current branch.
    """
    if explicit:
        return explicit, "the task's base"
    if configured:
        return configured, "config base_branch"
    head = repo.git("symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD", check=False)
    prefix = f"refs/remotes/{remote}/"
    if head.returncode == 0 and head.stdout.strip().startswith(prefix):
        return head.stdout.strip()[len(prefix) :], f"{remote}/HEAD"
    if remote_exists(repo, remote):
        proc = repo.git("ls-remote", "--symref", remote, "HEAD", check=False)
        for line in proc.stdout.splitlines():
            match = re.match(r"^ref:\s+refs/heads/(\S+)\s+HEAD$", line.strip())
            if match:
                return match.group(1), f"{remote}'s default branch"
    top = repo.main_workdir
    current = repo.git(
        "symbolic-ref", "--quiet", "--short", "HEAD", check=False, cwd=top or repo.common_dir
    )
    if current.returncode == 0 and current.stdout.strip():
        return current.stdout.strip(), "the current branch"
    raise GittaskError(
        "cannot tell which branch to start from: no --base, no base_branch in the config, "
        f"no {remote}/HEAD and no current branch",
        "pass --base BRANCH or run 'claude-container config set base_branch BRANCH'",
    )


def fetch_branch(repo: GitRepo, remote: str, branch: str) -> bool:
    """Bring ``<remote>/<branch>`` up to date; False when it is not there (or offline)."""
    if not remote_exists(repo, remote):
        return False
    proc = repo.git(
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        remote,
        f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}",
        check=False,
    )
    return proc.returncode == 0


def base_commit(repo: GitRepo, base: str, remote: str, how: str) -> tuple[str, str]:
    """(commit, ref) the base branch points to: origin's copy first, else the local one."""
    fetch_branch(repo, remote, base)
    for ref in (f"refs/remotes/{remote}/{base}", f"refs/heads/{base}"):
        commit = _rev(repo, ref)
        if commit:
            return commit, ref
    raise GittaskError(
        f"base branch '{base}' ({how}) does not exist here or on {remote}",
        "run 'git fetch', or name an existing branch with --base",
    )


# -- the branch ------------------------------------------------------------------------


@dataclass
class BranchPlan:
    """Where a run starts, and what to merge first."""

    branch: str
    start: str  # commit the worktree is created at
    before: str | None  # the local branch's tip before the run (None: no local branch yet)
    merge: str | None = None  # origin's copy to merge into ``start`` (diverged)
    note: str = ""


def plan_branch(
    repo: GitRepo,
    branch: str,
    remote: str,
    first_run: bool,
    base: str,
    base_tip: str,
) -> BranchPlan:
    """Decide the start point of the task's branch for this run.

    First run: the branch must be free, locally and on the remote; it starts at
    the base. Later runs: the local branch, brought up to date with the remote's
    copy (fast-forward, else a merge), or the remote's copy, or the base when
    no run has left any commit yet.
    """
    local_ref, remote_ref = f"refs/heads/{branch}", f"refs/remotes/{remote}/{branch}"
    if first_run:
        if _ref_exists(repo, local_ref):
            raise GittaskError(
                f"branch '{branch}' already exists in this repository",
                "another task or person uses it; record the task again with another --branch",
            )
        if _ref_exists(repo, remote_ref):
            raise GittaskError(
                f"branch '{branch}' already exists on {remote}",
                "record the task again with another --branch",
            )
        return BranchPlan(branch, base_tip, None, note=f"new branch from {base}")
    fetch_branch(repo, remote, branch)
    local, theirs = _rev(repo, local_ref), _rev(repo, remote_ref)
    if local and theirs:
        if local == theirs or is_ancestor(repo, theirs, local):
            return BranchPlan(branch, local, local, note="local branch")
        if is_ancestor(repo, local, theirs):
            return BranchPlan(branch, theirs, local, note=f"fast-forwarded to {remote}'s copy")
        return BranchPlan(branch, local, local, merge=theirs, note=f"merging {remote}'s copy")
    if local:
        return BranchPlan(branch, local, local, note="local branch")
    if theirs:
        return BranchPlan(branch, theirs, None, note=f"{remote}'s copy")
    return BranchPlan(branch, base_tip, None, note=f"no commits yet: new branch from {base}")


def is_ancestor(repo: GitRepo, older: str, newer: str) -> bool:
    proc = repo.git("merge-base", "--is-ancestor", older, newer, check=False)
    return proc.returncode == 0


def checked_out_at(repo: GitRepo, branch: str) -> Path | None:
    """The folder of a worktree (the user's or another) that has ``branch`` checked out."""
    proc = repo.git("worktree", "list", "--porcelain", check=False)
    path: Path | None = None
    for line in proc.stdout.splitlines():
        if line.startswith("worktree "):
            path = Path(line[len("worktree ") :])
        elif line == f"branch refs/heads/{branch}":
            return path
    return None


# -- the worktree ----------------------------------------------------------------------


@dataclass
class Worktree:
    repo: GitRepo
    path: Path  # the checkout, mounted at /workspace
    admin: Path  # <common>/worktrees/<name>: HEAD, index (writable by the agent)
    scratch: Path  # per-run folder: prompt, container git config, new objects
    start: str  # the commit the agent starts from (after any merge)
    # True once a container may have written the admin folder, until reclaim_admin
    exposed: bool = False

    @property
    def objects(self) -> Path:
        return self.scratch / "objects"

    @property
    def container_config(self) -> Path:
        return self.scratch / "gitconfig"

    def env(self) -> dict[str, str]:
        """Environment for host git in this worktree: nothing read from the worktree."""
        if self.exposed:
            raise GittaskError(
                "internal error: host git in the worktree before its admin folder was reclaimed"
            )
        return {
            "GIT_DIR": str(self.admin),
            "GIT_COMMON_DIR": str(self.repo.common_dir),
            "GIT_WORK_TREE": str(self.path),
        }

    def git(self, *args: str, check: bool = True) -> str:
        proc = self.repo.git(*_SAFE, *args, env=self.env(), cwd=self.path, check=check)
        return proc.stdout.strip()


def create_worktree(repo: GitRepo, task_id: str, run: int, start: str) -> Worktree:
    """Check ``start`` out, detached, in a new folder of the tool's."""
    root = naming.worktrees_dir(repo)
    root.mkdir(parents=True, exist_ok=True)
    name = f"{task_id[:12]}-r{run:03d}-{secrets.token_hex(3)}"
    path = root / name
    scratch = root / f"{name}.run"
    scratch.mkdir(mode=0o755)
    (scratch / "objects").mkdir()
    repo.git(*_SAFE, "worktree", "add", "--quiet", "--detach", str(path), start)
    try:
        admin = _admin_dir(path)
    except GittaskError:
        shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    # the agent runs with the user's uid: the folder must be theirs and writable
    os.chmod(path, 0o755)
    worktree = Worktree(repo, path, admin, scratch, start)
    _write_container_config(repo, worktree.container_config)
    return worktree


def _admin_dir(path: Path) -> Path:
    try:
        text = (path / ".git").read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise GittaskError(f"git worktree add left no .git file in {path}: {exc}") from None
    if not text.startswith("gitdir:"):
        raise GittaskError(f"unexpected .git file in {path}")
    admin = Path(text[len("gitdir:") :].strip())
    return admin if admin.is_absolute() else (path / admin).resolve()


def _write_container_config(repo: GitRepo, target: Path) -> None:
    """A minimal git config for the container: the repository format, nothing else."""
    keep = repo.git(
        "config",
        "--file",
        str(repo.common_dir / "config"),
        "--get-regexp",
        r"^(core\.(repositoryformatversion|filemode|ignorecase|precomposeunicode|symlinks)"
        r"|extensions\..*)$",
        check=False,
    ).stdout
    sections: dict[str, list[str]] = {"core": ["\tbare = false"]}
    for line in keep.splitlines():
        key, _, value = line.partition(" ")
        section, _, name = key.partition(".")
        if section in ("core", "extensions") and re.fullmatch(r"[A-Za-z0-9]+", name):
            if section == "extensions" and name.lower() == "worktreeconfig":
                continue  # no per-worktree config: the agent could write it
            sections.setdefault(section, []).append(f"\t{name} = {value}")
    sections["gc"] = ["\tauto = 0"]
    sections["maintenance"] = ["\tauto = false"]
    text = "".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())
    target.write_text(text, encoding="utf-8")
    os.chmod(target, 0o644)


def merge_remote_copy(worktree: Worktree, theirs: str, branch: str, remote: str) -> str:
    """Merge the remote's diverged copy of the branch in the worktree; the new start."""
    proc = worktree.repo.git(
        *_SAFE,
        "merge",
        "--no-edit",
        "--quiet",
        "-m",
        f"Merge {remote}/{branch} into {branch}",
        theirs,
        env=worktree.env(),
        cwd=worktree.path,
        check=False,
    )
    if proc.returncode != 0:
        worktree.git("merge", "--abort", check=False)
        raise GittaskError(
            f"branch '{branch}' and {remote}/{branch} have diverged and do not merge cleanly",
            f"reconcile them by hand: git pull in a checkout of {branch}",
        )
    worktree.start = worktree.git("rev-parse", "HEAD")
    return worktree.start


# -- after the run ---------------------------------------------------------------------


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
            _make_writable(path)
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
        *_SAFE, "add", "--all", "--", ".", env=worktree.env(), cwd=worktree.path, check=False
    )
    if added.returncode != 0:
        # an index git cannot read (a split index whose shared part was removed, or
        # garbage): start again from HEAD's tree, then take the files as they are
        with contextlib.suppress(FileNotFoundError):
            (worktree.admin / "index").unlink()
        worktree.git("read-tree", "HEAD")
        worktree.git("add", "--all", "--", ".")
    staged = worktree.repo.git(
        *_SAFE, "diff", "--cached", "--quiet", "HEAD", env=worktree.env(), check=False
    )
    if staged.returncode == 0:
        return None
    worktree.repo.git(
        *_SAFE,
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


@dataclass
class Leak:
    """Where a credential value was found in a run's new commits (never the value)."""

    name: str  # the variable whose value it is
    commit: str
    where: str  # a file's path, "the message", or "a file name"

    def describe(self) -> str:
        return f"{self.where} (commit {self.commit[:12]}) holds the value of {self.name}"


def credential_leak(
    repo: GitRepo, commits: list[str], credentials: Mapping[str, str]
) -> Leak | None:
    """The first place the new ``commits`` add a credential value, or None.

    Looks at each commit object (message, author, committer), at the paths each
    one adds or changes and at the content of those files (every blob that
    ``git diff-tree -m --root`` shows as new; a merge's resolution included).
    Values shorter than :data:`MIN_SECRET_LENGTH` are not looked for.
    """
    values = sorted(
        (
            (name, value.encode())
            for name, value in credentials.items()
            if value and len(value.strip()) >= MIN_SECRET_LENGTH
        ),
        key=lambda item: -len(item[1]),
    )
    if not values or not commits:
        return None
    blobs: dict[str, tuple[str, str]] = {}  # blob -> (commit, path), first seen
    proc = _git_bytes(
        repo,
        ["diff-tree", "--stdin", "-r", "-z", "--raw", "--no-renames", "--root", "-m"],
        ("\n".join(commits) + "\n").encode(),
    )
    current = commits[0]
    tokens = proc.split(b"\0")
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token.startswith(b":"):
            path = tokens[i] if i < len(tokens) else b""
            i += 1
            fields = token[1:].split()
            if len(fields) < 5 or fields[1] == b"160000":  # a submodule's commit: not ours
                continue
            for name, value in values:
                if value in path:
                    return Leak(name, current, "a file name")
            new = fields[3].decode("ascii", "replace")
            if new.strip("0") and new not in blobs:
                blobs[new] = (current, path.decode("utf-8", "replace"))
        elif token.strip():
            current = token.split()[0].decode("ascii", "replace")
    order = [*commits, *blobs]
    found = _scan_objects(repo, order, [v for _, v in values])
    if found is None:
        return None
    sha, index = found
    name = values[index][0]
    if sha in blobs and sha not in commits:
        commit, file = blobs[sha]
        return Leak(name, commit, file)
    return Leak(name, sha, "the commit message")


def _git_bytes(repo: GitRepo, args: list[str], data: bytes) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=repo.workdir or repo.git_dir,
            input=data,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise GittaskError("the git executable was not found", "install git") from None
    if proc.returncode != 0:
        reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GittaskError(f"git {args[0]} failed: {reason[-1] if reason else proc.returncode}")
    return proc.stdout


def _scan_objects(repo: GitRepo, shas: list[str], values: list[bytes]) -> tuple[str, int] | None:
    """(object, index in ``values``) of the first object whose content holds a value."""
    keep = max(len(v) for v in values) - 1
    try:
        proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=repo.workdir or repo.git_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise GittaskError("the git executable was not found", "install git") from None
    assert proc.stdin is not None and proc.stdout is not None
    stdin, out = proc.stdin, proc.stdout

    def feed() -> None:
        with contextlib.suppress(OSError):
            stdin.write(("\n".join(shas) + "\n").encode())
        with contextlib.suppress(OSError):
            stdin.close()

    writer = threading.Thread(target=feed, name="cat-file-input", daemon=True)
    writer.start()
    try:
        for _ in shas:
            header = out.readline().split()
            if len(header) != 3:  # "<sha> missing" (or git died): nothing to read
                if not header:
                    break
                continue
            sha, size = header[0].decode("ascii", "replace"), int(header[2])
            tail = b""
            hit: int | None = None
            while size > 0:
                chunk = out.read(min(size, 1 << 20))
                if not chunk:
                    raise GittaskError("git cat-file ended early while checking the commits")
                size -= len(chunk)
                window = tail + chunk
                if hit is None:
                    hit = next((n for n, v in enumerate(values) if v in window), None)
                tail = window[-keep:] if keep else b""
            out.read(1)  # the newline after the content
            if hit is not None:
                return sha, hit
        return None
    finally:
        with contextlib.suppress(OSError):
            out.close()
        proc.kill()
        proc.wait()
        writer.join(timeout=5)


def move_branch(repo: GitRepo, branch: str, new: str, before: str | None) -> None:
    """Point ``refs/heads/<branch>`` at ``new``, only if it is still at ``before``."""
    zero = "0" * len(new)
    proc = repo.git(
        "update-ref",
        "-m",
        "claude-container: task run",
        f"refs/heads/{branch}",
        new,
        before or zero,
        check=False,
    )
    if proc.returncode != 0:
        raise GittaskError(
            f"branch '{branch}' moved while the task ran; the agent's work is commit {new[:12]}",
            f"merge it by hand: git merge {new[:12]}",
        )


def remove_worktree(worktree: Worktree) -> None:
    """Delete the checkout, its admin folder and the run's scratch folder."""
    remove_worktree_folders(worktree.repo, worktree.path)
    shutil.rmtree(worktree.admin, ignore_errors=True)


def remove_worktree_folders(repo: GitRepo, path: Path) -> None:
    """Remove a run's worktree by path (also for ``clean``: no git involved).

    The admin folder is ``<common>/worktrees/<folder name>``; it is taken from
    the name rather than from files the agent could have rewritten.
    """
    admin = repo.common_dir / "worktrees" / path.name
    for folder in (path, Path(f"{path}.run"), admin):
        shutil.rmtree(folder, ignore_errors=True)
        if os.path.lexists(folder):  # a read-only folder the agent left: writable, retry
            _make_writable(folder)
            shutil.rmtree(folder, ignore_errors=True)


def _make_writable(folder: Path) -> None:
    """Every real folder below ``folder`` (and itself) writable; symlinks (which
    ``os.walk`` lists among the folders) are skipped, never chmod-ed through."""
    if os.path.islink(folder):
        return
    with contextlib.suppress(OSError):
        os.chmod(folder, 0o755)
    for dirpath, dirnames, _ in os.walk(folder):
        for name in dirnames:
            target = os.path.join(dirpath, name)
            if not os.path.islink(target):
                with contextlib.suppress(OSError):
                    os.chmod(target, 0o755)


def run_folders(repo: GitRepo) -> list[Path]:
    """Every run worktree under the tool's folder (live or left by a crash)."""
    root = naming.worktrees_dir(repo)
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.endswith(".run"))
    except OSError:
        return []
