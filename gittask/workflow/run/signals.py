"""SIGINT/SIGTERM/SIGHUP during a run: when they interrupt, and when they only wait."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from gittask.runner.watch import RunInterrupted


class SignalGuard:
    """Turns SIGINT/SIGTERM/SIGHUP into ``RunInterrupted`` in the main thread.

    Three modes: ``raise`` (the default) raises ``RunInterrupted`` wherever the
    main thread is; ``defer`` (:meth:`defer`, :meth:`deferred`) only remembers
    the signal in ``received``, which the caller checks when the step is done
    (:meth:`check` raises it then); ``ignore`` (final cleanup) only remembers.
    At most one ``RunInterrupted`` is ever raised.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.received: str | None = None
        self._mode = "raise"
        self._raised = False
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        self.received = self.received or name
        if self._mode == "raise" and not self._raised:
            self._raised = True
            raise RunInterrupted(self.received)

    def check(self) -> None:
        """Raise ``RunInterrupted`` for a signal remembered and not raised yet."""
        if self.received is not None and not self._raised:
            self._raised = True
            raise RunInterrupted(self.received)

    def defer(self) -> None:
        """From now on a signal is only remembered (until :meth:`allow`)."""
        if self._mode != "ignore":
            self._mode = "defer"

    def allow(self) -> None:
        """Back to raising; a signal remembered meanwhile is raised now."""
        if self._mode != "ignore":
            self._mode = "raise"
            self.check()

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self.SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                self._old[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, old in self._old.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, old)
        self._old.clear()

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Signals inside the block are only remembered (see ``received``)."""
        previous, self._mode = self._mode, "defer"
        try:
            yield
        finally:
            if self._mode == "defer":
                self._mode = previous

    def ignore(self) -> None:
        self._mode = "ignore"
