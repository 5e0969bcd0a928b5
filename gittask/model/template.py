"""A task template: a description and a branch pattern with ``{name}`` placeholders.

Stored on the data ref as ``templates/<name>.yaml`` (see :mod:`gittask.store.records`).
``{name}`` is a placeholder (letters, digits, ``_`` and ``-``: ``{issue-number}``);
``{{`` and ``}}`` are literal braces; any other brace is left as it is, so code
in a description (``{}``, JSON) needs no escaping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gittask.model.clock import format_ts, parse_ts, utcnow

#: A template's name: its file name on the data ref.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_-]*)\}")
#: ``--var`` names
VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def placeholders(text: str) -> list[str]:
    """The placeholder names in ``text``, in order of first use."""
    found: list[str] = []
    for match in _TOKEN.finditer(text):
        name = match.group(1)
        if name and name not in found:
            found.append(name)
    return found


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each ``{name}`` replaced; a name without a value raises KeyError."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return values[match.group(1)]

    return _TOKEN.sub(one, text)


@dataclass
class Template:
    name: str
    description: str
    branch: str | None = None  # a branch name pattern, placeholders allowed
    agent: str | None = None
    model: str | None = None
    base: str | None = None
    labels: list[str] = field(default_factory=list)
    author: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # keys of a newer version, kept

    @property
    def variables(self) -> list[str]:
        """Every placeholder of the description and the branch pattern."""
        names = placeholders(self.description)
        return names + [n for n in placeholders(self.branch or "") if n not in names]

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "branch": self.branch,
            "agent": self.agent,
            "model": self.model,
            "base": self.base,
            "labels": list(self.labels),
            "author": self.author,
            "created_at": format_ts(self.created_at),
            "updated_at": format_ts(self.updated_at),
            "deleted_at": format_ts(self.deleted_at),
            "deleted_by": self.deleted_by,
        }
        data.update({k: v for k, v in self.extra.items() if k not in data})
        data["description"] = self.description
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Template:
        """Raises ValueError on a record that is not a template."""
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("the template has no name")
        labels = data.get("labels") or []
        if not isinstance(labels, list):
            raise ValueError("labels is not a list")
        known = set(cls.__dataclass_fields__) - {"extra"}
        return cls(
            name=name,
            description=str(data.get("description") or ""),
            branch=_text(data.get("branch")),
            agent=_text(data.get("agent")),
            model=_text(data.get("model")),
            base=_text(data.get("base")),
            labels=[str(x) for x in labels],
            author=_text(data.get("author")),
            created_at=parse_ts(data.get("created_at")) or utcnow(),
            updated_at=parse_ts(data.get("updated_at")),
            deleted_at=parse_ts(data.get("deleted_at")),
            deleted_by=_text(data.get("deleted_by")),
            extra={k: v for k, v in data.items() if k not in known},
        )


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
