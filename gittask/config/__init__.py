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

from typing import TYPE_CHECKING, Any

from gittask.config.file import (
    CONFIG_DIR,
    CONFIG_FILE,
    DOCKERFILE,
    config_path,
    configured_remote,
    project_root,
)

if TYPE_CHECKING:
    from gittask.config.edit import (
        FROM_DEFAULT,
        FROM_FILE,
        ConfigFile,
        Shown,
        default_values,
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

#: imported when first asked for: the read path (``task list``) needs only the file's place
_LAZY = {
    **dict.fromkeys(
        ("FROM_DEFAULT", "FROM_FILE", "ConfigFile", "Shown", "default_values"),
        "gittask.config.edit",
    ),
    "NULL_WORDS": "gittask.config.kinds",
    **dict.fromkeys(
        ("SETTINGS", "ProjectConfig", "Setting", "load_config", "lookup", "remote_of"),
        "gittask.config.settings",
    ),
    "DEFAULT_REMOTE": "gittask.store.layout",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
