"""``init`` and ``uninit``: the config, the Dockerfile, ``.gitignore`` and git's settings."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gittask.config import (
    CONFIG_DIR,
    CONFIG_FILE,
    DEFAULT_REMOTE,
    DOCKERFILE,
    ProjectConfig,
    default_values,
    remote_of,
)
from gittask.errors import GittaskError, UsageError
from gittask.files import write_atomic
from gittask.store.repo import GitRepo
from gittask.store.workcopy import WORKCOPY_DIR

if TYPE_CHECKING:
    pass
from gittask.workflow.project.paths import project_dir

#: The line ``init`` adds to ``.gitignore`` (the derived, browsable copy of the tasks).
GITIGNORE_LINE = f"{WORKCOPY_DIR.as_posix()}/"

#: uid/gid given to the image's user when the CLI runs as root (Claude Code refuses root).
FALLBACK_UID = 1000


@dataclass
class InitResult:
    written: list[str] = field(default_factory=list)  # created or replaced (--force)
    unchanged: list[str] = field(default_factory=list)  # already what init writes
    kept: list[str] = field(default_factory=list)  # edited by the user: left alone
    lines: list[str] = field(default_factory=list)  # what was done, for the user
    settings: list[str] = field(default_factory=list)  # git settings changed

    @property
    def changed(self) -> bool:
        return bool(self.written)


def image_user_ids() -> tuple[int, int, str | None]:
    """uid/gid for the image's user: the host user's; a note when they cannot be."""
    uid, gid = os.getuid(), os.getgid()
    if uid != 0:
        return uid, gid, None
    try:
        sudo_uid, sudo_gid = int(os.environ["SUDO_UID"]), int(os.environ["SUDO_GID"])
    except (KeyError, ValueError):
        sudo_uid = sudo_gid = 0
    if sudo_uid > 0:
        return sudo_uid, sudo_gid, f"running as root via sudo: the image's user gets uid {sudo_uid}"
    return (
        FALLBACK_UID,
        FALLBACK_UID,
        f"running as root: the image's user gets uid {FALLBACK_UID} "
        "(Claude Code refuses to run as root)",
    )


def default_config_text(root: Path) -> str:
    """What ``init`` writes as ``container_config.json``: every key at its default."""
    return json.dumps(default_values(), indent=2) + "\n"  # as ConfigFile.save writes it


def _write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text, mode=0o644)


def _place(path: Path, text: str, force: bool, result: InitResult, label: str) -> None:
    try:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
    except OSError:
        current = None
    if current == text:
        result.unchanged.append(label)
        return
    if current is not None and not force:
        result.kept.append(label)
        result.lines.append(f"kept {label} (edited; use --force to replace it)")
        return
    _write_file(path, text)
    result.written.append(label)
    result.lines.append(f"{'replaced' if current is not None else 'wrote'} {label}")


def ensure_gitignore(root: Path) -> bool:
    """Add the working copy's line to ``.gitignore``, keeping the user's lines; True if added."""
    path = root / ".gitignore"
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except OSError as exc:
        raise GittaskError(f"cannot read {path}: {exc.strerror or exc}") from None
    wanted = GITIGNORE_LINE.rstrip("/")
    for line in text.splitlines():
        if line.strip().lstrip("/").rstrip("/") == wanted:
            return False
    if text and not text.endswith("\n"):
        text += "\n"
    text += GITIGNORE_LINE + "\n"
    _write_file(path, text)
    return True


def _configure_remote(repo: GitRepo, remote: str) -> list[str]:
    """Configure git for the task refs; one line per setting changed, or a status line."""
    from gittask.store.sync import configure_remote

    done = configure_remote(repo, remote)
    if repo.config_get(f"remote.{remote}.url") is None:
        done.append(f"no remote '{remote}': task state stays local until you add one")
    elif done:
        done.append(
            f"plain git push/pull are unchanged; task state goes to '{remote}' with each "
            "command (config sync.auto) or `task sync`"
        )
    return done


def uninit_project(repo: GitRepo) -> list[str]:
    """Remove every git setting ``init`` (or the first task command) made.

    The project's files (``.claude-container/``, the ``.gitignore`` line) and the
    task data are left alone: they are the team's, and ``clean --task-data``
    removes the data.
    """
    from gittask.store.sync import unconfigure_remote

    done = unconfigure_remote(repo)
    if not done:
        done.append("no claude-container git settings to remove")
    done.append(
        f"kept {CONFIG_DIR}/ and the task data (clean --task-data --yes removes the data); "
        "the next command that writes a task configures git again"
    )
    return done


def init_project(repo: GitRepo, force: bool = False) -> InitResult:
    """Set the project up for claude-container (idempotent)."""
    from gittask.runner.dockerfile import default_dockerfile

    root = project_dir(repo)
    result = InitResult()
    folder = root / CONFIG_DIR
    _place(
        folder / CONFIG_FILE,
        default_config_text(root),
        force,
        result,
        f"{CONFIG_DIR}/{CONFIG_FILE}",
    )
    uid, gid, note = image_user_ids()
    try:
        agent = ProjectConfig.load(root).agent
    except UsageError:
        agent = "claude"  # a broken kept config: its agent setting cannot be read
    try:
        dockerfile = default_dockerfile(uid, gid, agent=agent)
    except ValueError as exc:
        raise GittaskError(str(exc)) from None
    _place(folder / DOCKERFILE, dockerfile, force, result, f"{CONFIG_DIR}/{DOCKERFILE}")
    if note and f"{CONFIG_DIR}/{DOCKERFILE}" in result.written:
        result.lines.append(note)
    if ensure_gitignore(root):
        result.written.append(".gitignore")
        result.lines.append(f"added {GITIGNORE_LINE} to .gitignore")
    try:
        remote = remote_of(ProjectConfig.load(root))
    except UsageError:
        remote = DEFAULT_REMOTE  # a broken kept config: its remote setting cannot be read
    settings = _configure_remote(repo, remote)
    result.settings = [line for line in settings if line.startswith(("set ", "added ", "removed "))]
    if result.settings:
        result.lines.append("changed in this clone's git config (.git/config; `uninit` undoes it):")
    result.lines += [f"  {line}" if line in result.settings else line for line in settings]
    if not result.written and not result.settings:
        result.lines.insert(0, "already initialised: nothing to change")
    uncommitted = _uncommitted(repo, root, [CONFIG_DIR, ".gitignore"])
    if uncommitted:
        result.lines.append(
            f"commit {' and '.join(uncommitted)} so that teammates share the image and the "
            f"settings: git add {' '.join(uncommitted)} && git commit -m 'claude-container'"
        )
    return result


def _uncommitted(repo: GitRepo, root: Path, paths: list[str]) -> list[str]:
    """Which of ``paths`` (below ``root``) hold changes git has not committed."""
    if repo.workdir is None:
        return []
    proc = repo.git(
        "status", "--porcelain", "--untracked-files=all", "--", *paths, check=False, cwd=root
    )
    if proc.returncode != 0:
        return []
    changed = [line[3:].strip().strip('"') for line in proc.stdout.splitlines() if line.strip()]
    return [
        f"{p}/" if p == CONFIG_DIR else p
        for p in paths
        if any(c == p or c.startswith(p + "/") for c in changed)
    ]
