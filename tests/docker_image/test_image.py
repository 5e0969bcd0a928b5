"""The busybox test image and its scripted agent, run for real in Docker.

Each test runs the agent's own argv/environment in a locked-down container
(non-root, no network, no capabilities) with a temporary folder mounted at
/workspace and the prompt mounted read-only, streams the output through the
agent's decoder and judges it with the agent's outcome rules.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import DockerException

from gittask.runner.agents import get_agent
from gittask.runner.agents.base import (
    DEFAULT_PROMPT_FILE,
    AgentOutcome,
    AgentRun,
    AgentSettings,
    StopReason,
)
from tests.docker_image.build import CONTENT_LABEL, TEST_IMAGE_TAG, build_test_image

# Run as the invoking user, or as uid 1000 when the suite runs as root.
USER = "1000:1000" if os.getuid() == 0 else f"{os.getuid()}:{os.getgid()}"
LABEL = "gittask.tests.test_image"
NOT_A_SECRET = "dummy-value-" + os.urandom(6).hex()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    try:
        docker_client = docker.from_env()
        docker_client.ping()
    except DockerException as exc:  # the Docker tests are not optional
        pytest.fail(f"a Docker engine is needed for this test: {exc}")
    yield docker_client
    for container in docker_client.containers.list(all=True, filters={"label": LABEL}):
        container.remove(force=True)
    docker_client.close()


@pytest.fixture(scope="module")
def image(client: Any) -> str:
    return build_test_image(TEST_IMAGE_TAG, client=client)


@dataclass
class Ran:
    outcome: AgentOutcome
    lines: list[str]
    raw: bytes
    exit_code: int | None
    workspace: Path
    seconds: float
    events: list[dict[str, Any]] = field(default_factory=list)


def run_agent(
    client: Any,
    image: str,
    tmp_path: Path,
    prompt: str,
    *,
    agent_name: str = "claude",
    settings: AgentSettings | None = None,
    resume: str | None = None,
    env: dict[str, str] | None = None,
    user: str = USER,
    stop_after_result: float | None = None,
    stop_after_seconds: float | None = None,
) -> Ran:
    agent = get_agent(agent_name)
    settings = settings or AgentSettings()
    workspace = tmp_path / "workspace"
    workspace.mkdir(exist_ok=True)
    workspace.chmod(0o777)
    prompt_dir = tmp_path / "prompt"
    prompt_dir.mkdir(exist_ok=True)
    (prompt_dir / "prompt.md").write_text(prompt, encoding="utf-8")
    run = AgentRun(task_id="t" * 32, branch="claude/test", resume_session_id=resume)
    assert run.prompt_file == DEFAULT_PROMPT_FILE
    container = client.containers.run(
        image,
        agent.argv(settings, run),
        detach=True,
        user=user,
        working_dir="/workspace",
        environment={**agent.environment(settings, run), **(env or {})},
        volumes={
            str(workspace): {"bind": "/workspace", "mode": "rw"},
            str(prompt_dir): {"bind": str(Path(DEFAULT_PROMPT_FILE).parent), "mode": "ro"},
        },
        network_mode="none",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        pids_limit=64,
        mem_limit="256m",
        labels={LABEL: "1"},
    )
    started = time.monotonic()
    output = agent.new_output()
    lines: list[str] = []
    raw = b""
    stopped: StopReason | None = None
    interrupter: threading.Timer | None = None
    if stop_after_seconds is not None:
        # as a Ctrl-C in the run loop would: SIGTERM, SIGKILL after 10 s
        interrupter = threading.Timer(stop_after_seconds, container.stop, kwargs={"timeout": 10})
        interrupter.start()
    try:
        for chunk in container.logs(stream=True, follow=True):
            raw += chunk
            lines += output.feed(chunk)
            if stop_after_result is not None and output.finished and stopped is None:
                time.sleep(stop_after_result)  # the grace period
                container.reload()
                if container.status == "running":
                    container.kill()
                    stopped = "after_result"
        lines += output.flush()
        exit_code = container.wait(timeout=60)["StatusCode"]
        if interrupter is not None:
            interrupter.join()
            stopped = "interrupted"
    finally:
        if interrupter is not None:
            interrupter.cancel()
        container.remove(force=True)
    events = [json.loads(line) for line in raw.decode().splitlines() if line.startswith("{")]
    return Ran(
        outcome=agent.outcome(exit_code, output, stopped=stopped),
        lines=lines,
        raw=raw,
        exit_code=exit_code,
        workspace=workspace,
        seconds=time.monotonic() - started,
        events=events,
    )


def test_the_image_is_built_once_and_labelled(client: Any, image: str) -> None:
    built = client.images.get(TEST_IMAGE_TAG)
    assert built.id == image and CONTENT_LABEL in built.labels
    assert build_test_image(TEST_IMAGE_TAG, client=client) == image  # cached: same image
    assert built.attrs["Config"]["User"] == "1000:1000"
    assert built.attrs["Config"]["WorkingDir"] == "/workspace"


def test_a_successful_run_edits_the_workspace_and_reports_in_stream_json(
    client: Any, image: str, tmp_path: Path
) -> None:
    ran = run_agent(client, image, tmp_path, "# Task: Add a greeting\n\nSay hello.\n")
    assert ran.exit_code == 0
    assert ran.outcome.success, ran.outcome.error_message
    notes = ran.workspace / "agent_notes.md"
    assert notes.read_text(encoding="utf-8") == "- # Task: Add a greeting\n"
    assert notes.stat().st_uid == int(USER.split(":")[0])  # written as the container user
    assert re.fullmatch(r"[0-9a-f-]{36}", ran.outcome.session_id or "")
    assert ran.outcome.cost_usd == pytest.approx(0.0123)
    assert (ran.outcome.input_tokens, ran.outcome.output_tokens) == (12, 345)
    assert ran.outcome.num_turns == 3
    assert ran.outcome.summary == "Recorded the task in agent_notes.md."
    assert "→ Write agent_notes.md" in ran.lines
    assert ran.lines[-1].startswith("✓ done in 3 turns")
    kinds = [e["type"] for e in ran.events]
    assert kinds == ["system", "assistant", "assistant", "user", "assistant", "result"]
    init = ran.events[0]
    assert init["cwd"] == "/workspace" and init["resumed_from"] is None
    assert init["argv"][:5] == [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
    ]


def test_resume_and_settings_reach_the_agent(client: Any, image: str, tmp_path: Path) -> None:
    first = run_agent(client, image, tmp_path, "First run")
    session = first.outcome.session_id
    assert session
    second = run_agent(
        client,
        image,
        tmp_path,
        "Second run",
        resume=session,
        settings=AgentSettings(model="opus", max_turns=7, append_system_prompt="Be 'brief' \"ok\""),
    )
    assert second.outcome.success
    init = second.events[0]
    assert init["resumed_from"] == session and init["model"] == "opus"
    argv = init["argv"]
    assert argv[argv.index("--resume") + 1] == session
    assert argv[argv.index("--max-turns") + 1] == "7"
    assert argv[argv.index("--append-system-prompt") + 1] == "Be 'brief' \"ok\""
    assert any(f"--resume {session}" in line for line in second.lines)
    assert second.outcome.session_id not in (None, session)  # a resumed run reports a new id
    assert "→ Edit agent_notes.md" in second.lines
    notes = (second.workspace / "agent_notes.md").read_text(encoding="utf-8")
    assert notes == "- First run\n- Second run\n"


@pytest.mark.parametrize(
    ("prompt", "exit_code", "message"),
    [
        ("Break AGENT:FAIL", 3, "agent exited with code 3: fake-claude: simulated crash"),
        ("Oops AGENT:IS_ERROR", 1, "Claude reported an error after 1 turn: API Error: 500"),
        (
            "Loop AGENT:MAX_TURNS",
            1,
            "Claude reported error_max_turns after 1 turn: Reached maximum number of turns (5)",
        ),
        ("Quiet AGENT:NO_RESULT", 0, "agent produced no result event"),
    ],
)
def test_failures_are_reported_precisely(
    client: Any, image: str, tmp_path: Path, prompt: str, exit_code: int, message: str
) -> None:
    ran = run_agent(client, image, tmp_path, prompt, settings=AgentSettings(max_turns=5))
    assert ran.exit_code == exit_code
    assert not ran.outcome.success
    assert (ran.outcome.error_message or "").startswith(message), ran.outcome.error_message
    assert not (ran.workspace / "agent_notes.md").exists()


def test_a_run_that_changes_nothing_still_succeeds(client: Any, image: str, tmp_path: Path) -> None:
    ran = run_agent(client, image, tmp_path, "Check only AGENT:NOCHANGE")
    assert ran.outcome.success and ran.outcome.summary == "Nothing needed to change."
    assert list(ran.workspace.iterdir()) == []  # deciding "no change" is the caller's job


def test_credentials_reach_the_agent_but_never_its_output(
    client: Any, image: str, tmp_path: Path
) -> None:
    agent = get_agent("claude")
    passed = run_agent(
        client,
        image,
        tmp_path,
        "Show env AGENT:ENV",
        env={"ANTHROPIC_API_KEY": NOT_A_SECRET} | agent.environment(AgentSettings(), RUN_IDS),
    )
    assert "ANTHROPIC_API_KEY is set; CLAUDE_CODE_OAUTH_TOKEN is not set" in "\n".join(passed.lines)
    assert NOT_A_SECRET.encode() not in passed.raw
    missing = run_agent(client, image, tmp_path, "Show env AGENT:ENV")
    assert "ANTHROPIC_API_KEY is not set" in "\n".join(missing.lines)


RUN_IDS = AgentRun(task_id="t" * 32, branch="claude/test")


def test_a_hang_after_the_result_is_cut_short_and_still_succeeds(
    client: Any, image: str, tmp_path: Path
) -> None:
    ran = run_agent(
        client, image, tmp_path, "Finish then hang AGENT:HANG_AFTER_RESULT", stop_after_result=0.5
    )
    assert ran.exit_code == 137  # killed by us
    assert ran.outcome.success, ran.outcome.error_message
    assert ran.seconds < 20
    assert (ran.workspace / "agent_notes.md").exists()


def test_a_stop_interrupts_a_sleeping_agent_promptly(
    client: Any, image: str, tmp_path: Path
) -> None:
    ran = run_agent(client, image, tmp_path, "Slow AGENT:SLEEP=60", stop_after_seconds=0.5)
    assert ran.exit_code == 143  # it handled SIGTERM, as node would
    assert ran.seconds < 8  # not the 10 s of a SIGKILL fallback, nor the 60 s sleep
    assert not ran.outcome.success
    assert ran.outcome.error_message == "agent run was interrupted"
    assert any("Thinking for 60s" in line for line in ran.lines)  # streamed before the stop


def test_a_short_sleep_finishes(client: Any, image: str, tmp_path: Path) -> None:
    ran = run_agent(client, image, tmp_path, "Take your time AGENT:SLEEP=1")
    assert ran.outcome.success and ran.seconds >= 1


def test_prompt_text_is_data_not_shell(client: Any, image: str, tmp_path: Path) -> None:
    first_line = 'Fix "quotes" \\ back\tslash $(touch /workspace/pwned) `id` 日本 🚀'
    ran = run_agent(client, image, tmp_path, first_line + "\nmore\n")
    assert ran.outcome.success, ran.lines
    assert all(isinstance(e, dict) for e in ran.events)  # every line stayed valid JSON
    assert ran.events[1]["message"]["content"][0]["text"] == f"Working on: {first_line}"
    notes = (ran.workspace / "agent_notes.md").read_text(encoding="utf-8")
    assert notes == f"- {first_line}\n"
    assert not (ran.workspace / "pwned").exists()


def test_like_the_real_cli_it_refuses_root(client: Any, image: str, tmp_path: Path) -> None:
    ran = run_agent(client, image, tmp_path, "As root", user="0:0")
    assert ran.exit_code == 1
    assert ran.outcome.error_message == (
        "agent exited with code 1: --dangerously-skip-permissions cannot be used with "
        "root/sudo privileges for security reasons"
    )


def test_the_command_agent_runs_the_fake_agent(client: Any, image: str, tmp_path: Path) -> None:
    settings = AgentSettings(
        command='echo "task=$TASK_ID branch=$TASK_BRANCH prompt=$TASK_PROMPT_FILE"; fake-agent'
    )
    ran = run_agent(client, image, tmp_path, "Tidy up\n", agent_name="command", settings=settings)
    assert ran.outcome.success, ran.lines
    assert ran.lines[0] == f"task={'t' * 32} branch=claude/test prompt={DEFAULT_PROMPT_FILE}"
    assert "fake-agent: starting task " + "t" * 32 + " on claude/test" in ran.lines
    assert "fake-agent: Write /workspace/agent_notes.md" in ran.lines
    assert (ran.outcome.summary or "").endswith("Recorded the task in agent_notes.md.")
    assert (ran.workspace / "agent_notes.md").read_text(encoding="utf-8") == "- Tidy up\n"
    failed = run_agent(
        client, image, tmp_path, "x AGENT:FAIL", agent_name="command", settings=settings
    )
    assert failed.exit_code == 3
    # stdout and stderr are separate streams: either of the last two lines may come last
    assert failed.outcome.error_message in {
        "agent exited with code 3: fake-claude: simulated crash",
        "agent exited with code 3: Something went wrong, giving up.",
    }


def test_no_container_is_left_behind(client: Any) -> None:
    assert client.containers.list(all=True, filters={"label": LABEL}) == []
