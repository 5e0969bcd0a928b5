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
  model, final result, turns, duration, cost, tokens, API retries, denied tool
  calls);
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
    "ApiRetry",
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
#: Longest line :class:`LineDecoder` keeps (characters); the rest of a longer one is
#: dropped (an agent printing without a newline must not fill the memory).
MAX_LINE_CHARS = 8 * 1024 * 1024


class LineDecoder:
    """Split a byte stream into text lines, whatever the chunk boundaries.

    Invalid UTF-8 is replaced (U+FFFD) rather than raising: the agent's output is
    untrusted and must never crash the caller.  ``\\r\\n`` line ends are accepted.
    A line longer than ``max_line`` characters keeps its start and ends with a
    note saying how much was dropped.
    """

    def __init__(self, max_line: int = MAX_LINE_CHARS) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []  # pieces of the current, unfinished line
        self._size = 0  # characters in _pending
        self._dropped = 0  # characters of the current line past max_line
        self._max = max_line

    def feed(self, chunk: bytes) -> list[str]:
        """Decode *chunk*; return the lines it completed (without their newline)."""
        return self._split(self._utf8.decode(chunk, final=False))

    def flush(self) -> list[str]:
        """End of stream: return the last line if it had no newline."""
        lines = self._split(self._utf8.decode(b"", final=True))
        if self._pending or self._dropped:
            rest = self._take()
            if rest:
                lines.append(_strip_cr(rest))
        return lines

    def _split(self, text: str) -> list[str]:
        if not text:
            return []
        parts = text.split("\n")
        if len(parts) == 1:
            self._hold(text)
            return []
        lines = []
        for part in parts[:-1]:
            if not self._pending and not self._dropped and len(part) <= self._max:
                lines.append(_strip_cr(part))  # the usual case: a whole line
                continue
            self._hold(part)
            lines.append(_strip_cr(self._take()))
        self._hold(parts[-1])
        return lines

    def _hold(self, piece: str) -> None:
        room = self._max - self._size
        if len(piece) > room:
            self._dropped += len(piece) - room
            piece = piece[:room]
        if piece:
            self._pending.append(piece)
            self._size += len(piece)

    def _take(self) -> str:
        line = "".join(self._pending)
        if self._dropped:
            line += f"… [{self._dropped} more characters not kept]"
        self._pending, self._size, self._dropped = [], 0, 0
        return line


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


@dataclass(frozen=True)
class ApiRetry:
    """A ``system``/``api_retry`` event: a failed API call Claude Code will retry."""

    attempt: int | None
    max_retries: int | None
    delay_ms: int | None
    status: int | None
    error: str | None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ApiRetry:
        error = event.get("error")
        return cls(
            attempt=_int(event.get("attempt"), None),
            max_retries=_int(event.get("max_retries"), None),
            delay_ms=_int(event.get("retry_delay_ms"), None),
            status=_int(event.get("error_status"), None),
            error=error if isinstance(error, str) and error else None,
        )

    def describe(self) -> str:
        """``API error 529 (overloaded), retry 1/3 in 0.6s``."""
        what = "API error" + (f" {self.status}" if self.status is not None else "")
        if self.error:
            what += f" ({self.error})"
        retry = "retry"
        if self.attempt is not None:
            retry += f" {self.attempt}" + (
                f"/{self.max_retries}" if self.max_retries is not None else ""
            )
        if self.delay_ms is not None:
            retry += f" in {self.delay_ms / 1000:.1f}s"
        return f"{what}, {retry}"


