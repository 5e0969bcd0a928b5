"""Text for one-line messages: flattened and clipped with an ellipsis."""

from __future__ import annotations

import re


def one_line(text: str, limit: int = 400) -> str:
    """``text`` on one line (runs of whitespace become one space), at most ``limit``
    characters: a longer one ends with ``…``."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's text (its type when empty), for a one-line error.

    requests' nested reprs are long: a parenthesised "refused", "No such file"
    or "not found" part is kept rather than the whole line.
    """
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    match = re.search(r"\(([^()]*(?:refused|No such file|not found)[^()]*)\)", line)
    return (match.group(1) if match else line)[:limit]
