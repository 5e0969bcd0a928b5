"""The project's settings: ``.claude-container/container_config.json``, typed.

- :mod:`~gittask.config.settings`: **the table of every setting** (type, default,
  check, meaning) as the frozen dataclass :class:`ProjectConfig`; read a setting
  as an attribute (``load_config(repo).timeout_seconds`` is an ``int``). Adding a
  setting is one line there; its docstring says how.
- :mod:`~gittask.config.kinds`: the kinds of value (whole number, choice, memory
  size, ...): how text and JSON are parsed and checked, and the words for the
  expected type in errors.
- :mod:`~gittask.config.file`: where the file is, reading and writing its JSON.
- :mod:`~gittask.config.edit`: ``config get/set/unset/show``: one key at a time,
  with where each value comes from.
"""

from __future__ import annotations

from gittask.config.edit import FROM_DEFAULT, FROM_FILE, ConfigFile, Shown, default_values
from gittask.config.file import (
    CONFIG_DIR,
    CONFIG_FILE,
    DOCKERFILE,
    config_path,
    configured_remote,
    project_root,
)
from gittask.config.kinds import NULL_WORDS
from gittask.config.settings import (
    SETTINGS,
    ProjectConfig,
    Setting,
    load_config,
    lookup,
    remote_of,
)
from gittask.store.layout import DEFAULT_REMOTE

__all__ = [
    "CONFIG_DIR",
    "CONFIG_FILE",
    "DEFAULT_REMOTE",
    "DOCKERFILE",
    "FROM_DEFAULT",
    "FROM_FILE",
    "NULL_WORDS",
    "SETTINGS",
    "ConfigFile",
    "ProjectConfig",
    "Setting",
    "Shown",
    "config_path",
    "configured_remote",
    "default_values",
    "load_config",
    "lookup",
    "project_root",
    "remote_of",
]
