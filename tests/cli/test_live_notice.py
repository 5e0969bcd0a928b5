"""Knowing what a run does without watching it: the heartbeat of the live view while the
agent is silent, the notification when a detached run ends, and edits refused while
a task runs. Real Docker, git, origin and the scripted agent (tests/docker_image).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pty_support import Terminal
from tests.run_support import Project, build_image, docker_available

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine")

TOOL_IMAGE = "gittask-test-agent-tool-first:latest"
#: A Bash tool call in Claude's stream-json, printed before the scripted agent starts.
TOOL_EVENT = (
    '{"type":"assistant","message":{"id":"msg_tool","type":"message","role":"assistant",'
    '"content":[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":'
    '"make test"}}]},"session_id":"s"}'
)


@pytest.fixture(scope="session")
def image() -> str:
    return build_image()


@pytest.fixture(scope="session")
def tool_image(image: str) -> str:
    """The test image whose ``claude`` first reports a Bash tool call, then runs the
    scripted one (which goes silent on AGENT:SLEEP=N)."""
    wrapper = (
        f"#!/bin/sh\nprintf '%s\\n' '{TOOL_EVENT}'\nexec /usr/local/bin/claude-scripted \"$@\"\n"
    )
    with tempfile.TemporaryDirectory() as ctx:
        (Path(ctx) / "claude").write_text(wrapper, encoding="utf-8")
        (Path(ctx) / "Dockerfile").write_text(
            f"FROM {image}\nUSER 0\n"
            "RUN mv /usr/local/bin/claude /usr/local/bin/claude-scripted\n"
            "COPY claude /usr/local/bin/claude\nRUN chmod 0755 /usr/local/bin/claude\n"
            "USER 1000:1000\n",
            encoding="utf-8",
        )
        subprocess.run(
            ["docker", "build", "-q", "-t", TOOL_IMAGE, ctx], check=True, capture_output=True
        )
    return TOOL_IMAGE


@pytest.fixture
def project(tmp_path: Path, image: str) -> Iterator[Project]:
    proj = Project(tmp_path / "p", image).setup()
    yield proj
    assert proj.containers() == [], "a container was left behind"
    assert proj.leftovers() == [], "a worktree, run folder or marker was left behind"


# -- the heartbeat ----------------------------------------------------------------------


def test_a_silent_agent_gets_a_heartbeat_on_stderr(project: Project, tool_image: str) -> None:
    project.configure(image=tool_image, heartbeat_seconds=1)
    proc = project.cli("task", "create", "--json", "-m", "Think hard AGENT:SLEEP=4")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)  # stdout is the record alone: no heartbeat in it
    short = record["id"][:8]
    beats = [line for line in proc.stderr.splitlines() if "still working" in line]
    assert len(beats) >= 2, proc.stderr
    assert all(b.startswith(f"claude-container: task {short} still working: ") for b in beats)
    # (a slow container start may make a first one before the agent printed anything)
    assert any(
        b.endswith(" elapsed, silent for 1s; last tool call: → Bash: make test") for b in beats
    ), beats
    # the default (30 s) says nothing in a short run; 0 switches it off
    project.configure(image=tool_image, heartbeat_seconds=0)
    quiet = project.cli("task", "create", "-m", "Think again AGENT:SLEEP=3")
    assert quiet.returncode == 0, quiet.stderr
    assert "still working" not in quiet.stderr + quiet.stdout


def test_logs_follow_has_the_heartbeat_too(project: Project) -> None:
    project.configure(heartbeat_seconds=1)
    started = project.cli("task", "create", "--detach", "-m", "Quiet work AGENT:SLEEP=5")
    assert started.returncode == 0, started.stderr
    task_id = started.stdout.strip()
    follow = project.cli("task", "logs", task_id, "--follow", timeout=90)
    assert follow.returncode == 0, follow.stderr
    assert "Thinking for 5s" in follow.stdout and "still working" not in follow.stdout
    beats = [line for line in follow.stderr.splitlines() if "still working" in line]
    assert beats and "last tool call: none yet" in beats[0], follow.stderr
    wait_for_end(project, task_id)


# -- the end of a detached run ------------------------------------------------------------


def fake_notifier(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A notify-send that records its arguments, one per line; the env that finds it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "notify-calls"
    script = bin_dir / "notify-send"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> {calls}\necho --- >> {calls}\n')
    script.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "DISPLAY": ":99"}
    return env, calls


def wait_for_end(project: Project, task_id: str, timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = project.show(task_id)
        marker = project.state / "runs" / f"{task_id}.json"
        if record["status"] != "running" and not marker.exists():
            time.sleep(0.5)  # the background process tells the user, then exits
            return record
        time.sleep(0.3)
    raise AssertionError(f"the run of {task_id} did not end")


def wait_for_file(path: Path, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().endswith("---\n"):
            return path.read_text()
        time.sleep(0.2)
    raise AssertionError(f"{path} was never written")


def test_a_detached_run_ends_with_a_desktop_notification(project: Project, tmp_path: Path) -> None:
    env, calls = fake_notifier(tmp_path)
    done = project.cli("task", "create", "--detach", "-m", "Tell me <when> done", env=env)
    assert done.returncode == 0, done.stderr
    task_id = done.stdout.strip()
    args = wait_for_file(calls).split("\n")
    assert "--app-name=claude-container" in args and "--urgency=normal" in args
    assert f"claude-container: task {task_id[:8]} done" in args
    branch = project.show(task_id)["branch_name"]
    assert f"Tell me &lt;when&gt; done\n{branch}" in "\n".join(args)  # markup stays text
    wait_for_end(project, task_id)
    calls.unlink()
    failed = project.cli("task", "create", "--detach", "-m", "Crash AGENT:FAIL", env=env)
    task_id = failed.stdout.strip()
    args = wait_for_file(calls).split("\n")
    assert f"claude-container: task {task_id[:8]} failed" in args
    assert "--urgency=critical" in args
    wait_for_end(project, task_id)
    # notify none (or bell): no desktop notification; nor without a display
    calls.unlink()
    project.configure(notify="bell")
    quiet = project.cli("task", "create", "--detach", "-m", "Silently", env=env)
    wait_for_end(project, quiet.stdout.strip())
    project.configure(notify="both")
    headless = {**env, "DISPLAY": "", "WAYLAND_DISPLAY": "", "DBUS_SESSION_BUS_ADDRESS": ""}
    no_display = project.cli("task", "create", "--detach", "-m", "Headless", env=headless)
    wait_for_end(project, no_display.stdout.strip())
    assert not calls.exists()


def read_until(term: Terminal, wanted: bytes, timeout: float = 90) -> bytes:
    """The pty's output until ``wanted`` arrives, while the command that started the run
    has exited (the background run reopens the terminal to write to it)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([term.master], [], [], 0.2)
        if not ready:
            continue
        try:
            seen += os.read(term.master, 4096)
        except OSError:  # EIO: no writer has the terminal open right now
            time.sleep(0.2)
    return seen


