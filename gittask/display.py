"""Text from records and users, made safe to print on one line of a terminal.

A title, a branch name or an id given on the command line may hold control
characters (an escape sequence that recolours or clears the terminal, a
carriage return that overwrites the line, a bell) or bidirectional overrides
that show text in another order than it is stored. Printed in a table or an
error line they are shown as escapes (``\\x1b``, ``\\r``, ``\\u202e``) instead.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the bidirectional marks, embeddings, overrides and isolates
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every control or bidirectional character written as an escape."""
    return _UNSAFE.sub(_escaped, text)
