"""The real agent CLIs the tests run, fetched once from the npm registry and cached.

``claude_binary()`` returns the path of the self-contained ``claude`` executable
of ``@anthropic-ai/claude-code`` at :data:`CLAUDE_CODE_TEST_VERSION` for this
machine.  The first call runs ``npm install --prefix <cache>/claude-code-<version>``
(a few seconds); later calls, in this run or the next, reuse it.

The cache is *not* under ``~`` (the tests point ``HOME`` at a temporary folder):
it is ``$GITTASK_TEST_CACHE`` or ``/var/cache/gittask-test``.  Concurrent pytest
processes serialise on a lock file and install into a temporary folder that is
renamed into place, so nobody ever sees half an install.
"""

from __future__ import annotations

import fcntl
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = [
    "CLAUDE_CODE_PACKAGE",
    "CLAUDE_CODE_TEST_VERSION",
    "AgentBinaryUnavailable",
    "cache_root",
    "claude_binary",
]

#: The Claude Code release every test with the real CLI runs (host and image).
CLAUDE_CODE_TEST_VERSION = "2.1.332"
CLAUDE_CODE_PACKAGE = "@anthropic-ai/claude-code"
DEFAULT_CACHE = Path("/var/cache/gittask-test")
NPM_TIMEOUT = 600


class AgentBinaryUnavailable(RuntimeError):
    """The agent CLI could not be installed (no npm, no registry, unknown platform)."""


def cache_root() -> Path:
    """Where fetched agent CLIs live between test runs (created on first use)."""
    configured = os.environ.get("GITTASK_TEST_CACHE", "").strip()
    root = Path(configured) if configured else DEFAULT_CACHE
    root.mkdir(parents=True, exist_ok=True)
    return root


def _platform_package() -> str:
    system = platform.system().lower()
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower()
    )
    if system != "linux" or machine is None:
        raise AgentBinaryUnavailable(
            f"no Claude Code test binary for {platform.system()} {platform.machine()}"
        )
    return f"{CLAUDE_CODE_PACKAGE}-{system}-{machine}"


def claude_binary(version: str = CLAUDE_CODE_TEST_VERSION) -> Path:
    """The path of the real ``claude`` executable at *version*, installing it if needed."""
    prefix = cache_root() / f"claude-code-{version}"
    relative = Path("node_modules") / _platform_package() / "claude"
    binary = prefix / relative
    if binary.is_file():
        return binary
    with open(cache_root() / f"claude-code-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest may be installing it right now
        if binary.is_file():
            return binary
        shutil.rmtree(prefix, ignore_errors=True)  # a damaged earlier install
        staging = Path(tempfile.mkdtemp(prefix=f".claude-code-{version}-", dir=cache_root()))
        staging.chmod(0o755)  # mkdtemp makes it 0700; a non-root container user reads it
        try:
            _npm_install(staging, f"{CLAUDE_CODE_PACKAGE}@{version}")
            if not (staging / relative).is_file():
                raise AgentBinaryUnavailable(
                    f"npm installed {CLAUDE_CODE_PACKAGE}@{version} but {relative} is missing"
                )
            staging.rename(prefix)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return binary


def _npm_install(prefix: Path, spec: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise AgentBinaryUnavailable(f"npm is not installed: cannot fetch {spec}")
    env = {
        **os.environ,
        "npm_config_cache": str(cache_root() / "npm-cache"),
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
    }
    proc = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-save", "--loglevel=error", spec],
        capture_output=True,
        text=True,
        env=env,
        timeout=NPM_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise AgentBinaryUnavailable(
            f"npm install {spec} failed (exit {proc.returncode}): {' / '.join(detail)}"
        )


if __name__ == "__main__":  # python -m tests.agent_binaries: fetch ahead of a test run
    print(claude_binary())
