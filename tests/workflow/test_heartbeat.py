"""The heartbeat's cadence and words, and where a desktop notification can be shown
(the runs that use them are in tests/cli/test_live_notice.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gittask.workflow.heartbeat import Heartbeat, duration
from gittask.workflow.notify import desktop_command, ring_bell


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_durations_read_as_people_say_them() -> None:
    assert [duration(s) for s in (0, 45, 60, 250, 3599, 3600, 7325)] == [
        "0s",
        "45s",
        "1m 00s",
        "4m 10s",
        "59m 59s",
        "1h 00m",
        "2h 02m",
    ]


def test_one_line_per_interval_of_silence_with_the_last_tool_call() -> None:
    clock, said = Clock(), []
    beat = Heartbeat("3f2a9c1e" + "0" * 24, 30, said.append, clock=clock)
    beat.saw("→ Bash: pytest -q")
    beat.saw("Running the tests.")  # text is output, not a tool call
    for _ in range(29):
        clock.now += 1
        assert not beat.tick()
    clock.now += 1
    assert beat.tick() and not beat.tick()  # once per interval
    assert said == [
        "task 3f2a9c1e still working: 30s elapsed, silent for 30s; "
        "last tool call: → Bash: pytest -q"
    ]
    clock.now += 30
    assert beat.tick() and "silent for 1m 00s" in said[-1]
    beat.saw("→ Edit \x1b[31msrc/app.py")  # output resets the silence; escapes are text
    clock.now += 29
    assert not beat.tick()
    clock.now += 1
    assert beat.tick() and said[-1].endswith("last tool call: → Edit \\x1b[31msrc/app.py")


def test_zero_means_never() -> None:
    clock, said = Clock(), []
    beat = Heartbeat("a" * 32, 0, said.append, clock=clock)
    clock.now += 10_000
    assert not beat.tick() and said == []


@pytest.mark.skipif(sys.platform == "darwin", reason="osascript there")
def test_a_desktop_notification_needs_notify_send_and_a_session(tmp_path: Path) -> None:
    notify_send = tmp_path / "notify-send"
    notify_send.write_text("#!/bin/sh\n")
    notify_send.chmod(0o755)
    with_display = {"PATH": str(tmp_path), "DISPLAY": ":0"}
    command = desktop_command("summary", "body", failed=True, env=with_display)
    assert command == [
        str(notify_send),
        "--app-name=claude-container",
        "--urgency=critical",
        "summary",
        "body",
    ]
    assert desktop_command("s", "b", False, env={"PATH": str(tmp_path)}) is None  # no display
    wayland = {"PATH": str(tmp_path), "WAYLAND_DISPLAY": "wayland-0"}
    assert desktop_command("s", "b", False, env=wayland) is not None
    assert desktop_command("s", "b", False, env={"PATH": "/nonexistent", "DISPLAY": ":0"}) is None


def test_the_bell_is_one_byte_and_a_closed_terminal_is_no_error(tmp_path: Path) -> None:
    import pty

    master, slave = pty.openpty()
    try:
        assert ring_bell(os.ttyname(slave))
        assert os.read(master, 10) == b"\a"
    finally:
        os.close(slave)
        os.close(master)
    assert not ring_bell(str(tmp_path / "gone"))
