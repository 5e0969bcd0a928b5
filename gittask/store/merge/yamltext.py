"""YAML as chunks of text: each top-level key of a block mapping is compared and copied verbatim."""

from __future__ import annotations

import re

from gittask.store import yamlio
from gittask.text import one_line

_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*):(?: |\r?$)")


def split_chunks(data: bytes) -> dict[str, str] | None:
    """Top-level ``key: value`` chunks of a block-style YAML mapping, in order.

    Each chunk is the key's line plus its continuation lines (indented lines,
    ``- item`` lines, blank lines), ending in a newline. Returns None for
    anything else (document markers, comments, flow style, repeated keys):
    callers then parse the document properly.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    chunks: dict[str, str] = {}
    key: str | None = None
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        first = line[:1]
        if first in (" ", "\t", "\n", "\r") or (first == "-" and not line.startswith("---")):
            if key is None:
                if line.strip():
                    return None
                continue
            lines.append(line)
            continue
        match = _KEY_LINE.match(line)
        if match is None:
            return None
        if key is not None:
            chunks[key] = _joined(lines)
        key = match.group(1)
        if key in chunks:
            return None
        lines = [line]
    if key is not None:
        chunks[key] = _joined(lines)
    return chunks


def _joined(lines: list[str]) -> str:
    text = "".join(lines)
    return text if text.endswith("\n") else text + "\n"


def syntax_error(data: bytes) -> str | None:
    """Why ``data`` is not a record this tool reads (well-formed YAML within the
    limits of :func:`gittask.store.yamlio.check`), or None. About 25 µs per record."""
    return yamlio.problem(data)


def chunk_value(chunk: str | None, width: int = 60) -> str:
    """The value part of a chunk, on one line, for a merge report."""
    if chunk is None:
        return "(absent)"
    text = " ".join(chunk.split(":", 1)[1].split()) if ":" in chunk else chunk.strip()
    return one_line(text.lstrip("|-> ").strip() or "(empty)", width)


def unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text
