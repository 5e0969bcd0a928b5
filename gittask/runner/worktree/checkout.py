"""The run's own worktree: created detached in the tool's folder, removed without git."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from gittask.errors import GittaskError
from gittask.runner import naming
from gittask.store.repo import GitRepo

#: git options for every command the tool runs in a run's worktree
SAFE_GIT = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")


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
        proc = self.repo.git(*SAFE_GIT, *args, env=self.env(), cwd=self.path, check=check)
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
    repo.git(*SAFE_GIT, "worktree", "add", "--quiet", "--detach", str(path), start)
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
        *SAFE_GIT,
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
            make_writable(folder)
            shutil.rmtree(folder, ignore_errors=True)


def make_writable(folder: Path) -> None:
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