@dataclass
class ClaudeTranscript:
    """What one Claude Code run reported, accumulated from its events.

    Feed every decoded item to :meth:`consume`.  Fields stay ``None`` until an
    event provides them; the ``result`` event is authoritative for the final
    numbers.  ``session_id`` is the latest one seen: a resumed run may report a
    new id, and that is the one to resume next time.

    Cost: the ``result`` line's ``total_cost_usd`` is cumulative over a resumed
    session.  :attr:`cost_usd` is *this run's* share: the sum of
    ``model_usage_since_last_result[*].costUSD`` when the CLI prints it (2.1.x),
    else ``total_cost_usd``; :attr:`session_cost_usd` is the cumulative figure.
    Tokens come from the result's ``usage`` (this run only); without a result
    they are summed over the assistant messages *by message id* (one API
    message with text and a tool call is printed as two lines).
    """

    session_id: str | None = None
    model: str | None = None
    claude_code_version: str | None = None
    #: The agent's working directory (``cwd`` of the ``init`` event).
    cwd: str | None = None
    saw_init: bool = False
    saw_result: bool = False
    subtype: str | None = None
    is_error: bool = False
    result: str | None = None
    errors: list[str] = field(default_factory=list)
    num_turns: int | None = None
    duration_ms: int | None = None
    #: This run's cost (see the class docstring).
    cost_usd: float | None = None
    #: The cumulative cost of the session, as the CLI printed it.
    session_cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    #: The text of the last assistant message (a fallback summary without result).
    last_assistant_text: str | None = None
    #: An API error flagged on an assistant message or the result
    #: (``authentication_failed``, ``connection_failed``...).
    api_error: str | None = None
    #: The HTTP status of the API error that ended the run, if one did.
    api_error_status: int | None = None
    #: Why the CLI stopped (``completed``, ``api_error``, ``max_turns``...).
    terminal_reason: str | None = None
    #: The ``api_retry`` events, in order.
    retries: list[ApiRetry] = field(default_factory=list)
    #: Tool calls the CLI refused, one line each (``Write src/x.py``), no duplicates.
    permission_denials: list[str] = field(default_factory=list)
    events: int = 0
    non_json_lines: int = 0
    tool_uses: int = 0
    _usage_by_message: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    _denied: dict[str, str] = field(default_factory=dict, repr=False)

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
            cwd = item.get("cwd")
            if isinstance(cwd, str) and cwd.startswith("/"):
                self.cwd = cwd
        elif kind == "system" and item.get("subtype") == "api_retry":
            self.retries.append(ApiRetry.from_event(item))
        elif kind == "system" and item.get("subtype") == "permission_denied":
            self._add_denial(item.get("tool_use_id"), item.get("tool_name"), item.get("tool_input"))
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
        self.api_error_status = _int(event.get("api_error_status"), self.api_error_status)
        message = event.get("message")
        if not isinstance(message, dict):
            return
        self._count_usage(message)
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

    def _count_usage(self, message: Mapping[str, Any]) -> None:
        message_id = message.get("id")
        usage = message.get("usage")
        if not isinstance(message_id, str) or not isinstance(usage, dict):
            return
        counts = self._usage_by_message.setdefault(message_id, {})
        for key in (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        ):
            value = _int(usage.get(key), None)
            if value is not None:  # the lines of one message repeat it: keep the largest
                counts[key] = max(counts.get(key, 0), value)
        if not self.saw_result:
            self.input_tokens = self._message_total("input_tokens")
            self.output_tokens = self._message_total("output_tokens")
            self.cache_read_tokens = self._message_total("cache_read_input_tokens")
            self.cache_creation_tokens = self._message_total("cache_creation_input_tokens")

    def _message_total(self, key: str) -> int | None:
        values = [c[key] for c in self._usage_by_message.values() if key in c]
        return sum(values) if values else None

    def _add_denial(self, tool_use_id: object, tool_name: object, tool_input: object) -> None:
        name = tool_name if isinstance(tool_name, str) and tool_name else "tool"
        line = summarize_tool_use(name, tool_input if isinstance(tool_input, dict) else {})[2:]
        key = (
            tool_use_id if isinstance(tool_use_id, str) and tool_use_id else f"#{len(self._denied)}"
        )
        if key not in self._denied or isinstance(tool_input, dict):  # the result has the input
            self._denied[key] = line
        self.permission_denials = list(self._denied.values())

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
        self.api_error_status = _int(event.get("api_error_status"), self.api_error_status)
        api_error = event.get("api_error")  # e.g. connection_failed
        if isinstance(api_error, str) and api_error:
            self.api_error = api_error
        reason = event.get("terminal_reason")
        if isinstance(reason, str) and reason:
            self.terminal_reason = reason
        cost = event.get("total_cost_usd", event.get("cost_usd"))
        if _is_number(cost):
            self.session_cost_usd = self.cost_usd = float(cost)
        since = event.get("model_usage_since_last_result")
        if isinstance(since, dict):
            shares = [
                float(m["costUSD"])
                for m in since.values()
                if isinstance(m, dict) and _is_number(m.get("costUSD"))
            ]
            if shares or not since:
                self.cost_usd = round(sum(shares), 10)
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
        denials = event.get("permission_denials")
        if isinstance(denials, list):
            for denial in denials:
                if isinstance(denial, dict):
                    self._add_denial(
                        denial.get("tool_use_id"), denial.get("tool_name"), denial.get("tool_input")
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


def render(item: Item, workdir: str = _WORKDIR) -> str | None:
    """A short human-readable view of one decoded item, or ``None`` to show nothing.

    Assistant text is shown as is (it may span several lines); each tool use as
    ``→ Edit src/app.py`` or ``→ Bash: pytest -q``; a failed tool result as
    ``  ✗ <one line of the error>``; the final result as
    ``✓ done in 12 turns, 41.2s, $0.0831`` or ``✗ error_max_turns after 31 turns, …``.
    Non-JSON lines are returned unchanged.  Paths under *workdir* (the agent's
    working directory, ``cwd`` of the ``init`` event) are shown relative to it.
    """
    if isinstance(item, str):
        return item.rstrip() or None
    kind = item.get("type")
    if kind == "system":
        if item.get("subtype") == "api_retry":
            return f"… {ApiRetry.from_event(item).describe()}"
        # permission_denied: the tool result that follows shows the same message
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
                        workdir,
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


def summarize_tool_use(name: str, tool_input: Mapping[str, Any], workdir: str = _WORKDIR) -> str:
    """``→ Edit src/app.py``, ``→ Bash: pytest -q``, ``→ Grep: TODO``, …"""
    path = _first_str(tool_input, "file_path", "notebook_path", "path")
    if name in {"Edit", "MultiEdit", "Write", "Read", "NotebookEdit", "NotebookRead", "LS"}:
        if path:
            return f"→ {name} {_short_path(path, workdir)}"
        return f"→ {name}"
    if name in {"Bash", "BashOutput"}:
        command = _first_str(tool_input, "command", "bash_id")
        return f"→ {name}: {_one_line(command, MAX_TOOL_INPUT_CHARS)}" if command else f"→ {name}"
    if name in {"Glob", "Grep"}:
        pattern = _first_str(tool_input, "pattern")
        where = f" in {_short_path(path, workdir)}" if path else ""
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


def _short_path(path: str, workdir: str = _WORKDIR) -> str:
    workdir = workdir.rstrip("/") or "/"
    if path == workdir:
        return "."
    if path.startswith(workdir + "/"):
        return posixpath.relpath(path, workdir)
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
