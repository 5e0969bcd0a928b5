"""One-line notices: what the user should know although the command goes on.

A notice is said once per process (a command that publishes twice to an
unreachable remote says so once). The CLI's default sink is stderr; a library
user can install another with :func:`set_sink`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

Sink = Callable[[str], None]


def _stderr(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


_sink: Sink = _stderr
_said: set[str] = set()


def set_sink(sink: Sink | None) -> None:
    """Send notices to ``sink`` (None: back to stderr); forgets what was said."""
    global _sink
    _sink = sink or _stderr
    _said.clear()


def notice(line: str) -> None:
    """Say ``line`` unless this process said it already."""
    if line in _said:
        return
    _said.add(line)
    _sink(line)


def warn(message: str) -> None:
    """A notice marked ``warning:``, folded onto one line."""
    notice(f"warning: {' '.join(message.split())}")
