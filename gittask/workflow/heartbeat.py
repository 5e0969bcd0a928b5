"""While the agent is silent for long, the live view says it is alive.

Used by a run in the foreground (:mod:`gittask.workflow.run.execute`) and by
``task logs --follow``: every ``heartbeat_seconds`` of silence one plain line on
stderr (never on stdout, so never in ``--json`` output)::

    claude-container: task 3f2a9c1e still working: 4m 10s elapsed, silent for 30s;
    last tool call: → Bash: pytest -q
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gittask.display import escape
from gittask.text import one_line

#: How a tool call starts in the readable views of every agent (``→ Edit app.py``).
TOOL_CALL_PREFIX = "→ "


def duration(seconds: float) -> str:
    """``45s``, ``4m 10s``, ``1h 02m``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


class Heartbeat:
    """Feed it what the agent shows (:meth:`saw`) and call :meth:`tick` often; it says
    a line after each ``every`` seconds without output. ``every`` 0: never."""

    def __init__(
        self,
        task_id: str,
        every: float,
        say: Callable[[str], None],
        started: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.task_id = task_id
        self.every = every
        self.say = say
        self.clock = clock
        self.started = started if started is not None else clock()
        self.last_output = clock()
        self.last_beat = 0.0
        self.last_tool: str | None = None

    def output(self) -> None:
        """The agent printed something (raw bytes, not yet a whole line)."""
        self.last_output = self.clock()

    def saw(self, line: str) -> None:
        """A line of the readable view (a tool call is remembered)."""
        self.output()
        if line.startswith(TOOL_CALL_PREFIX):
            self.last_tool = line

    def tick(self) -> bool:
        """Say the line when it is due; whether it did."""
        if self.every <= 0:
            return False
        now = self.clock()
        silent = now - self.last_output
        if silent < self.every or now - self.last_beat < self.every:
            return False
        self.last_beat = now
        self.say(self.line(now - self.started, silent))
        return True

    def line(self, elapsed: float, silent: float) -> str:
        tool = escape(one_line(self.last_tool, 120)) if self.last_tool else "none yet"
        return (
            f"task {self.task_id[:8]} still working: {duration(elapsed)} elapsed, "
            f"silent for {duration(silent)}; last tool call: {tool}"
        )
