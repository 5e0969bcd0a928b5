"""``config show|get|set|unset``: typed keys; a bad key or value changes nothing."""

from __future__ import annotations

from gittask.config import ConfigFile, Shown
from gittask.store.repo import GitRepo
from gittask.workflow.project.paths import project_dir


def config_show(repo: GitRepo) -> list[Shown]:
    """Every setting with its value, default, source (file or default) and type."""
    return ConfigFile.open(project_dir(repo)).show()


def config_get(repo: GitRepo, key: str) -> object:
    return ConfigFile.open(project_dir(repo)).get(key)


def config_set(repo: GitRepo, key: str, value: str) -> object:
    """Parse, check and store one key; nothing is written on a bad key or value."""
    config = ConfigFile.open(project_dir(repo))
    parsed = config.set(key, value)
    config.save()
    return parsed


def config_unset(repo: GitRepo, key: str) -> object:
    """Put one key back to its default; the default."""
    config = ConfigFile.open(project_dir(repo))
    default = config.unset(key)
    config.save()
    return default


def format_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)
