"""The real agent image, built by the product itself, once per test session.

``claude-container build --base-from-debian`` in a throw-away project: a Debian
base made with debootstrap from the machine's apt mirror, the pinned Claude Code
installed by the host's npm, the build without network. The image is tagged
:data:`REAL_IMAGE`; a later session finds it up to date in under a second (the
build key label), so only the first run on a machine pays for the build.

The npm cache lives in ``$GITTASK_CACHE_DIR`` (default below): tests give every
command a temporary ``HOME``, so the user cache would be empty each time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.paths import ROOT

#: The Claude Code release the tests drive (the product's default pin).
CLAUDE_CODE_TEST_VERSION = "2.1.332"
REAL_IMAGE = f"gittask-test-claude:{CLAUDE_CODE_TEST_VERSION}"
CACHE_DIR = os.environ.get("GITTASK_CACHE_DIR") or "/var/tmp/gittask-test-cache"


#: Project settings for running the real Claude Code against the scripted API on
#: the host's loopback, reached the way a user's run reaches its API: network
#: ``allowlist`` (the default), the container has no network and the tool's proxy
#: lets through only the API (ANTHROPIC_BASE_URL, passed through).
CLAUDE_PROJECT_SETTINGS: dict[str, object] = {
    "network": "allowlist",
    "env": ["ANTHROPIC_BASE_URL"],
    "memory": "2g",
    "pids_limit": 512,
    "timeout_seconds": 180,
    "silence_timeout_seconds": 120,
    "max_retries": 1,
}


def cache_env() -> dict[str, str]:
    return {"GITTASK_CACHE_DIR": CACHE_DIR}


def _cli(cwd: Path, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gittask", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), **cache_env()},
    )


#: The Codex release the tests drive (the product's default pin).
CODEX_TEST_VERSION = "0.171.0"
REAL_CODEX_IMAGE = f"gittask-test-codex:{CODEX_TEST_VERSION}"


def build_real_image(agent: str = "claude") -> dict[str, object]:
    """Build (or find up to date) :data:`REAL_IMAGE` (agent ``codex``:
    :data:`REAL_CODEX_IMAGE`); the ``build --json`` report."""
    settings = (
        (
            ("config", "set", "agent", "codex"),
            ("config", "set", "image", REAL_CODEX_IMAGE),
            ("config", "set", "codex_version", CODEX_TEST_VERSION),
            ("init",),
        )
        if agent == "codex"
        else (
            ("config", "set", "image", REAL_IMAGE),
            ("config", "set", "claude_code_version", CLAUDE_CODE_TEST_VERSION),
        )
    )
    with tempfile.TemporaryDirectory(prefix="gittask-real-image-") as tmp:
        repo = Path(tmp) / "project"
        repo.mkdir()
        for args in (
            ("init", "-q", "-b", "main"),
            (
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@e",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "-",
            ),
        ):
            subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
        for step, args in enumerate((("init",), *settings)):
            if step and args == ("init",):  # again, after `config set agent codex`
                (repo / ".claude-container" / "Dockerfile.claude").unlink()  # init writes Codex's
            proc = _cli(repo, *args)
            if proc.returncode != 0:
                raise RuntimeError(f"claude-container {' '.join(args)}: {proc.stderr}")
        proc = _cli(repo, "build", "--base-from-debian", "--json")
        if proc.returncode != 0:
            raise RuntimeError(f"claude-container build failed:\n{proc.stderr[-3000:]}")
        report: dict[str, object] = json.loads(proc.stdout)
        report["stderr"] = proc.stderr
        return report


def build_all() -> None:
    """Both images, side by side once the shared Debian base exists (the builds
    mostly wait on the engine's storage driver)."""
    from concurrent.futures import ThreadPoolExecutor

    import docker

    from gittask.runner.debian_base import ensure_base

    client = docker.from_env()
    try:
        ensure_base(client, progress=print)
    finally:
        client.close()
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, built in zip(
            ("claude", "codex"), pool.map(build_real_image, ("claude", "codex")), strict=True
        ):
            print(f"{name}: {built['tag']} ({'up to date' if built['cached'] else 'built'})")


if __name__ == "__main__":  # python -m tests.real_image: build both images before the tests
    build_all()
