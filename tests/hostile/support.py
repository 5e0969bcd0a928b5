"""Helpers for the hostile cases: plant a file on the data ref the way a teammate could."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gittask.store import layout

#: A hostile record must not stop a command from answering: a hang would run for
#: minutes and grow past gigabytes, so a subprocess timeout this long tells them apart.
ANSWER_WITHIN = 5.0


def git_out(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", "-c", "safe.directory=*", *args],  # also another uid's clone
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


def plant(repo: Path, path: str, data: bytes, message: str = "hand edit") -> str:
    """Commit ``data`` at ``path`` on top of the data ref with git's plumbing; the new tip."""
    index = {"GIT_INDEX_FILE": str(repo / ".git" / "hostile-index")}
    git_out(repo, "read-tree", layout.DATA_REF, env=index)
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=repo,
            input=data,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    git_out(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
    tree = git_out(repo, "write-tree", env=index)
    (repo / ".git" / "hostile-index").unlink()
    tip = git_out(repo, "commit-tree", tree, "-p", layout.DATA_REF, "-m", message)
    git_out(repo, "update-ref", layout.DATA_REF, tip)
    return tip


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """YAML whose aliases expand to width**levels strings (387 million for 9 x 9)."""
    lines = [f"lol0: &a0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"lol{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"
