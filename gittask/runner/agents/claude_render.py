"""Claude Code's stream-json events as readable lines: ``→ Edit src/app.py``,
``→ Bash: pytest -q``, ``  ✗ <a failed tool's error>``, ``✓ done in 12 turns, 41.2s,
$0.0831``. Plain text, so that the caller may style it as it likes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gittask.runner.agents.claude_tools import WORKDIR, first_line_of, summarize_tool_use
from gittask.runner.agents.claude_transcript import ApiRetry, ClaudeTranscript, content_blocks
from gittask.runner.stream_json import Item

__all__ = ["format_result_line", "render", "summarize_tool_use"]

#: Longest tool error shown by :func:`render`.
MAX_TOOL_ERROR_CHARS = 160


def render(item: Item, workdir: str = WORKDIR) -> str | None:
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
        for block in content_blocks(message):
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
            for block in content_blocks(message)
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


def _error_line(text: str) -> str:
    """The telling line of a tool error: the first of a short one, else the last.

    Long outputs (test runs, tracebacks, compilers) end with their verdict.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) <= 3:
        return first_line_of(text, MAX_TOOL_ERROR_CHARS)
    return first_line_of(lines[-1], MAX_TOOL_ERROR_CHARS)


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
