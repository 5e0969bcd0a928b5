"""The real Claude Code CLI (pinned release) on the host, against the scripted API server.

Each test scripts what the model answers, runs the real ``claude`` with the
product's argv and environment (see ``tests/claude_host.py``), and checks what a
user would: the files in the repository, the outcome the product derives from
the stream (success, cost, turns, final text, errors and hints), the live lines
it shows, and what the CLI sent to the API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from gittask.runner.agents.base import AgentSettings
from tests.agent_binaries import CLAUDE_CODE_TEST_VERSION, AgentBinaryUnavailable, claude_binary
from tests.claude_host import HostClaude, closed_port_url
from tests.conftest import git, init_repo
from tests.fake_anthropic import FakeAnthropic, Usage, bash, edit, read, text, tool, write
from tests.fake_anthropic.fixture import TEST_API_KEY


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    try:
        return claude_binary()
    except AgentBinaryUnavailable as exc:
        pytest.fail(f"the real Claude Code CLI is needed for these tests: {exc}")


@pytest.fixture
def claude(claude_bin: Path, fake_anthropic: FakeAnthropic, tmp_path: Path) -> Iterator[HostClaude]:
    repo = init_repo(tmp_path / "work")
    yield HostClaude(claude_bin, fake_anthropic, repo, tmp_path / "claude-config", TEST_API_KEY)


def assert_all_requests_scripted(server: FakeAnthropic) -> None:
    """Every request the CLI made reached this server and was a scripted Messages call."""
    assert server.requests, "the CLI sent nothing"
    for request in server.requests:
        assert (request.method, request.path, request.query) == (
            "POST",
            "/v1/messages",
            {"beta": "true"},
        ), request
        assert request.body["stream"] is True


def test_the_model_writes_a_file_and_the_outcome_comes_from_the_result_line(
    claude: HostClaude, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.turn(text("Writing hello.py."), write("{cwd}/hello.py", "print('hi')\n"))
    fake_anthropic.turn(text("Done: hello.py prints hi."), usage=Usage(150, 30, 10, 40))
    run = claude.run("Write hello.py that prints hi")

    assert (claude.workdir / "hello.py").read_text() == "print('hi')\n"
    outcome = run.outcome
    assert outcome.success and outcome.error_message is None, run.shown
    assert outcome.summary == "Done: hello.py prints hi."
    result = run.events[-1]
    assert result["type"] == "result" and result["subtype"] == "success"
    assert outcome.cost_usd == pytest.approx(result["total_cost_usd"]) and outcome.cost_usd > 0
    assert outcome.num_turns == result["num_turns"] == 2
    assert (outcome.input_tokens, outcome.output_tokens) == (100 + 150, 20 + 30)
    assert outcome.session_id == run.events[0]["session_id"]
    assert run.output.transcript.claude_code_version == CLAUDE_CODE_TEST_VERSION
    # one API message with text + tool_use is printed as two assistant lines
    assistant_ids = [e["message"]["id"] for e in run.events if e["type"] == "assistant"]
    assert len(assistant_ids) == 3 and len(set(assistant_ids)) == 2
    # the live view shows the tool call as it happens, then the verdict
    assert "→ Write hello.py" in run.shown  # relative to the cwd of the init line
    assert run.shown[-1].startswith("✓ done in 2 turns")
    # the tool result went back to the model; nothing left the scripted server
    second = fake_anthropic.message_requests[1]
    assert "File created successfully" in str(second.tool_results()[0]["content"])
    assert second.cwd == str(claude.workdir)
    assert_all_requests_scripted(fake_anthropic)
    assert fake_anthropic.remaining == 0


def test_edit_then_git_status_through_bash(
    claude: HostClaude, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.turn(read("{cwd}/README.md"))
    fake_anthropic.turn(edit("{cwd}/README.md", "# sample", "# sample, edited"))
    fake_anthropic.turn(bash("git status --short"))
    fake_anthropic.turn(text("Edited the README."))
    run = claude.run("Edit the README title")

    assert run.outcome.success, run.shown
    assert (claude.workdir / "README.md").read_text() == "# sample, edited\n"
    assert git(claude.workdir, "status", "--short") == "M README.md"
    status_result = fake_anthropic.message_requests[3].tool_results()[0]
    assert "M README.md" in str(status_result["content"])
    assert "→ Edit README.md" in run.shown and "→ Bash: git status --short" in run.shown


def test_a_resumed_session_sends_the_earlier_turns_and_costs_only_its_share(
    claude: HostClaude, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.turn(write("{cwd}/one.py", "1\n")).turn(text("first run done"))
    first = claude.run("write one.py")
    assert first.outcome.success, first.shown
    fake_anthropic.turn(write("{cwd}/two.py", "2\n"), usage=Usage(1000, 200)).turn(
        text("second run done"), usage=Usage(1000, 200)
    )
    second = claude.run("now write two.py", resume=first.outcome.session_id)

    assert second.outcome.success, second.shown
    assert second.outcome.session_id == first.outcome.session_id
    assert (claude.workdir / "two.py").is_file()
    resumed = fake_anthropic.message_requests[2]
    assert resumed.session_id == first.outcome.session_id
    assert "first run done" in resumed.texts("assistant")
    assert resumed.texts("user")[-1] == "now write two.py"
    assert [u["name"] for u in resumed.tool_uses()] == ["Write"]  # the first run's call
    # the CLI prints the session's cumulative cost; the product keeps this run's share
    transcript = second.output.transcript
    assert transcript.session_cost_usd == pytest.approx(
        first.outcome.cost_usd + second.outcome.cost_usd
    )
    assert second.outcome.cost_usd > first.outcome.cost_usd > 0  # more tokens this time
    assert (second.outcome.input_tokens, second.outcome.output_tokens) == (2000, 400)
    assert second.outcome.num_turns == 2


def test_an_overloaded_api_is_retried_and_the_retries_are_shown(
    claude: HostClaude, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.error(529, times=2).turn(text("made it"))
    run = claude.run("say something")  # the product's default: CLAUDE_CODE_MAX_RETRIES=3

    assert run.outcome.success and run.outcome.summary == "made it", run.shown
    retries = [line for line in run.shown if line.startswith("… API error 529")]
    assert len(retries) == 2
    assert "retry 1/3" in retries[0] and "retry 2/3" in retries[1]
    assert [r.reply for r in fake_anthropic.requests] == ["error 529", "error 529", "turn 2"]


def test_a_rejected_key_fails_with_the_api_message_and_a_key_hint(
    claude: HostClaude, fake_anthropic: FakeAnthropic
) -> None:
    run = claude.run("hi", api_key="sk-ant-wrong", settings=AgentSettings(max_retries=1))

    outcome = run.outcome
    assert not outcome.success and run.exit_code == 1
    transcript = run.output.transcript
    assert transcript.subtype == "success" and transcript.is_error  # a "successful" failure
    assert outcome.error_message is not None
    assert "Invalid API key" in outcome.error_message
    assert "check ANTHROPIC_API_KEY" in outcome.error_message
    assert [r.reply for r in fake_anthropic.requests] == ["bad key", "bad key"]
    assert all(r.headers["x-api-key"] == "<masked>" for r in fake_anthropic.requests)


def test_exhausted_rate_limit_retries_fail_with_a_retry_time(
    claude: HostClaude, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.error(429, times=2, retry_after=2)
    run = claude.run("hi", settings=AgentSettings(max_retries=1))

    message = run.outcome.error_message
    assert not run.outcome.success and message is not None
    assert "Request rejected (429)" in message
    assert "rate limited by the API after 1 retry" in message
    assert re.search(r"\(it asked to wait about [23]s\)", message)  # retry-after 2, jittered
    assert run.outcome.cost_usd == 0
    assert any(line.startswith("… API error 429 (rate_limit), retry 1/1") for line in run.shown)


def test_an_unreachable_api_fails_fast_with_a_network_hint(
    claude: HostClaude, fake_anthropic: FakeAnthropic
) -> None:
    run = claude.run("hi", base_url=closed_port_url(), settings=AgentSettings(max_retries=1))

    message = run.outcome.error_message
    assert not run.outcome.success and message is not None
    assert "Connection refused" in message
    assert "the API could not be reached after 1 retry: check the container's network" in message
    assert fake_anthropic.requests == []


def test_denied_tool_calls_are_surfaced(claude: HostClaude, fake_anthropic: FakeAnthropic) -> None:
    settings = claude.workdir / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"permissions": {"deny": ["Bash(curl:*)"]}}\n')
    fake_anthropic.turn(bash("curl http://127.0.0.1:9/x")).turn(text("could not fetch it"))
    run = claude.run("fetch x")

    assert run.outcome.success, run.shown  # the run itself went fine
    assert run.outcome.warnings == [
        "Claude was denied 1 tool call: Bash: curl http://127.0.0.1:9/x"
    ]
    assert run.output.transcript.permission_denials == ["Bash: curl http://127.0.0.1:9/x"]
    denied = fake_anthropic.message_requests[1].tool_results()[0]
    assert denied["is_error"] is True


def test_a_model_that_changes_nothing_leaves_its_final_text(
    claude: HostClaude, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.turn(text("Nothing to do: the README already says it all."))
    run = claude.run("Improve the README if needed")

    assert run.outcome.success
    assert run.outcome.summary == "Nothing to do: the README already says it all."
    assert git(claude.workdir, "status", "--porcelain") == ""


def test_a_model_can_be_scripted_to_leak_the_key_it_was_given(
    claude: HostClaude, fake_anthropic: FakeAnthropic
) -> None:
    """The server fills {api_key}: the run pipeline's leak check has something to catch."""
    fake_anthropic.turn(tool("Write", file_path="{cwd}/notes.txt", content="key: {api_key}\n"))
    fake_anthropic.turn(text("saved"))
    run = claude.run("save your notes")

    assert run.outcome.success, run.shown
    assert (claude.workdir / "notes.txt").read_text() == f"key: {TEST_API_KEY}\n"


def test_an_api_that_never_answers_is_a_timeout(
    claude: HostClaude, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.hang()
    run = claude.run("hi", timeout=4)

    assert not run.outcome.success
    assert run.outcome.error_message == "agent timed out and was stopped"
    assert [r.reply for r in fake_anthropic.requests] == ["hang"]
