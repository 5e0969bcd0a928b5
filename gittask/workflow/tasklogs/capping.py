"""Log files as they may be stored: capped, and never holding a credential value."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gittask.runner.worktree import MIN_SECRET_LENGTH

if TYPE_CHECKING:
    from gittask.runner.logs import Scrubber


def _secret_forms(credentials: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each credential value long enough to look for, as written
    plainly and inside a JSON string, longest first."""
    forms: set[tuple[str, bytes]] = set()
    for name, value in credentials.items():
        if value and len(value.strip()) >= MIN_SECRET_LENGTH:
            for text in (
                value,
                json.dumps(value)[1:-1],
                json.dumps(value, ensure_ascii=False)[1:-1],
            ):
                forms.add((name, text.encode()))
    return sorted(forms, key=lambda item: -len(item[1]))


def find_credential(data: bytes, credentials: Mapping[str, str]) -> str | None:
    """The name of the first credential whose value ``data`` holds (the check that
    guards the agent's commits, applied to a log before it is stored)."""
    for name, value in _secret_forms(credentials):
        if value in data:
            return name
    return None


def _strip_partial_secret(data: bytes, credentials: Mapping[str, str]) -> bytes:
    """Drop a tail that is the start of a credential value (a cut through it)."""
    for _name, value in _secret_forms(credentials):
        for length in range(min(len(value) - 1, len(data)), 0, -1):
            if data.endswith(value[:length]):
                return data[:-length]
    return data


@dataclass
class Capped:
    data: bytes
    size: int  # bytes of the original file
    truncated: bool = False
    withheld: str | None = None  # credential name that kept the file out


def cap_file(
    path: Path, max_bytes: int, scrub: Scrubber, credentials: Mapping[str, str]
) -> Capped | None:
    """The file scrubbed and cut to ``max_bytes`` (ending with a line that says so);
    a content that still holds a credential value is withheld. None: no file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        # enough past the cut that a secret starting before it is masked whole
        head = handle.read(max_bytes + scrub.longest + 1)
    data = scrub.bytes(head)
    truncated = size > max_bytes or len(data) > max_bytes
    if truncated:
        data = data[:max_bytes]
        line_end = data.rfind(b"\n", max(0, len(data) - 65536))
        if line_end >= 0:
            data = data[: line_end + 1]
        data = _strip_partial_secret(data, credentials)
        dropped = max(0, size - len(data))
        if data and not data.endswith(b"\n"):
            data += b"\n"
        data += (
            f"[claude-container: log truncated: {dropped} of {size} bytes were not stored "
            f"(logs.max_bytes = {max_bytes})]\n"
        ).encode()
    leaked = find_credential(data, credentials)
    if leaked is not None:
        note = f"[claude-container: withheld: this log held the value of {leaked}]\n"
        return Capped(note.encode(), size, truncated, withheld=leaked)
    return Capped(data, size, truncated)
