"""``config get/set/unset/show``: the settings one key at a time, checked, with where
each value comes from.

A bad key or value is one error line and changes nothing. :meth:`ConfigFile.save`
writes every setting (as ``init`` does), so the file always shows the whole table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gittask.config.file import config_path, read_stored, write_stored
from gittask.config.settings import SETTINGS, ProjectConfig, Setting, lookup
from gittask.errors import UsageError

#: Where a value comes from: the project's file, or the table's default (no file,
#: no key in it, or JSON null there).
FROM_FILE = "file"
FROM_DEFAULT = "default"


@dataclass(frozen=True)
class Shown:
    """One setting as ``config show`` prints it."""

    key: str
    value: object
    default: object
    source: str  # FROM_FILE or FROM_DEFAULT
    expected: str  # its type, in words
    meaning: str

    def to_json(self) -> dict[str, object]:
        return {
            "value": _plain(self.value),
            "source": self.source,
            "default": _plain(self.default),
            "type": self.expected,
        }


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def parse_text(one: Setting, value: str) -> object:
    """What ``config set KEY VALUE`` means: ``null``, ``none`` or nothing clear a
    setting whose default is no value; a setting with a real default refuses ``null``
    and nothing (and points at ``config unset``)."""
    if not one.kind.optional and value.strip().lower() in ("", "null"):  # "none": a network
        raise UsageError(
            f"{one.key} cannot be empty",
            f"'config unset {one.key}' goes back to the default, {json.dumps(_plain(one.default))}",
        )
    return one.parse(value)


class ConfigFile:
    """The project's file, read and checked, to change and save."""

    def __init__(self, path: Path, stored: dict[str, object]) -> None:
        self.path = path
        self._stored = stored
        self.settings = ProjectConfig.from_stored(stored, where=f"{path}: ")

    @classmethod
    def open(cls, root: Path) -> ConfigFile:
        path = config_path(root)
        return cls(path, read_stored(path))

    def get(self, key: str) -> object:
        return self.settings.get(key)

    def source(self, key: str) -> str:
        return FROM_FILE if self._stored.get(lookup(key).key) is not None else FROM_DEFAULT

    def show(self) -> list[Shown]:
        """Every setting, in the table's order."""
        return [
            Shown(key, self.get(key), one.default, self.source(key), one.kind.expected, one.meaning)
            for key, one in SETTINGS.items()
        ]

    def set(self, key: str, value: str) -> object:
        """Parse and check ``value`` (text); the parsed value. Nothing is saved yet."""
        one = lookup(key)
        parsed = parse_text(one, value)
        self._put(one, parsed)
        return parsed

    def unset(self, key: str) -> object:
        """Back to the default; returns it. Nothing is saved yet."""
        one = lookup(key)
        self._put(one, one.default)
        return one.default

    def _put(self, one: Setting, value: object) -> None:
        change: dict[str, Any] = {one.attribute: value}  # checked by one.parse
        self.settings = replace(self.settings, **change)
        self._stored[one.key] = value

    def save(self) -> None:
        """Write every setting (the file is the whole table, as ``init`` writes it)."""
        values = {key: _plain(self.get(key)) for key in SETTINGS}
        write_stored(self.path, values)
        self._stored = dict(values)


def default_values() -> dict[str, object]:
    """Every setting's default, as the file holds them (what ``init`` writes)."""
    return {key: _plain(one.default) for key, one in SETTINGS.items()}
