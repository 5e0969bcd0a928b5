"""Incremental decoding and rendering of Claude Code's ``--output-format stream-json``.

Claude Code (``claude -p --output-format stream-json --verbose``) prints one JSON
object per line: a ``system``/``init`` event, then ``assistant`` and ``user``
messages (text, tool uses, tool results) and finally one ``result`` event.  The
bytes arrive from ``docker logs`` in arbitrary chunks, so:

* :class:`LineDecoder` turns chunks of bytes into complete text lines, keeping a
  partial line *and* a partial UTF-8 sequence across chunks;
* :class:`StreamDecoder` does the same and parses each line: a JSON object comes
  back as a ``dict``, anything else (a warning, a stack trace, a JSON scalar) as
  the raw ``str`` line;
* :class:`ClaudeTranscript` accumulates what matters from the events (session id,
  model, final result, turns, duration, cost, tokens);
* :func:`render` turns one decoded item into a short human-readable line (or
  ``None`` when the event is not worth showing).

No dependency beyond the standard library; the output of :func:`render` is plain
text so the caller may style it as it likes.
"""

from __future__ import annotations

import codecs
import json
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ClaudeTranscript",
    "Item",
    "LineDecoder",
    "StreamDecoder",
    "format_result_line",
    "render",
    "summarize_tool_use",
]

#: One decoded line: a JSON object, or the raw text of a line that is not one.
Item = dict[str, Any] | str

#: Longest tool input shown by :func:`render` (characters, before the ellipsis).
MAX_TOOL_INPUT_CHARS = 80
#: Longest tool error shown by :func:`render`.
MAX_TOOL_ERROR_CHARS = 160
#: Longest error message in a result line.
MAX_RESULT_ERROR_CHARS = 300

_WORKDIR = "/workspace"


