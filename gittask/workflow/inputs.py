"""Text a user gives (an option, a file, stdin, the editor): checked before anything runs.

A task's description and feedback become files on the data ref, lines of
commit messages and the agent's prompt, so they must be UTF-8 text without NUL
characters and of a bounded size (config ``description.max_bytes``). Bad input
is one :class:`~gittask.errors.UsageError` line and nothing is stored or run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gittask.errors import UsageError

#: What ``description.max_bytes`` is when the project sets nothing.
DEFAULT_MAX_BYTES = 1024 * 1024
_BOM = "\ufeff"


def _not_utf8(what: str, text: str) -> UsageError | None:
    """Bytes that are not UTF-8 reach Python's argv as lone surrogates."""
    for position, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            shown = f"0x{ord(char) - 0xDC00:02x}" if ord(char) >= 0xDC80 else repr(char)
            return UsageError(
                f"{what} is not UTF-8 text: byte {shown} at character {position}; "
                "nothing was stored",
                "convert it to UTF-8 (iconv -t UTF-8)",
            )
    return None


def check_text(what: str, text: str, max_bytes: int) -> str:
    """``text`` if it is UTF-8 without NUL and at most ``max_bytes`` bytes, else UsageError."""
    problem = _not_utf8(what, text)
    if problem is not None:
        raise problem
    nul = text.find("\0")
    if nul >= 0:
        raise UsageError(
            f"{what} holds a NUL character (at character {nul}); nothing was stored",
            "give text, not binary data",
        )
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise too_large(what, size, max_bytes)
    return text


def too_large(what: str, size: int | None, max_bytes: int) -> UsageError:
    amount = f"{size:,} bytes" if size is not None else "larger"
    return UsageError(
        f"{what} is {amount}, over the limit of {max_bytes:,} bytes "
        "(description.max_bytes); nothing was stored",
        "shorten it, or raise the limit: claude-container config set description.max_bytes N",
    )


def read_text(what: str, path: Path, max_bytes: int) -> str:
    """A file's text (``-``: stdin), read no further than the limit, strictly as UTF-8."""
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    source = "stdin" if str(path) == "-" else str(path)
    if len(data) > max_bytes:
        raise too_large(f"{what} ({source})", None, max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{what} ({source}) is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}; nothing was stored",
            "convert it to UTF-8 (iconv -t UTF-8)",
        ) from None
    return check_text(f"{what} ({source})", text.removeprefix(_BOM), max_bytes)


def check_argument(what: str, text: str) -> str:
    """A name or query from the command line: UTF-8 without NUL (no size limit)."""
    problem = _not_utf8(what, text)
    if problem is not None:
        raise problem
    return text
