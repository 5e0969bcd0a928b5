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

What the events mean is the agents' business: Claude's in
:mod:`gittask.runner.agents.claude_transcript` (what a run reported) and
:mod:`gittask.runner.agents.claude_render` (one readable line per event); Codex
prints JSON lines too (:mod:`gittask.runner.agents.codex_output`). No dependency
beyond the standard library.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable
from typing import Any

__all__ = ["Item", "LineDecoder", "StreamDecoder", "parse_line"]

#: One decoded line: a JSON object, or the raw text of a line that is not one.
Item = dict[str, Any] | str

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
