"""What one Claude Code run reported, accumulated from its stream-json events:
session id, model, final result, turns, duration, cost, tokens, API retries,
denied tool calls (:class:`ClaudeTranscript`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gittask.runner.agents.claude_tools import first_line_of, summarize_tool_use
from gittask.runner.stream_json import Item

__all__ = ["ApiRetry", "ClaudeTranscript", "content_blocks"]

#: Longest error message in a result line.
MAX_RESULT_ERROR_CHARS = 300


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
        for block in content_blocks(message):
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
            return first_line_of(self.result, MAX_RESULT_ERROR_CHARS)
        if self.errors:
            return first_line_of("; ".join(self.errors), MAX_RESULT_ERROR_CHARS)
        if self.result and self.result.strip() and self.subtype != "success":
            return first_line_of(self.result, MAX_RESULT_ERROR_CHARS)
        if self.api_error:
            return f"API error: {self.api_error}"
        return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: object, default: int | None) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return default


def content_blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, dict)]
    return []
