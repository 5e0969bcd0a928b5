"""What a ``codex exec --json`` run printed: :class:`CodexTranscript` (thread, turns,
errors, retries, tool calls, usage), :class:`CodexOutput` (the decoder an agent run
feeds) and :func:`render` (one readable line per event). The event facts are in
:mod:`gittask.runner.agents.codex`'s docstring."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gittask.runner.agents.base import WORKDIR
from gittask.runner.stream_json import Item, StreamDecoder

__all__ = ["CodexOutput", "CodexTranscript", "clip_line", "render", "shell_command", "thread_usage"]

_BASH_LC = re.compile(r"^(?:/usr)?/bin/(?:ba|z|da)?sh -lc (?P<q>['\"])(?P<cmd>.*)(?P=q)$", re.S)
_TOOL_ITEMS = (
    "command_execution",
    "file_change",
    "mcp_tool_call",
    "web_search",
    "collab_tool_call",
)
MAX_LINE = 80
MAX_ERROR = 300


def thread_usage(rollout: Path) -> dict[str, int]:
    """The thread's token totals recorded last in a rollout file ({} if none)."""
    totals: dict[str, int] = {}
    try:
        with rollout.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if '"token_count"' not in line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                payload = event.get("payload") if isinstance(event, dict) else None
                info = payload.get("info") if isinstance(payload, dict) else None
                total = info.get("total_token_usage") if isinstance(info, dict) else None
                if isinstance(total, dict):
                    totals = {k: int(v) for k, v in total.items() if is_int(v)}
    except OSError:
        return {}
    return totals


@dataclass
class CodexTranscript:
    """What the JSON events of one ``codex exec --json`` run said."""

    thread_id: str | None = None
    turn_completed: bool = False
    turn_failed: bool = False
    #: ``turn.failed`` message, else the last ``error`` event's.
    error: str | None = None
    #: Retry notices (``Reconnecting... 2/5 (…)``), in order.
    retries: list[str] = field(default_factory=list)
    last_message: str | None = None
    tool_calls: int = 0
    #: The thread's running totals from ``turn.completed`` (input, cached, output).
    usage: dict[str, int] = field(default_factory=dict)
    events: int = 0
    non_json_lines: int = 0
    _seen: set[str] = field(default_factory=set, repr=False)

    def consume(self, item: Item) -> None:
        if isinstance(item, str):
            self.non_json_lines += 1
            return
        self.events += 1
        kind = item.get("type")
        if kind == "thread.started":
            thread = item.get("thread_id")
            if isinstance(thread, str) and thread:
                self.thread_id = thread
        elif kind == "turn.completed":
            self.turn_completed = True
            usage = item.get("usage")
            if isinstance(usage, dict):
                self.usage = {k: int(v) for k, v in usage.items() if is_int(v)}
        elif kind == "turn.failed":
            self.turn_failed = True
            error = item.get("error")
            message = error.get("message") if isinstance(error, dict) else None
            if isinstance(message, str) and message.strip():
                self.error = message.strip()
        elif kind == "error":
            message = item.get("message")
            if isinstance(message, str) and message.strip():
                if message.startswith("Reconnecting..."):
                    self.retries.append(message.strip())
                else:
                    self.error = message.strip()
        elif kind in ("item.started", "item.completed"):
            self._consume_item(kind, item.get("item"))

    def _consume_item(self, kind: str, thread_item: object) -> None:
        if not isinstance(thread_item, dict):
            return
        item_type = thread_item.get("type")
        item_id = thread_item.get("id")
        if item_type in _TOOL_ITEMS and isinstance(item_id, str) and item_id not in self._seen:
            self._seen.add(item_id)
            self.tool_calls += 1
        if kind == "item.completed" and item_type == "agent_message":
            text = thread_item.get("text")
            if isinstance(text, str) and text.strip():
                self.last_message = text.strip()

    @property
    def finished(self) -> bool:
        return self.turn_completed or self.turn_failed

    @property
    def succeeded(self) -> bool:
        return self.turn_completed and not self.turn_failed

    @property
    def num_turns(self) -> int | None:
        """Model calls: one per tool call, plus the final answer (derived, see module doc)."""
        if not self.events:
            return None
        return self.tool_calls + (1 if self.turn_completed else 0)


class CodexOutput:
    """Decodes ``codex exec --json`` output; keeps a :class:`CodexTranscript`.

    *baseline*: the session's token totals before this run (a resume), so that
    :meth:`run_usage` is this run's share of the thread's running total.
    """

    def __init__(self, workdir: str = WORKDIR, baseline: Mapping[str, int] | None = None) -> None:
        self._decoder = StreamDecoder()
        self.transcript = CodexTranscript()
        self.workdir = workdir
        self.baseline = dict(baseline or {})
        #: The last line that was not JSON (why Codex refused to start, a log line).
        self.last_text_line: str | None = None

    def feed(self, chunk: bytes) -> list[str]:
        return self._handle(self._decoder.feed(chunk))

    def flush(self) -> list[str]:
        return self._handle(self._decoder.flush())

    @property
    def finished(self) -> bool:
        return self.transcript.finished

    def run_usage(self, key: str) -> int | None:
        """This run's tokens of one kind (``input_tokens``, ``output_tokens``…)."""
        if key not in self.transcript.usage:
            return None
        return max(0, self.transcript.usage[key] - self.baseline.get(key, 0))

    def _handle(self, items: list[Item]) -> list[str]:
        lines: list[str] = []
        for item in items:
            self.transcript.consume(item)
            if isinstance(item, str):
                if item.strip():
                    self.last_text_line = item.strip()
                    lines.append(item.rstrip())
                continue
            shown = render(item, self.workdir)
            if shown is not None:
                lines.extend(shown.splitlines())
            if item.get("type") == "turn.completed":
                lines.append(self._done_line())
        return lines

    def _done_line(self) -> str:
        t = self.transcript
        stats: list[str] = []
        if t.num_turns is not None:
            stats.append(f"{t.num_turns} turn{'' if t.num_turns == 1 else 's'}")
        tokens_in, tokens_out = self.run_usage("input_tokens"), self.run_usage("output_tokens")
        if tokens_in is not None and tokens_out is not None:
            stats.append(f"{tokens_in} in / {tokens_out} out tokens")
        return "✓ done" + (f" in {', '.join(stats)}" if stats else "")


