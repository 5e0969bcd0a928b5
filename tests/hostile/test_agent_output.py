"""A hostile agent printing without end fills neither the disk nor the terminal.

The threat: an agent printed 100 MB and the run wrote 96 MB of logs to the host,
and showed all of it live. Now the run's log keeps its head and its tail
(``logs.run_max_bytes``, 20 MiB by default) with a line marking the cut, the
logs stored in git are cut the same way (``logs.max_bytes``), and the live view
stops after ``logs.live_max_bytes`` and shows the last lines at the end.
"""

from __future__ import annotations

import gzip
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gittask.runner.logs import RunLogs, Scrubber
from gittask.runner.outputcap import HeadTail, LiveView
from gittask.runner.stream_json import LineDecoder
from gittask.store import runlogs
from gittask.workflow.tasklogs import cap_file
from tests.run_support import Project, build_image, docker_available, git

MiB = 1024 * 1024
HUNDRED_MB = 100_000_000


# -- the parts, without Docker ---------------------------------------------------------------


def _stream(path: Path, limit: int, lines: int, width: int = 100) -> bytes:
    with path.open("wb") as handle:
        capped = HeadTail(handle, limit)
        for number in range(lines):
            capped.write(b"line %08d " % number + b"x" * (width - 15) + b"\n")
        capped.close()
    return path.read_bytes()


def test_the_log_file_keeps_head_and_tail_and_marks_the_cut(tmp_path: Path) -> None:
    data = _stream(tmp_path / "out.log", 64 * 1024, 10_000)  # 1 MB through a 64 KiB cap
    assert len(data) <= 64 * 1024
    text = data.decode()
    assert text.startswith("line 00000000 ")
    assert text.endswith("line 00009999 " + "x" * 85 + "\n")
    assert "the middle is cut" in text
    assert "bytes of the agent's output were cut here, 1000000 in all" in text
    for line in text.splitlines():  # whole lines only
        assert line.startswith(("line ", "[claude-container: ")) and len(line) <= 200
    # a short output is kept whole, with no mark
    short = _stream(tmp_path / "short.log", 64 * 1024, 10)
    assert short.count(b"\n") == 10 and b"claude-container" not in short


def test_one_endless_line_is_cut_too(tmp_path: Path) -> None:
    with (tmp_path / "out.log").open("wb") as handle:
        capped = HeadTail(handle, 8192)
        capped.write(b"START")
        for _ in range(1000):
            capped.write(b"y" * 1000)
        capped.write(b"END")
        capped.close()
    data = (tmp_path / "out.log").read_bytes()
    assert len(data) <= 8192 and data.startswith(b"START") and data.endswith(b"yEND")
    assert data.count(b"[claude-container: ") == 2


def test_run_logs_cap_the_agent_output_and_still_mask_secrets(tmp_path: Path) -> None:
    secret = "sk-hostile-" + "Z" * 30
    logs = RunLogs(tmp_path / "logs", 1, Scrubber([secret]), max_bytes=16 * 1024)
    for number in range(2000):
        logs.agent_output(f"{number} key={secret}\n".encode())
    logs.close()
    data = (logs.folder / "claude_output.log").read_bytes()
    assert len(data) <= 16 * 1024 and secret.encode() not in data
    assert data.startswith(b"0 key=***\n") and data.endswith(b"1999 key=***\n")


def test_the_stored_copy_keeps_head_and_tail(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_bytes(b"".join(b"%06d\n" % n for n in range(100_000)))
    capped = cap_file(log, 10_000, Scrubber([]), {})
    assert capped is not None and capped.truncated and len(capped.data) <= 10_000
    text = capped.data.decode()
    assert text.startswith("000000\n") and text.endswith("099999\n")
    assert "[claude-container: log truncated: " in text and "below: its end]" in text


def test_the_live_view_is_bounded_and_ends_with_the_last_lines() -> None:
    shown: list[str] = []
    view = LiveView(shown.append, 10_000, "`task logs ID`")
    for number in range(100_000):
        view.line(f"line {number}")
    view.line("z" * 100_000)  # one huge line
    view.line("the very end")
    view.finish()
    assert sum(len(x) + 1 for x in shown) < 10_000 + 25 * 2100
    assert shown[0] == "line 0" and shown[-1] == "the very end"
    assert any("the live view stops here" in x and "`task logs ID`" in x for x in shown)
    assert any("lines not shown" in x for x in shown)
    assert len(shown[-2]) < 2100  # the huge line, clipped
    assert "line 99999" in shown


def test_a_line_without_end_does_not_fill_the_memory() -> None:
    decoder = LineDecoder(max_line=1000)
    for _ in range(1000):
        assert decoder.feed(b"q" * 1000) == []
    (line,) = decoder.feed(b"\nnext\n")[:1]
    assert line.startswith("q" * 1000) and "999000 more characters not kept" in line
    assert decoder.flush() == []


# -- a real container printing 100 MB ----------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    if not docker_available():
        pytest.skip("no Docker engine")
    proj = Project(tmp_path / "p", build_image()).setup()
    yield proj
    assert proj.containers() == [], "a container was left behind"


def test_an_agent_printing_100_mb(project: Project) -> None:
    """The host log is at most logs.run_max_bytes (20 MiB), the log stored in git at
    most logs.max_bytes (5 MiB), each with its head, its tail and the mark; the
    terminal gets about logs.live_max_bytes (1 MiB), not 100 MB."""
    project.configure(
        agent="command",
        agent_command=(
            "echo FIRST-LINE-OF-OUTPUT; "
            f"yes 'flood flood flood flood flood flood flood flood' | head -c {HUNDRED_MB}; "
            "echo; echo LAST-LINE-OF-OUTPUT; echo done > done.txt"
        ),
        timeout_seconds=600,
    )
    proc = project.cli("task", "create", "-m", "Print a lot", timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    task_id = proc.stdout.strip().splitlines()[-1]
    # the terminal: bounded, with the start, the mark and the end
    assert len(proc.stdout.encode()) < MiB + 64 * 1024
    assert proc.stdout.startswith("FIRST-LINE-OF-OUTPUT\n")
    assert "the live view stops here" in proc.stdout
    assert "LAST-LINE-OF-OUTPUT" in proc.stdout.splitlines()[-3:]
    # the host log: bounded, head, mark, tail
    host = (project.logs_root(task_id) / "run-001" / "claude_output.log").read_bytes()
    assert len(host) <= 20 * MiB
    assert host.startswith(b"FIRST-LINE-OF-OUTPUT\n")
    assert host.endswith(b"LAST-LINE-OF-OUTPUT\n")
    assert b"the middle is cut" in host
    assert f"{HUNDRED_MB + 42} in all".encode() in host  # every byte counted
    # the log stored in git (what other clones get): bounded the same way
    ref = runlogs.logs_ref(task_id)
    stored = subprocess.run(
        ["git", "show", f"{ref}:run-001/{runlogs.AGENT_LOG}.gz"],
        cwd=project.work,
        capture_output=True,
        check=True,
    ).stdout
    kept = gzip.decompress(stored)
    assert len(kept) <= 5 * MiB
    assert kept.startswith(b"FIRST-LINE-OF-OUTPUT\n") and kept.endswith(b"LAST-LINE-OF-OUTPUT\n")
    assert b"[claude-container: log truncated: " in kept
    assert (
        "the agent's output passed logs.run_max_bytes"
        in (project.logs_root(task_id) / "run-001" / "execution.log").read_text()
    )
    assert git(project.work, "show", f"{project.show(task_id)['commit_hash']}:done.txt") == "done"