class LineDecoder:
    """Split a byte stream into text lines, whatever the chunk boundaries.

    Invalid UTF-8 is replaced (U+FFFD) rather than raising: the agent's output is
    untrusted and must never crash the caller.  ``\\r\\n`` line ends are accepted.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []  # pieces of the current, unfinished line

    def feed(self, chunk: bytes) -> list[str]:
        """Decode *chunk*; return the lines it completed (without their newline)."""
        return self._split(self._utf8.decode(chunk, final=False))

    def flush(self) -> list[str]:
        """End of stream: return the last line if it had no newline."""
        lines = self._split(self._utf8.decode(b"", final=True))
        if self._pending:
            rest = "".join(self._pending)
            self._pending = []
            if rest:
                lines.append(_strip_cr(rest))
        return lines

    def _split(self, text: str) -> list[str]:
        if not text:
            return []
        parts = text.split("\n")
        if len(parts) == 1:
            self._pending.append(text)
            return []
        first = "".join(self._pending) + parts[0]
        self._pending = [parts[-1]] if parts[-1] else []
        return [_strip_cr(first), *(_strip_cr(p) for p in parts[1:-1])]


def _strip_cr(line: str) -> str:
    return line[:-1] if line.endswith("\r") else line


def parse_line(line: str) -> Item | None:
    """Parse one line: a ``dict`` for a JSON object, the line for anything else.

    Blank lines give ``None``.
    """
    stripped = line.strip()
    if not stripped:
        return None
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except ValueError:
            return line
        if isinstance(value, dict):
            return value
    return line


class StreamDecoder:
    """Decode a chunked stream-json byte stream into events.

    ``feed(chunk)`` returns the items completed by *chunk*; ``flush()`` returns the
    last one if the stream did not end with a newline.  Blank lines are dropped.
    """

    def __init__(self) -> None:
        self._lines = LineDecoder()

    def feed(self, chunk: bytes) -> list[Item]:
        return _parse_all(self._lines.feed(chunk))

    def flush(self) -> list[Item]:
        return _parse_all(self._lines.flush())


def _parse_all(lines: Iterable[str]) -> list[Item]:
    items: list[Item] = []
    for line in lines:
        item = parse_line(line)
        if item is not None:
            items.append(item)
    return items


# --------------------------------------------------------------------------------------
# Accumulator


@dataclass
class ClaudeTranscript:
    """What one Claude Code run reported, accumulated from its events.

    Feed every decoded item to :meth:`consume`.  Fields stay ``None`` until an
    event provides them; the ``result`` event is authoritative for the final
    numbers.  ``session_id`` is the latest one seen: a resumed run may report a
    new id, and that is the one to resume next time.
    """

    session_id: str | None = None
    model: str | None = None
    claude_code_version: str | None = None
    saw_init: bool = False
    saw_result: bool = False
    subtype: str | None = None
    is_error: bool = False
    result: str | None = None
    errors: list[str] = field(default_factory=list)
    num_turns: int | None = None
    duration_ms: int | None = None
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    #: The text of the last assistant message (a fallback summary without result).
    last_assistant_text: str | None = None
    #: An API error flagged on an assistant message (e.g. ``authentication_failed``).
    api_error: str | None = None
    events: int = 0
    non_json_lines: int = 0
    tool_uses: int = 0

    def consume(self, item: Item) -> None:
        """Record what *item* (one decoded line) says about the run."""
        if isinstance(item, str):
            self.non_json_lines += 1
            return
        self.events += 1
        session_id = item.get("session_id")
        if isinstance(session_id, str) and session_id:
            self.session_id = session_id
        kind = item.get("type")
        if kind == "system" and item.get("subtype") == "init":
            self.saw_init = True
            model = item.get("model")
            if isinstance(model, str) and model:
                self.model = model
            version = item.get("claude_code_version")
            if isinstance(version, str) and version:
                self.claude_code_version = version
        elif kind == "assistant":
            self._consume_assistant(item)
        elif kind == "result":
            self._consume_result(item)

    def consume_all(self, items: Iterable[Item]) -> None:
        for item in items:
            self.consume(item)

    def _consume_assistant(self, event: Mapping[str, Any]) -> None:
        error = event.get("error")
        if isinstance(error, str) and error:
            self.api_error = error
        message = event.get("message")
        if not isinstance(message, dict):
            return
        if self.model is None:
            model = message.get("model")
            if isinstance(model, str) and model and not model.startswith("<"):
                self.model = model
        texts: list[str] = []
        for block in _content_blocks(message):
            if block.get("type") == "text":
                text = block.get("text")
                if isinstance(text, str) and text.strip():
                    texts.append(text.strip())
            elif block.get("type") == "tool_use":
                self.tool_uses += 1
        if texts:
            self.last_assistant_text = "\n".join(texts)

    def _consume_result(self, event: Mapping[str, Any]) -> None:
        self.saw_result = True
        subtype = event.get("subtype")
        self.subtype = subtype if isinstance(subtype, str) else None
        self.is_error = event.get("is_error") is True
        result = event.get("result")
        self.result = result if isinstance(result, str) else None
        errors = event.get("errors")
        if isinstance(errors, list):
            self.errors = [str(e) for e in errors if e]
        elif isinstance(event.get("error"), str):
            self.errors = [str(event["error"])]
        self.num_turns = _int(event.get("num_turns"), self.num_turns)
        self.duration_ms = _int(event.get("duration_ms"), self.duration_ms)
        cost = event.get("total_cost_usd", event.get("cost_usd"))
        if _is_number(cost):
            self.cost_usd = float(cost)
        usage = event.get("usage")
        if isinstance(usage, dict):
            self.input_tokens = _int(usage.get("input_tokens"), self.input_tokens)
            self.output_tokens = _int(usage.get("output_tokens"), self.output_tokens)
            self.cache_read_tokens = _int(
                usage.get("cache_read_input_tokens"), self.cache_read_tokens
            )
            self.cache_creation_tokens = _int(
                usage.get("cache_creation_input_tokens"), self.cache_creation_tokens
            )

    @property
    def succeeded(self) -> bool:
        """A ``result`` event said the run succeeded (exit code not considered)."""
        return self.saw_result and not self.is_error and self.subtype == "success"

    def error_detail(self) -> str | None:
        """The most precise text describing why the run failed, if it said so."""
        if self.is_error and self.result and self.result.strip():
            return _one_line(self.result, MAX_RESULT_ERROR_CHARS)
        if self.errors:
            return _one_line("; ".join(self.errors), MAX_RESULT_ERROR_CHARS)
        if self.result and self.result.strip() and self.subtype != "success":
            return _one_line(self.result, MAX_RESULT_ERROR_CHARS)
        if self.api_error:
            return f"API error: {self.api_error}"
        return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: object, default: int | None) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return default


def _content_blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, dict)]
    return []


# --------------------------------------------------------------------------------------
# Rendering


def render(item: Item) -> str | None:
    """A short human-readable view of one decoded item, or ``None`` to show nothing.

    Assistant text is shown as is (it may span several lines); each tool use as
    ``→ Edit src/app.py`` or ``→ Bash: pytest -q``; a failed tool result as
    ``  ✗ <one line of the error>``; the final result as
    ``✓ done in 12 turns, 41.2s, $0.0831`` or ``✗ error_max_turns after 31 turns, …``.
    Non-JSON lines are returned unchanged.
    """
    if isinstance(item, str):
        return item.rstrip() or None
    kind = item.get("type")
    if kind == "system":
        if item.get("subtype") != "init":
            return None
        model = item.get("model")
        session = item.get("session_id")
        parts = ["● Claude Code"]
        if isinstance(model, str) and model:
            parts.append(model)
        if isinstance(session, str) and session:
            parts.append(f"session {session}")
        return " · ".join(parts)
    message = item.get("message")
    if kind == "assistant" and isinstance(message, dict):
        lines: list[str] = []
        for block in _content_blocks(message):
            if block.get("type") == "text":
                text = block.get("text")
                if isinstance(text, str) and text.strip():
                    lines.append(text.strip())
            elif block.get("type") == "tool_use":
                name = block.get("name")
                tool_input = block.get("input")
                lines.append(
                    summarize_tool_use(
                        name if isinstance(name, str) else "tool",
                        tool_input if isinstance(tool_input, dict) else {},
                    )
                )
        return "\n".join(lines) or None
    if kind == "user" and isinstance(message, dict):
        errors = [
            f"  ✗ {_error_line(_tool_result_text(block)) or 'tool failed'}"
            for block in _content_blocks(message)
            if block.get("type") == "tool_result" and block.get("is_error") is True
        ]
        return "\n".join(errors) or None
    if kind == "result":
        transcript = ClaudeTranscript()
        transcript.consume(item)
        return format_result_line(transcript)
    return None


def format_result_line(transcript: ClaudeTranscript) -> str:
    """``✓ done in 12 turns, 41.2s, $0.0831`` or ``✗ <subtype> after …: <why>``."""
    stats: list[str] = []
    if transcript.num_turns is not None:
        stats.append(f"{transcript.num_turns} turn{'' if transcript.num_turns == 1 else 's'}")
    if transcript.duration_ms is not None:
        stats.append(f"{transcript.duration_ms / 1000:.1f}s")
    if transcript.cost_usd is not None:
        stats.append(f"${transcript.cost_usd:.4f}")
    if transcript.succeeded:
        return "✓ done" + (f" in {', '.join(stats)}" if stats else "")
    label = transcript.subtype or "error"
    if transcript.is_error and label == "success":
        label = "error"
    line = f"✗ {label}" + (f" after {', '.join(stats)}" if stats else "")
    detail = transcript.error_detail()
    return f"{line}: {detail}" if detail else line


def summarize_tool_use(name: str, tool_input: Mapping[str, Any]) -> str:
    """``→ Edit src/app.py``, ``→ Bash: pytest -q``, ``→ Grep: TODO``, …"""
    path = _first_str(tool_input, "file_path", "notebook_path", "path")
    if name in {"Edit", "MultiEdit", "Write", "Read", "NotebookEdit", "NotebookRead", "LS"}:
        if path:
            return f"→ {name} {_short_path(path)}"
        return f"→ {name}"
    if name in {"Bash", "BashOutput"}:
        command = _first_str(tool_input, "command", "bash_id")
        return f"→ {name}: {_one_line(command, MAX_TOOL_INPUT_CHARS)}" if command else f"→ {name}"
    if name in {"Glob", "Grep"}:
        pattern = _first_str(tool_input, "pattern")
        where = f" in {_short_path(path)}" if path else ""
        return (
            f"→ {name}: {_one_line(pattern, MAX_TOOL_INPUT_CHARS)}{where}"
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
    return f"→ {name}: {_one_line(detail, MAX_TOOL_INPUT_CHARS)}" if detail else f"→ {name}"


def _first_str(mapping: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _short_path(path: str) -> str:
    if path == _WORKDIR:
        return "."
    if path.startswith(_WORKDIR + "/"):
        return posixpath.relpath(path, _WORKDIR)
    return path


def _one_line(text: str | None, limit: int) -> str:
    """First non-blank line of *text*, cut at *limit* characters with an ellipsis."""
    if not text:
        return ""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    more = len([line for line in text.splitlines() if line.strip()]) > 1
    if len(first) > limit:
        return first[: limit - 1].rstrip() + "…"
    return first + (" …" if more else "")


def _error_line(text: str) -> str:
    """The telling line of a tool error: the first of a short one, else the last.

    Long outputs (test runs, tracebacks, compilers) end with their verdict.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) <= 3:
        return _one_line(text, MAX_TOOL_ERROR_CHARS)
    return _one_line(lines[-1], MAX_TOOL_ERROR_CHARS)


def _tool_result_text(block: Mapping[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text"))
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""