def render(item: Item, workdir: str = WORKDIR) -> str | None:
    """A short human-readable view of one event, or None to show nothing.

    ``→ shell: git status``, ``→ apply_patch: add hello.py``, the agent's messages
    as they are, a failed command as ``  ✗ exit 1: <last line>``, retries as
    ``… Reconnecting... 2/5 (…)`` and a failed turn as ``✗ failed: <why>``.
    """
    if isinstance(item, str):
        return item.rstrip() or None
    kind = item.get("type")
    if kind == "thread.started":
        thread = item.get("thread_id")
        return f"● Codex · session {thread}" if isinstance(thread, str) else "● Codex"
    if kind == "error":
        message = item.get("message")
        return f"… {clip_line(message, MAX_ERROR)}" if isinstance(message, str) else None
    if kind == "turn.failed":
        error = item.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        return f"✗ failed: {clip_line(message, MAX_ERROR)}" if message else "✗ failed"
    if kind not in ("item.started", "item.completed"):
        return None
    thread_item = item.get("item")
    if not isinstance(thread_item, dict):
        return None
    return _render_item(thread_item, kind == "item.started", workdir)


def _render_item(thread_item: dict[str, object], started: bool, workdir: str) -> str | None:
    """One thread item (``item.started`` or ``item.completed``), or None."""
    item_type = thread_item.get("type")
    if item_type == "command_execution":
        return _command_line(thread_item, started)
    if item_type == "file_change":
        return None if started else _patch_line(thread_item, workdir)
    if started:
        if item_type == "mcp_tool_call":
            return f"→ {thread_item.get('server')}.{thread_item.get('tool')}"
        if item_type == "web_search":
            return f"→ web_search: {clip_line(str(thread_item.get('query') or ''), MAX_LINE)}"
        return None
    if item_type == "agent_message":
        text = thread_item.get("text")
        return text.strip() if isinstance(text, str) and text.strip() else None
    if item_type == "todo_list":
        todos = thread_item.get("items")
        count = len(todos) if isinstance(todos, list) else 0
        return f"→ plan ({count} item{'' if count == 1 else 's'})"
    if item_type == "error":
        message = thread_item.get("message")
        return f"! {clip_line(message, MAX_ERROR)}" if isinstance(message, str) else None
    return None


def _command_line(thread_item: dict[str, object], started: bool) -> str | None:
    """``→ shell: git status`` when it starts; ``  ✗ exit 1: <last line>`` if it failed."""
    if started:
        return f"→ shell: {clip_line(shell_command(thread_item.get('command')), MAX_LINE)}"
    exit_code = thread_item.get("exit_code")
    if thread_item.get("status") in ("failed", "declined") or (
        is_int(exit_code) and exit_code != 0
    ):
        output = thread_item.get("aggregated_output")
        last = _last_line(output if isinstance(output, str) else "")
        what = f"exit {exit_code}" if is_int(exit_code) else str(thread_item.get("status"))
        return f"  ✗ {what}" + (f": {last}" if last else "")
    return None


def _patch_line(thread_item: dict[str, object], workdir: str) -> str:
    """``→ apply_patch: add hello.py, update app.py`` (``(failed)`` when it failed)."""
    changes = thread_item.get("changes")
    parts = [
        f"{change.get('kind', 'update')} {_short_path(str(change.get('path', '')), workdir)}"
        for change in (changes if isinstance(changes, list) else [])
        if isinstance(change, dict)
    ]
    line = f"→ apply_patch: {clip_line(', '.join(parts), MAX_LINE)}" if parts else "→ apply_patch"
    if thread_item.get("status") == "failed":
        line += " (failed)"
    return line


def shell_command(command: object) -> str:
    """The command the model asked for, without Codex's ``/bin/bash -lc '…'`` wrapper."""
    if isinstance(command, list):
        command = " ".join(str(part) for part in command)
    if not isinstance(command, str):
        return ""
    match = _BASH_LC.match(command.strip())
    if match is None:
        return command
    inner = match.group("cmd")
    return inner.replace("'\\''", "'") if match.group("q") == "'" else inner


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def clip_line(text: str | None, limit: int) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return clip_line(lines[-1], 160) if lines else ""


def _short_path(path: str, workdir: str) -> str:
    workdir = workdir.rstrip("/") or "/"
    if path == workdir:
        return "."
    if path.startswith(workdir + "/"):
        return posixpath.relpath(path, workdir)
    return path
