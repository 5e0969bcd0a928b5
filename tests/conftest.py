"""Shared fixtures: real git repositories in temporary folders, and the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.paths import ROOT

pytest_plugins = ["tests.fake_anthropic.fixture", "tests.fake_openai.fixture"]


def git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


def init_repo(path: Path, name: str = "Test User", commit: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "trunk")
    git(path, "config", "user.name", name)
    git(path, "config", "user.email", f"{name.split()[0].lower()}@example.com")
    if commit:
        (path / "README.md").write_text("# sample\n")
        git(path, "add", "README.md")
        git(path, "commit", "-q", "-m", "initial")
    return path


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No user config, editor or credentials leak in: ``home`` is the only home."""
    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for var in ("VISUAL", "EDITOR", "GIT_EDITOR", "GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(var, raising=False)
    (home / ".gitconfig").write_text(
        '[init]\n\tdefaultBranch = trunk\n[protocol "file"]\n\tallow = always\n'
    )


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user config, editor or credentials leak into a test."""
    isolate(monkeypatch, tmp_path / "home")


@contextmanager
def isolated_folder(factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A new folder for a module-scoped fixture, isolated as a test is while it is set
    up (the per-test isolation above comes after the module's fixtures)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = factory.mktemp(name)
        isolate(monkeypatch, root / "home")
        yield root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo")


CliResult = subprocess.CompletedProcess[str]


def run_cli(
    cwd: Path,
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> CliResult:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gittask", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input if input is not None else "",
        env=full_env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    return run_cli


# -- team sync: a bare origin and clones, every transfer through the git executable --


class Team:
    """A bare ``origin`` (branch ``trunk`` with one commit) and its clones."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.origin = root / "origin.git"
        git(root, "init", "-q", "--bare", "-b", "trunk", str(self.origin))
        seed = init_repo(root / "seed")
        (seed / "app.py").write_text("print('hello')\n")
        git(seed, "add", "app.py")
        git(seed, "commit", "-q", "-m", "app")
        git(seed, "remote", "add", "origin", str(self.origin))
        git(seed, "push", "-q", "origin", "trunk")

    def clone(self, name: str) -> Path:
        path = self.root / name
        git(self.root, "clone", "-q", str(self.origin), name)
        git(path, "config", "user.name", f"{name.title()} Dev")
        git(path, "config", "user.email", f"{name}@example.com")
        return path

    def remote_ref(self, ref: str) -> str:
        return git(self.origin, "rev-parse", "--verify", "-q", ref, check=False)


@pytest.fixture
def team(tmp_path: Path) -> Team:
    root = tmp_path / "team"
    root.mkdir()
    return Team(root)


@pytest.fixture(scope="session")
def claude_image() -> str:
    """The real agent image (Debian base, Claude Code from npm), built by ``build``."""
    from tests.real_image import REAL_IMAGE, build_real_image

    build_real_image()
    return REAL_IMAGE


@pytest.fixture(scope="session")
def codex_image() -> str:
    """The real Codex image (Debian base, Codex from the host's npm), built by ``build``."""
    from tests.real_image import REAL_CODEX_IMAGE, build_real_image

    build_real_image("codex")
    return REAL_CODEX_IMAGE
