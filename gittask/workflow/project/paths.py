"""Where the project's files and image are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gittask.config import (
    CONFIG_DIR,
    ProjectConfig,
)
from gittask.errors import GittaskError
from gittask.runner import naming
from gittask.store.repo import GitRepo

if TYPE_CHECKING:
    pass


def project_dir(repo: GitRepo) -> Path:
    """The main worktree's folder, where ``.claude-container`` lives."""
    root = repo.main_workdir or repo.workdir
    if root is None:
        raise GittaskError(
            "this is a bare repository: claude-container needs a checkout",
            "run it inside a clone with a working tree",
        )
    return root


def config_dir(repo: GitRepo) -> Path:
    return project_dir(repo) / CONFIG_DIR


def image_tag(repo: GitRepo, config: ProjectConfig | None = None) -> str:
    """Config ``image`` if set, else the tag derived from the repository."""
    config = config or ProjectConfig.load(project_dir(repo))
    return config.image or naming.default_image_tag(repo)
