"""Log files as they may be stored: capped, and never holding a credential value."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gittask.runner.encodings import encoded_forms, squeeze
from gittask.runner.worktree import MIN_SECRET_LENGTH

if TYPE_CHECKING:
    from gittask.runner.logs import Scrubber


def _secret_forms(credentials: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each credential value long enough to look for, as written
    plainly, inside a JSON string and in its usual disguises, longest first."""
    forms: set[tuple[str, bytes]] = set()
    for name, value in credentials.items():
        if value and len(value.strip()) >= MIN_SECRET_LENGTH:
            for text in (
                value,
                json.dumps(value)[1:-1],
                json.dumps(value, ensure_ascii=False)[1:-1],
                *encoded_forms(value),
            ):
                forms.add((name, text.encode()))
    return sorted(forms, key=lambda item: -len(item[1]))


def find_credential(data: bytes, credentials: Mapping[str, str]) -> str | None:
    """The name of the first credential whose value ``data`` holds, also disguised or
    cut into lines (the check that guards the agent's commits, applied to a log
    before it is stored)."""
    forms = _secret_forms(credentials)
    flat = squeeze(data) if forms else b""
    for name, value in forms:
        squeezed = squeeze(value)
        if value in data or (len(squeezed) >= MIN_SECRET_LENGTH and squeezed in flat):
            return name
    return None


def _strip_partial_secret(data: bytes, credentials: Mapping[str, str]) -> bytes:
    """Drop a tail that is the start of a credential value (a cut through it): the
    longest such tail, whichever form of a value it starts."""
    cut = 0
    for _name, value in _secret_forms(credentials):
        for length in range(min(len(value) - 1, len(data)), cut, -1):
            if data.endswith(value[:length]):
                cut = length
                break
    return data[: len(data) - cut]


def _strip_partial_secret_start(data: bytes, credentials: Mapping[str, str]) -> bytes:
    """Drop a head that is the end of a credential value (a cut through it): the
    longest such head, whichever form of a value it ends."""
    cut = 0
    for _name, value in _secret_forms(credentials):
        for length in range(min(len(value) - 1, len(data)), cut, -1):
            if data.startswith(value[-length:]):
                cut = length
                break
    return data[cut:]


@dataclass
class Capped:
    data: bytes
    size: int  # bytes of the original file
    truncated: bool = False
    withheld: str | None = None  # credential name that kept the file out


#: A cut looks this far for a line end, so that the kept parts hold whole lines.
_LOOKBACK = 65536


def cap_file(
    path: Path, max_bytes: int, scrub: Scrubber, credentials: Mapping[str, str]
) -> Capped | None:
    """The file scrubbed and, when longer than ``max_bytes``, cut to its head and its
    tail with a line between them saying so (``max_bytes`` in all); a content that
    still holds a credential value is withheld. None: no file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        # enough past each cut that a secret crossing it is masked whole
        extra = scrub.longest + 1
        data = scrub.bytes(handle.read(max_bytes + extra))
        truncated = size > max_bytes or len(data) > max_bytes
        if truncated:
            mark = _mark(size, size, max_bytes)
            budget = max(0, max_bytes - len(mark))
            head_room, tail_room = budget // 2, budget - budget // 2
            head = _cut_head(data, head_room, credentials)
            handle.seek(max(0, size - tail_room - extra))
            tail = _cut_tail(scrub.bytes(handle.read()), tail_room, credentials)
            dropped = max(0, size - len(head) - len(tail))
            data = head + _mark(dropped, size, max_bytes) + tail
    leaked = find_credential(data, credentials)
    if leaked is not None:
        note = f"[claude-container: withheld: this log held the value of {leaked}]\n"
        return Capped(note.encode(), size, truncated, withheld=leaked)
    return Capped(data, size, truncated)


def _mark(dropped: int, size: int, max_bytes: int) -> bytes:
    return (
        f"[claude-container: log truncated: {dropped} of {size} bytes were not stored "
        f"(logs.max_bytes = {max_bytes}); above: its start, below: its end]\n"
    ).encode()


def _cut_head(data: bytes, room: int, credentials: Mapping[str, str]) -> bytes:
    """The first ``room`` bytes, up to a line end when one is near, never a secret's start."""
    head = data[:room]
    line_end = head.rfind(b"\n", max(0, len(head) - _LOOKBACK))
    if line_end >= 0:
        return _strip_partial_secret(head[: line_end + 1], credentials)
    head = _strip_partial_secret(head[: max(0, room - 1)], credentials)
    return head + b"\n" if head else head  # the mark starts a line of its own


def _cut_tail(data: bytes, room: int, credentials: Mapping[str, str]) -> bytes:
    """The last ``room`` bytes, from a line start when one is near, never a secret's end."""
    if room <= 0:
        return b""
    tail = data[-room:]
    if len(data) > room:
        tail = tail[tail.find(b"\n", 0, min(_LOOKBACK, len(tail) - 1)) + 1 :]
    return _strip_partial_secret_start(tail, credentials)
