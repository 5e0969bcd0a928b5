"""A Claude Code tool call in one line: ``→ Edit src/app.py``, ``→ Bash: pytest -q``,
``→ Grep: TODO in src`` (for the live view and for denied calls)."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from typing import Any

__all__ = ["first_line_of", "summarize_tool_use"]

#: Longest tool input shown (characters, before the ellipsis).
MAX_TOOL_INPUT_CHARS = 80

WORKDIR = "/workspace"


def summarize_tool_use(name: str, tool_input: Mapping[str, Any], workdir: str = WORKDIR) -> str:
    """``→ Edit src/app.py``, ``→ Bash: pytest -q``, ``→ Grep: TODO``, …"""
    path = _first_str(tool_input, "file_path", "notebook_path", "path")
    if name in {"Edit", "MultiEdit", "Write", "Read", "NotebookEdit", "NotebookRead", "LS"}:
        if path:
            return f"→ {name} {_short_path(path, workdir)}"
        return f"→ {name}"
    if name in {"Bash", "BashOutput"}:
        command = _first_str(tool_input, "command", "bash_id")
        return (
            f"→ {name}: {first_line_of(command, MAX_TOOL_INPUT_CHARS)}" if command else f"→ {name}"
        )
    if name in {"Glob", "Grep"}:
        pattern = _first_str(tool_input, "pattern")
        where = f" in {_short_path(path, workdir)}" if path else ""
        return (
            f"→ {name}: {first_line_of(pattern, MAX_TOOL_INPUT_CHARS)}{where}"
            if pattern
            else f"→ {name}"
        )
    if name == "TodoWrite":
        todos = tool_input.get("todos")
        count = len(todos) if isinstance(todos, list) else 0
        return f"→ TodoWrite ({count} item{'' if count == 1 else 's'})"
    detail = _first_str(tool_input, "description", "url", "query", "prompt", "skill", "command")
    if detail is None and tool_input:
        detail = json.dumps(dict(tool_input), ensure_ascii=False, sort_keys=True)
    return f"→ {name}: {first_line_of(detail, MAX_TOOL_INPUT_CHARS)}" if detail else f"→ {name}"


def _first_str(mapping: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _short_path(path: str, workdir: str = WORKDIR) -> str:
    workdir = workdir.rstrip("/") or "/"
    if path == workdir:
        return "."
    if path.startswith(workdir + "/"):
        return posixpath.relpath(path, workdir)
    return path


def first_line_of(text: str | None, limit: int) -> str:
    """First non-blank line of *text*, cut at *limit* characters with an ellipsis."""
    if not text:
        return ""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    more = len([line for line in text.splitlines() if line.strip()]) > 1
    if len(first) > limit:
        return first[: limit - 1].rstrip() + "…"
    return first + (" …" if more else "")
