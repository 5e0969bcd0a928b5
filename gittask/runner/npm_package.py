"""Claude Code installed with the host's ``npm``, for images built without network.

Since 2.1.x ``@anthropic-ai/claude-code`` is a thin wrapper around one
self-contained binary (``@anthropic-ai/claude-code-linux-x64/claude``), linked
only against glibc: node is not needed to run it. :func:`claude_binary`
installs a pinned release once into a per-user cache
(``$XDG_CACHE_HOME/claude-container/npm/claude-code-<version>``), checks that
it prints the version asked for, and returns the binary's path; the image build
copies it in (``claude_install = host``).

An install is made in a temporary folder and renamed into place, under a lock,
so concurrent builds and an interrupted one never leave a half-installed cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from gittask.errors import GittaskError

PACKAGE = "@anthropic-ai/claude-code"
CACHE_ENV = "GITTASK_CACHE_DIR"
_ELF = b"\x7fELF"

Progress = Callable[[str], None]


def cache_root() -> Path:
    """``$GITTASK_CACHE_DIR``, else ``$XDG_CACHE_HOME/claude-container``, else ``~/.cache/...``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "claude-container"


def platform_package() -> str:
    """The npm package holding the binary for this machine (linux-x64, linux-arm64...)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    if arch is None or not platform.system() == "Linux":
        raise GittaskError(
            f"no Claude Code binary for {platform.system()} {machine} from the host's npm",
            "set claude_install to npm (the image installs it itself)",
        )
    return f"{PACKAGE}-linux-{arch}"


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == _ELF
    except OSError:
        return False


def find_binary(prefix: Path) -> Path | None:
    """The self-contained binary inside an ``npm install --prefix`` folder, if any."""
    modules = prefix / "node_modules"
    candidates = [modules / platform_package() / "claude", modules / PACKAGE / "bin" / "claude.exe"]
    for candidate in candidates:
        if candidate.is_file() and _is_elf(candidate):
            return candidate
    return None


def binary_version(binary: Path, timeout: float = 60) -> str:
    """What ``claude --version`` prints first (``2.1.332``), or a one-line error."""
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
    words = proc.stdout.split()
    if proc.returncode != 0 or not words:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise GittaskError(
            f"{binary} --version failed: {detail[-1] if detail else f'exit {proc.returncode}'}"
        )
    return words[0]


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
    say = progress or (lambda line: None)
    folder = cache_root() / "npm" / f"claude-code-{version}"
    with _locked(folder.with_name(folder.name + ".lock")):
        binary = find_binary(folder)
        if binary is not None and binary_version(binary) == version:
            say(f"Claude Code {version}: cached in {folder}")
            return binary
        npm = shutil.which("npm")
        if npm is None:
            raise GittaskError(
                "claude_install = host needs npm on this machine, and there is none",
                "install Node.js and npm, or set claude_install to npm",
            )
        say(f"installing {PACKAGE}@{version} with the host's npm")
        work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            _npm_install(npm, work, version, say)
            binary = find_binary(work)
            if binary is None:
                raise GittaskError(
                    f"npm installed {PACKAGE}@{version} but no binary for this platform "
                    f"({platform_package()}) came with it"
                )
            found = binary_version(binary)
            if found != version:
                raise GittaskError(f"npm installed Claude Code {found}, not {version}")
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(work, folder)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    binary = find_binary(folder)
    assert binary is not None  # just renamed into place
    return binary


def _npm_install(npm: str, prefix: Path, version: str, say: Progress) -> None:
    command = [
        npm,
        "install",
        "--prefix",
        str(prefix),
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        f"{PACKAGE}@{version}",
    ]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    except subprocess.TimeoutExpired:
        raise GittaskError(f"npm install {PACKAGE}@{version} took over 15 minutes") from None
    except OSError as exc:
        raise GittaskError(f"cannot run npm: {exc}") from None
    for line in proc.stderr.splitlines():
        if line.strip() and "EBADENGINE" not in line and "engine" not in line.lower():
            say(f"npm: {line.strip()}")
    if proc.returncode != 0:
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        raise GittaskError(
            f"npm install {PACKAGE}@{version} failed: {lines[-1] if lines else proc.returncode}",
            "check the version exists (npm view @anthropic-ai/claude-code versions) "
            "and that the npm registry is reachable",
        )