def test_the_bell_rings_on_the_terminal_the_run_was_started_from(project: Project) -> None:
    project.configure(notify="bell")
    term = Terminal(
        project.work,
        "task",
        "create",
        "--detach",
        "-m",
        "Ring when done AGENT:SLEEP=2",
        env=project.full_env(None),
    )
    term.expect("is running in the background")
    assert term.proc.wait(timeout=60) == 0
    assert "\a" not in term.seen  # not while it runs
    after = read_until(term, b"\a")
    os.close(term.master)
    # what the command printed last (its id), then the BEL byte alone: nothing is
    # drawn over what the user does meanwhile
    text = (term.seen + after.decode()).replace("\r\n", "\n")
    assert text.endswith("\n\a") and text.count("\a") == 1
    task_id = text[:-1].split()[-1]
    assert len(task_id) == 32
    record = wait_for_end(project, task_id)
    assert record["status"] == "created"
    detached_log = (project.state / "runs" / f"{task_id}.detached.log").read_text()
    ended = detached_log.index(f"task {task_id[:8]} is done: branch")
    assert detached_log.index("notified: bell on /dev/pts/") > ended  # once it ended


# -- edits wait for the run ------------------------------------------------------------------


def test_edit_is_refused_while_the_task_runs(project: Project) -> None:
    started = project.cli("task", "create", "--detach", "-m", "Busy AGENT:SLEEP=60")
    assert started.returncode == 0, started.stderr
    task_id = started.stdout.strip()
    project.wait_for_marker("running")
    refused = project.cli("task", "edit", task_id, "-m", "Something else")
    assert refused.returncode == 1
    assert f"task {task_id[:8]} is running (run 1, pid" in refused.stderr
    assert "nothing was changed" in refused.stderr and f"task stop {task_id[:8]}" in refused.stderr
    editor = project.cli("task", "edit", task_id, env={"EDITOR": "false"})
    assert editor.returncode == 1 and "is running" in editor.stderr  # before the editor opens
    assert project.cli("task", "stop", task_id).returncode == 0
    assert project.show(task_id)["title"] == "Busy AGENT:SLEEP=60"
    after = project.cli("task", "edit", task_id, "-m", "Calmer now")
    assert after.returncode == 0, after.stderr
    assert project.show(task_id)["title"] == "Calmer now"
