"""Where the settings live on disk: ``.claude-container/container_config.json``.

One JSON object, committed with the project so that a team shares it. This
module reads and writes the object as it is; what its keys mean and hold is
:mod:`gittask.config.settings`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gittask.errors import UsageError
from gittask.store.layout import DEFAULT_REMOTE

if TYPE_CHECKING:
    from gittask.store.repo import GitRepo

CONFIG_DIR = ".claude-container"
CONFIG_FILE = "container_config.json"
DOCKERFILE = "Dockerfile.claude"


def config_path(root: Path) -> Path:
    return root / CONFIG_DIR / CONFIG_FILE


def project_root(repo: GitRepo) -> Path:
    """Where the project's ``.claude-container`` folder lives: the main checkout's
    root, also from a linked worktree (a bare repository: its git folder)."""
    return repo.main_workdir or repo.workdir or repo.common_dir


def read_stored(path: Path) -> dict[str, object]:
    """The file's object ({} when there is no file); a broken file is one error line."""
    if not path.is_file():
        return {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot read {path}: {exc}",
            "fix the JSON or run 'claude-container init --force'",
        ) from None
    if not isinstance(stored, dict):
        raise UsageError(f"{path} does not hold a JSON object")
    return stored


def write_stored(path: Path, values: Mapping[str, object]) -> None:
    from gittask.files import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(values, indent=2) + "\n")


def configured_remote(root: Path) -> str:
    """The ``remote`` key read quickly and leniently (for the read path): ``origin``
    unless the project's config names another; a broken file is left to the
    commands that validate it."""
    try:
        stored = json.loads(config_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return DEFAULT_REMOTE
    value = stored.get("remote") if isinstance(stored, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else DEFAULT_REMOTE
