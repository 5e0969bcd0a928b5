"""Bounds on what an agent prints: the run's log file, and the live view.

An agent is untrusted and may print without end. Two bounds keep that from
filling the disk or the terminal:

- :class:`HeadTail`: the agent's output as the run's log file keeps it, at most
  ``limit`` bytes: the head is written as it comes; once it is full, a line says
  the middle is being cut, only the last part is kept (in memory, bounded), and
  at the end a line says how much was dropped, followed by that last part;
- :class:`LiveView`: the lines shown live, each clipped, at most ``limit``
  bytes in all; past that one line says so, and the last lines are shown at
  the end.

Both only ever see text the :class:`~gittask.runner.logs.Scrubber` has masked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import IO

#: What the log file keeps before the cut, as a share of the limit (the rest is the tail).
HEAD_SHARE = 0.5
#: Bytes of the limit set aside for the two lines marking the cut.
MARK_ROOM = 512
#: A cut looks back this far for a line end, so that the kept parts hold whole lines.
LINE_LOOKBACK = 1 << 16
#: The smallest limit that leaves room for a head, a tail and the marks.
MIN_LIMIT = 4 * MARK_ROOM
#: The longest line the live view shows whole.
LIVE_LINE = 2000
#: The lines the live view shows at the end, after it stopped showing them.
LIVE_TAIL_LINES = 20


def _size(count: int) -> str:
    if count < 1024 * 1024:
        return f"{count} bytes"
    return f"{count / (1024 * 1024):.1f} MiB"


class HeadTail:
    """Writes at most ``limit`` bytes of a stream to ``handle``: its head and its tail.

    ``setting`` names the setting the marks quote. Memory use stays below the
    tail's share of the limit plus one chunk.
    """

    def __init__(self, handle: IO[bytes], limit: int, setting: str = "logs.run_max_bytes") -> None:
        self.handle = handle
        self.limit = max(limit, MIN_LIMIT)
        self.setting = setting
        self.head_room = int((self.limit - MARK_ROOM) * HEAD_SHARE)
        self.tail_room = self.limit - MARK_ROOM - self.head_room
        self.head = 0  # bytes of the output in the file's head
        self.seen = 0  # bytes given
        self.cutting = False
        self._line_start = True  # the file ends with a newline (or is empty)
        self._closed = False
        self._tail: deque[bytes] = deque()
        self._tail_size = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.seen += len(data)
        if not self.cutting:
            room = self.head_room - self.head
            if len(data) <= room:
                self._put(data)
                return
            cut = data.rfind(b"\n", max(0, room - LINE_LOOKBACK), room) + 1 or room
            self._put(data[:cut])
            self.cutting = True
            self.handle.write(
                (b"" if self._line_start else b"\n")
                + f"[claude-container: the output passed {_size(self.head_room)}: the "
                f"middle is cut and its last part follows when the run ends "
                f"({self.setting} = {self.limit})]\n".encode()
            )
            data = data[cut:]
        self._keep(data)

    def _put(self, data: bytes) -> None:
        if data:
            self.handle.write(data)
            self.head += len(data)
            self._line_start = data.endswith(b"\n")

    def _keep(self, data: bytes) -> None:
        self._tail.append(data)
        self._tail_size += len(data)
        while self._tail and self._tail_size - len(self._tail[0]) >= self.tail_room:
            self._tail_size -= len(self._tail.popleft())

    def close(self) -> None:
        """Write the mark of the cut and the tail (nothing when there was no cut)."""
        if not self.cutting or self._closed:
            return
        self._closed = True
        tail = b"".join(self._tail)
        self._tail.clear()
        if len(tail) > self.tail_room:  # start the kept part at a line start
            tail = tail[-self.tail_room :]
            tail = tail[tail.find(b"\n", 0, min(LINE_LOOKBACK, len(tail) - 1)) + 1 :]
        dropped = self.seen - self.head - len(tail)
        self.handle.write(
            f"[claude-container: {dropped} bytes of the agent's output were cut here, "
            f"{self.seen} in all; what follows is its end]\n".encode()
        )
        self.handle.write(tail)


class LiveView:
    """Shows at most ``limit`` bytes of lines through ``show``; then the last lines at the end.

    ``where`` says where the whole output is (``task logs ID``).
    """

    def __init__(self, show: Callable[[str], None], limit: int, where: str) -> None:
        self.show = show
        self.limit = limit
        self.where = where
        self.shown = 0
        self.held = 0  # lines not shown
        self.cut = False
        self._last: deque[str] = deque(maxlen=LIVE_TAIL_LINES)

    def line(self, text: str) -> None:
        if len(text) > LIVE_LINE:
            text = f"{text[:LIVE_LINE]}… [{len(text) - LIVE_LINE} more characters]"
        if self.cut:
            self.held += 1
            self._last.append(text)
            return
        size = len(text.encode("utf-8", "replace")) + 1
        if self.shown + size > self.limit:
            self.cut = True
            self.show(
                f"[claude-container: the live view stops here after {_size(self.shown)} "
                f"(logs.live_max_bytes); the last lines follow at the end; all of it: "
                f"{self.where}]"
            )
            self.held += 1
            self._last.append(text)
            return
        self.shown += size
        self.show(text)

    def finish(self) -> None:
        """The run's output ended: the last lines not shown, after a line counting the rest."""
        if not self.cut:
            return
        last = list(self._last)
        skipped = self.held - len(last)
        if skipped:
            self.show(f"[claude-container: {skipped} lines not shown]")
        for text in last:
            self.show(text)
        self._last.clear()
        self.held = 0
