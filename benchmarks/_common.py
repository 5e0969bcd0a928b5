"""Helpers shared by the benchmark scripts (not part of the package)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q")
    git(path, "config", "user.name", "Bench Mark")
    git(path, "config", "user.email", "bench@example.com")
    return path


def cli_command() -> list[str]:
    """The installed console script if present, else the module."""
    exe = Path(sys.executable).with_name("claude-container")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "gittask"]


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def command_env() -> dict[str, str]:
    """The environment for timed commands: as a user's, where Python caches bytecode.

    An installed package is byte-compiled by pip; an editable one only when Python
    may write ``__pycache__``. PYTHONDONTWRITEBYTECODE (set on some CI machines)
    would make every timed start-up recompile the package's sources.
    """
    env = os.environ.copy()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_quiet(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=command_env())


def print_table(title: str, rows: list[tuple[str, str, str, str]]) -> None:
    headers = ("measure", "result", "target", "ok")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(f"\n{title}")
    print(line.format(*headers))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))
