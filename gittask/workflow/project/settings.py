"""``config show|get|set|unset``: typed keys; a bad key or value changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gittask.config import (
    ProjectConfig,
)
from gittask.store.repo import GitRepo

if TYPE_CHECKING:
    pass
from gittask.workflow.project.paths import project_dir


def config_show(repo: GitRepo) -> dict[str, Any]:
    return dict(ProjectConfig.load(project_dir(repo)).values)


def config_get(repo: GitRepo, key: str) -> Any:
    return ProjectConfig.load(project_dir(repo))[key]


def config_set(repo: GitRepo, key: str, value: str) -> Any:
    """Parse, check and store one key; nothing is written on a bad key or value."""
    config = ProjectConfig.load(project_dir(repo))
    parsed = config.set(key, value)
    config.save()
    return parsed


def config_unset(repo: GitRepo, key: str) -> Any:
    """Put one key back to its default; the default."""
    config = ProjectConfig.load(project_dir(repo))
    default = config.unset(key)
    config.save()
    return default


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
