"""Agent CLIs installed with the host's ``npm``, for images built without network.

One installer, parametrised by an :class:`NpmAgent`: the npm package, where the
platform's native binary lands inside ``node_modules``, and which files the
image needs.

- Claude Code (``@anthropic-ai/claude-code``, 2.1.x): a thin wrapper around one
  self-contained binary (``@anthropic-ai/claude-code-linux-x64/claude``), linked
  only against glibc; node is not needed to run it.  The image gets that file.
- Codex (``@openai/codex``): a node launcher plus, as an optional dependency,
  ``@openai/codex-linux-x64`` holding ``vendor/x86_64-unknown-linux-musl/``: the
  static ``bin/codex``, ``bin/codex-code-mode-host`` (needed by the default model's
  JavaScript tool mode), ``codex-path/rg`` and ``codex-resources/``.  The image gets
  that folder (without the voice resources, useless headless).

:func:`agent_binary` installs a pinned release once into a per-user cache
(``$XDG_CACHE_HOME/claude-container/npm/<folder>-<version>``), checks that it
prints the version asked for, and returns the binary's path; the image build
copies :func:`image_files` in (``claude_install``/``codex_install`` = host).

An install is made in a temporary folder and renamed into place, under a lock,
so concurrent builds and an interrupted one never leave a half-installed cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gittask.errors import GittaskError

CACHE_ENV = "GITTASK_CACHE_DIR"
_ELF = b"\x7fELF"
_RELEASE = re.compile(r"\b(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\b")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class NpmAgent:
    """An agent CLI published on npm with a native binary per platform."""

    #: What users call it (``Claude Code``, ``Codex``).
    label: str
    #: The npm package (``@anthropic-ai/claude-code``).
    package: str
    #: Cache folder prefix (``claude-code`` → ``npm/claude-code-<version>``).
    folder: str
    #: The setting that chooses the install path (for hints).
    install_setting: str
    #: ``single``: one self-contained binary; ``vendor``: a ``vendor/<target>`` folder.
    layout: str = "single"

    def platform_package(self) -> str:
        """The npm package holding the binary for this machine."""
        return f"{self.package}-linux-{_arch(self)}"

    def binary_candidates(self, prefix: Path) -> list[Path]:
        modules = prefix / "node_modules"
        if self.layout == "vendor":
            triple = {"x64": "x86_64", "arm64": "aarch64"}[_arch(self)] + "-unknown-linux-musl"
            vendor = modules / self.platform_package() / "vendor" / triple
            return [
                vendor / "bin" / "codex",
                modules / self.package / "vendor" / triple / "bin" / "codex",
            ]
        return [
            modules / self.platform_package() / "claude",
            modules / self.package / "bin" / "claude.exe",
        ]

    def image_files(self, binary: Path) -> dict[str, Path | None]:
        """The image's files under the agent folder: relative name → file (None: a folder)."""
        if self.layout == "single":
            return {binary.name: binary}
        root = binary.parent.parent  # vendor/<triple>
        files: dict[str, Path | None] = {"codex": None}
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if relative.parts[:2] == ("codex-resources", "voice"):
                continue
            files[f"codex/{relative.as_posix()}"] = None if path.is_dir() else path
        return files


CLAUDE_CODE = NpmAgent("Claude Code", "@anthropic-ai/claude-code", "claude-code", "claude_install")
CODEX = NpmAgent("Codex", "@openai/codex", "codex", "codex_install", layout="vendor")
#: Kept for callers of the single-agent version of this module.
PACKAGE = CLAUDE_CODE.package


def _arch(agent: NpmAgent) -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    if arch is None or not platform.system() == "Linux":
        raise GittaskError(
            f"no {agent.label} binary for {platform.system()} {machine} from the host's npm",
            f"set {agent.install_setting} to npm (the image installs it itself)",
        )
    return arch


def cache_root() -> Path:
    """``$GITTASK_CACHE_DIR``, else ``$XDG_CACHE_HOME/claude-container``, else ``~/.cache/...``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "claude-container"


def platform_package(agent: NpmAgent = CLAUDE_CODE) -> str:
    """The npm package holding *agent*'s binary for this machine (linux-x64, linux-arm64...)."""
    return agent.platform_package()


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == _ELF
    except OSError:
        return False


def find_binary(prefix: Path, agent: NpmAgent = CLAUDE_CODE) -> Path | None:
    """The native binary inside an ``npm install --prefix`` folder, if any."""
    for candidate in agent.binary_candidates(prefix):
        if candidate.is_file() and _is_elf(candidate):
            return candidate
    return None


def binary_version(binary: Path, timeout: float = 60) -> str:
    """The release ``<binary> --version`` prints (``2.1.332``, ``0.171.0``), or a one-line error."""
    try:
        proc = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "DISABLE_AUTOUPDATER": "1"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GittaskError(f"cannot run {binary}: {exc}") from None
    found = _RELEASE.search(proc.stdout)
    if proc.returncode != 0 or found is None:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise GittaskError(
            f"{binary} --version failed: {detail[-1] if detail else f'exit {proc.returncode}'}"
        )
    return found.group(1)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def claude_binary(version: str, progress: Progress | None = None) -> Path:
    """The host path of Claude Code ``version``'s binary, installed with npm if needed."""
    return agent_binary(CLAUDE_CODE, version, progress)


def agent_binary(
    agent: NpmAgent, version: str, progress: Progress | None = None, cache: Path | None = None
) -> Path:
    """The host path of *agent* ``version``'s binary, installed with npm if needed."""
    say = progress or (lambda line: None)
    folder = (cache or cache_root()) / "npm" / f"{agent.folder}-{version}"
    with _locked(folder.with_name(folder.name + ".lock")):
        binary = find_binary(folder, agent)
        if binary is not None and binary_version(binary) == version:
            say(f"{agent.label} {version}: cached in {folder}")
            return binary
        npm = shutil.which("npm")
        if npm is None:
            raise GittaskError(
                f"{agent.install_setting} = host needs npm on this machine, and there is none",
                f"install Node.js and npm, or set {agent.install_setting} to npm",
            )
        say(f"installing {agent.package}@{version} with the host's npm")
        work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            _npm_install(npm, work, agent, version, say)
            binary = find_binary(work, agent)
            if binary is None:
                raise GittaskError(
                    f"npm installed {agent.package}@{version} but no binary for this platform "
                    f"({agent.platform_package()}) came with it"
                )
            found = binary_version(binary)
            if found != version:
                raise GittaskError(f"npm installed {agent.label} {found}, not {version}")
            work.chmod(0o755)  # mkdtemp makes it 0700
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(work, folder)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    binary = find_binary(folder, agent)
    assert binary is not None  # just renamed into place
    return binary


def _npm_install(npm: str, prefix: Path, agent: NpmAgent, version: str, say: Progress) -> None:
    command = [
        npm,
        "install",
        "--prefix",
        str(prefix),
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        f"{agent.package}@{version}",
    ]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    except subprocess.TimeoutExpired:
        raise GittaskError(f"npm install {agent.package}@{version} took over 15 minutes") from None
    except OSError as exc:
        raise GittaskError(f"cannot run npm: {exc}") from None
    for line in proc.stderr.splitlines():
        if line.strip() and "EBADENGINE" not in line and "engine" not in line.lower():
            say(f"npm: {line.strip()}")
    if proc.returncode != 0:
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        raise GittaskError(
            f"npm install {agent.package}@{version} failed: "
            f"{lines[-1] if lines else proc.returncode}",
            f"check the version exists (npm view {agent.package} versions) "
            "and that the npm registry is reachable",
        )
