"""Finding the repository and talking to git.

pygit2 does the local object and ref work; the ``git`` executable is used where
its behaviour is the point (network transport with the user's credentials,
config the user might also edit by hand).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from gittask.errors import GittaskError, NotARepositoryError

# finding the git dir needs neither pygit2 nor subprocess: the read path imports only fastrefs
from gittask.store.fastrefs import ENVIRONMENT as ENVIRONMENT
from gittask.store.fastrefs import common_dir_of as common_dir_of
from gittask.store.fastrefs import find_git_dir as find_git_dir

if TYPE_CHECKING:
    import pygit2


@dataclass
class GitRepo:
    """One repository, opened from any folder inside it (or a linked worktree)."""

    git_dir: Path
    workdir: Path | None  # None for a bare repository

    @classmethod
    def discover(cls, start: str | os.PathLike[str] | None = None) -> GitRepo:
        import pygit2

        where = Path(start or os.getcwd()).resolve()
        if any(name in os.environ for name in ENVIRONMENT):
            return cls._from_environment(where)
        found = pygit2.discover_repository(str(where))
        if not found:
            raise NotARepositoryError(
                f"not a git repository (or any parent up to /): {where}",
                "run this inside a git checkout, or create one with 'git init'",
            )
        try:
            repo = pygit2.Repository(found)
        except pygit2.GitError as exc:
            text = " ".join(str(exc).split())
            if "not owned by current user" in text:
                top = Path(found).parent if Path(found).name == ".git" else Path(found)
                raise NotARepositoryError(
                    f"git refuses to use {top}: it is owned by another user",
                    f"if you trust it: git config --global --add safe.directory {top}",
                ) from None
            raise NotARepositoryError(
                f"cannot open the git repository at {found}: {text}"
            ) from None
        workdir = Path(repo.workdir) if repo.workdir else None
        self = cls(git_dir=Path(repo.path).resolve(), workdir=workdir)
        self.__dict__["pygit"] = repo
        return self

    @classmethod
    def _from_environment(cls, where: Path) -> GitRepo:
        """The repository ``GIT_DIR``/``GIT_WORK_TREE`` name, found as git finds it.

        git itself answers (``rev-parse``), so every rule it has applies: a
        relative path is relative to ``where``, a ``GIT_DIR`` that is not a
        repository is an error (never the current folder's repository), and
        without ``GIT_WORK_TREE`` the current folder is the top of the work
        tree. Both variables are then made absolute, so the git commands this
        tool runs from other folders see the same repository.
        """
        named = " ".join(f"{k}={os.environ[k]}" for k in ENVIRONMENT if k in os.environ)
        try:
            proc = subprocess.run(
                [
                    "git",
                    "rev-parse",
                    "--absolute-git-dir",
                    "--is-bare-repository",
                    "--show-toplevel",
                ],
                cwd=where,
                capture_output=True,
                text=True,
                check=False,
            )
        except FileNotFoundError:
            raise GittaskError("the git executable was not found", "install git") from None
        lines = proc.stdout.splitlines()
        if len(lines) < 2:
            reason = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
            raise NotARepositoryError(
                f"{named} does not name a git repository: {reason.removeprefix('fatal: ')}",
                "fix or unset the variable",
            )
        git_dir = Path(lines[0])
        workdir = Path(lines[2]) if lines[1] == "false" and len(lines) > 2 else None
        if workdir is not None and not workdir.is_dir():
            raise NotARepositoryError(
                f"{named}: the work tree {workdir} is not a folder", "fix or unset the variable"
            )
        import pygit2

        try:
            repo = pygit2.Repository(str(git_dir), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
        except pygit2.GitError as exc:
            text = " ".join(str(exc).split())
            raise NotARepositoryError(
                f"cannot open the git repository at {git_dir}: {text}"
            ) from None
        os.environ["GIT_DIR"] = str(git_dir)
        if workdir is not None:
            os.environ["GIT_WORK_TREE"] = str(workdir)
        self = cls(git_dir=git_dir, workdir=workdir)
        self.__dict__["pygit"] = repo
        return self

    @cached_property
    def pygit(self) -> pygit2.Repository:
        import pygit2

        return pygit2.Repository(str(self.git_dir))

    @cached_property
    def common_dir(self) -> Path:
        return common_dir_of(self.git_dir)

    @property
    def state_dir(self) -> Path:
        """The tool's private, never-committed folder (shared by all worktrees)."""
        return self.common_dir / "claude-tasks"

    @property
    def main_workdir(self) -> Path | None:
        """The main worktree's folder (where .claude-container lives)."""
        if self.common_dir != self.git_dir:
            return self.common_dir.parent
        return self.workdir

    def signature(self) -> pygit2.Signature:
        import pygit2

        try:
            return self.pygit.default_signature
        except (KeyError, pygit2.GitError):
            raise GittaskError(
                "git does not know who you are: user.name and user.email are not set",
                "run: git config --global user.name 'Your Name' && "
                "git config --global user.email you@example.com",
            ) from None

    def author_string(self) -> str:
        sig = self.signature()
        return f"{sig.name} <{sig.email}>"

    def git(
        self,
        *args: str,
        check: bool = True,
        input: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the git executable against this repository."""
        run_env = None
        if env:
            run_env = {**os.environ, **env}
        where = cwd or self.workdir or self.git_dir
        try:
            proc = subprocess.run(
                ["git", *args],
                cwd=where,
                capture_output=True,
                text=True,
                input=input,
                env=run_env,
                check=False,
            )
        except FileNotFoundError:
            raise GittaskError("the git executable was not found", "install git") from None
        if check and proc.returncode != 0:
            reason = (proc.stderr or proc.stdout).strip().splitlines()
            detail = reason[-1] if reason else f"exit code {proc.returncode}"
            raise GittaskError(f"git {args[0]} failed: {detail}")
        return proc

    def config_get(self, key: str) -> str | None:
        try:
            value = self.pygit.config[key]
        except KeyError:
            return None
        return str(value)
