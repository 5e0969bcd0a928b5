"""The real CLI on a pseudo-terminal: what a person at a terminal sees and types.

``Terminal`` starts ``python -m gittask ...`` as the leader of a new session whose
controlling terminal is a fresh pty (stdin, stdout and stderr all on it, unless
``stdout`` is given), so Ctrl-C (``\\x03``) reaches it as SIGINT from the line
discipline, as it does in a shell.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.paths import ROOT


class Terminal:
    def __init__(
        self,
        cwd: Path,
        *args: str,
        env: dict[str, str] | None = None,
        stdout: int | None = None,
        columns: int = 80,
        program: list[str] | None = None,
    ) -> None:
        """``program``: what runs instead of ``python -m gittask`` (``args`` follow it)."""
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        full_env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TERM": "xterm",
            "COLUMNS": str(columns),
            "PAGER": "cat",  # a test that wants a pager says which
            **(env or {}),
        }

        def controlling_terminal() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [*(program or [sys.executable, "-m", "gittask"]), *args],
            cwd=cwd,
            stdin=slave,
            stdout=stdout if stdout is not None else slave,
            stderr=slave,
            env=full_env,
            start_new_session=True,
            preexec_fn=controlling_terminal,
        )
        os.close(slave)
        self.seen = ""

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: every writer closed
            return False
        if not data:
            return False
        self.seen += data.decode("utf-8", errors="replace").replace("\r\n", "\n")
        return True

    def expect(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.5)) and self.proc.poll() is not None):
                if text in self.seen:
                    break
                raise AssertionError(f"{text!r} never appeared; the terminal shows:\n{self.seen}")
        return self.seen

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.2)
            code = self.proc.poll()
            if code is not None:
                while self._read(0.1):
                    pass
                os.close(self.master)
                return code
        self.proc.kill()
        os.close(self.master)
        raise AssertionError(f"the command did not end; the terminal shows:\n{self.seen}")
