"""Following a running container: its output, the time limits, and Ctrl-C.

Works with any :class:`~gittask.runner.engine.Engine`: the engine's output is
read in a thread, the limits are kept here, in the main thread, which a signal
can interrupt (see :class:`gittask.workflow.run.signals.SignalGuard`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gittask.errors import GittaskError
from gittask.runner.agents.base import StopReason
from gittask.runner.engine import Engine
from gittask.text import first_line


class RunInterrupted(Exception):
    """Raised in the main thread by SIGINT/SIGTERM/SIGHUP during a run."""

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@dataclass(frozen=True)
class Limits:
    timeout: float  # wall clock, seconds
    silence: float  # no output for this long
    grace: float  # after the agent reported its final result


@dataclass(frozen=True)
class StreamResult:
    exit_code: int | None
    stopped: StopReason | None
    duration: float


def watch(
    engine: Engine,
    container_id: str,
    on_chunk: Callable[[bytes], None],
    finished: Callable[[], bool],
    limits: Limits,
    on_stop: Callable[[StopReason], None] | None = None,
    on_idle: Callable[[], object] | None = None,
) -> StreamResult:
    """Pass the container's output to ``on_chunk`` until it exits or must be stopped.

    Stops (kills) it when the wall-clock ``timeout`` passes, when it prints
    nothing for ``silence`` seconds, or ``grace`` seconds after ``finished()``
    turned true while it keeps running. An interrupt (``RunInterrupted`` or
    ``KeyboardInterrupt``) kills it and is re-raised. ``on_idle`` is called about
    every quarter second without output (the heartbeat of the live view).
    """
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue()

    def reader() -> None:
        try:
            for chunk in engine.output(container_id):
                chunks.put(chunk)
        except BaseException as exc:  # handed to the main thread
            chunks.put(exc)
        finally:
            chunks.put(None)

    begun = time.monotonic()
    last_output = begun
    finished_at: float | None = None
    stopped: StopReason | None = None
    thread = threading.Thread(target=reader, name="container-output", daemon=True)
    thread.start()
    try:
        while True:
            if stopped is None:
                stopped = _over_a_limit(limits, begun, last_output, finished_at)
                if stopped is not None:
                    if on_stop is not None:
                        on_stop(stopped)
                    engine.stop(container_id)
            try:
                item = chunks.get(timeout=0.25)
            except queue.Empty:
                if on_idle is not None:
                    on_idle()
                continue
            if item is None:
                break
            if isinstance(item, BaseException):
                if stopped is None:
                    raise GittaskError(f"lost the container's output: {first_line(item)}")
                break
            last_output = time.monotonic()
            on_chunk(item)
            if finished_at is None and finished():
                finished_at = last_output
    except (RunInterrupted, KeyboardInterrupt):
        engine.stop(container_id)
        raise
    exit_code = engine.wait(container_id)
    return StreamResult(exit_code, stopped, time.monotonic() - begun)


def _over_a_limit(
    limits: Limits, begun: float, last_output: float, finished_at: float | None
) -> StopReason | None:
    now = time.monotonic()
    if now - begun >= limits.timeout:
        return "timeout"
    if now - last_output >= limits.silence:
        return "idle"
    if finished_at is not None and now - finished_at >= limits.grace:
        return "after_result"
    return None
