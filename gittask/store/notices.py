"""Warnings from below the CLI: one line each on stderr, each said once per process.

A read that goes on despite trouble (a remote branch that is refused, an index
that cannot be written) says so here; the command's output stays what it was.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

Sink = Callable[[str], None]


def _stderr(message: str) -> None:
    sys.stderr.write(f"warning: {' '.join(message.split())}\n")


_sink: Sink = _stderr
_said: set[str] = set()


def set_sink(sink: Sink | None) -> None:
    """Send warnings elsewhere (None restores stderr)."""
    global _sink
    _sink = sink or _stderr


def warn(message: str) -> None:
    if message in _said:
        return
    _said.add(message)
    _sink(message)
