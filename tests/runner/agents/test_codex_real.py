"""The real Codex CLI (pinned release) on the host, against the scripted Responses API.

Each test scripts what the model answers, runs the real ``codex`` with the
product's argv and environment (see ``tests/codex_host.py``), and checks what a
user would: the files in the repository, the outcome the product derives from
the JSON events (success, tokens, turns, final text, errors and hints), the live
lines it shows, and what the CLI sent to the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gittask.errors import GittaskError
from gittask.runner.agents.base import AgentSettings
from gittask.runner.npm_package import CODEX, agent_binary
from tests.codex_host import SCRIPTED_MODEL, HostCodex
from tests.conftest import git, init_repo
from tests.fake_openai import FakeOpenAI, Usage, apply_patch, shell, text, write
from tests.fake_openai.fixture import TEST_OPENAI_KEY
from tests.real_image import CACHE_DIR

#: The Codex release these tests drive (the product's default pin).
CODEX_TEST_VERSION = "0.171.0"


@pytest.fixture(scope="session")
def codex_bin() -> Path:
    try:
        return agent_binary(CODEX, CODEX_TEST_VERSION, cache=Path(CACHE_DIR))
    except GittaskError as exc:
        pytest.fail(f"the real Codex CLI is needed for these tests: {exc}")


@pytest.fixture
def codex(codex_bin: Path, fake_openai: FakeOpenAI, tmp_path: Path) -> Iterator[HostCodex]:
    repo = init_repo(tmp_path / "work")
    yield HostCodex(codex_bin, fake_openai, repo, tmp_path / "codex-home", TEST_OPENAI_KEY)


def assert_all_requests_scripted(server: FakeOpenAI) -> None:
    """Every request reached this server: one refused WebSocket, then scripted POSTs."""
    assert server.requests, "the CLI sent nothing"
    assert server.requests[0].reply == "websocket refused"
    for request in server.requests[1:]:
        assert (request.method, request.path) == ("POST", "/v1/responses"), request
        assert request.body["stream"] is True and request.model == SCRIPTED_MODEL


def test_the_model_writes_a_file_runs_git_status_and_the_outcome_comes_from_the_events(
    codex: HostCodex, fake_openai: FakeOpenAI
) -> None:
    fake_openai.turn(text("Writing hello.py."), write("hello.py", "print('hi')\n"))
    fake_openai.turn(shell("git status --short"), usage=Usage(150, 30))
    fake_openai.turn(text("Done: hello.py prints hi."))
    run = codex.run("Write hello.py that prints hi")

    assert (codex.workdir / "hello.py").read_text() == "print('hi')\n"
    outcome = run.outcome
    assert outcome.success and outcome.error_message is None, run.shown
    assert outcome.summary == "Done: hello.py prints hi."
    assert outcome.cost_usd is None  # Codex reports tokens, never a price
    assert (outcome.input_tokens, outcome.output_tokens) == (100 + 150 + 100, 20 + 30 + 20)
    assert outcome.num_turns == 3 == len(fake_openai.response_requests)
    assert outcome.session_id == run.events[0]["thread_id"]
    assert run.events[-1]["type"] == "turn.completed"
    # the live view shows the calls as they happen, then the verdict
    assert f"● Codex · session {outcome.session_id}" in run.shown
    assert "→ apply_patch: add hello.py" in run.shown
    assert "→ shell: git status --short" in run.shown
    assert run.shown[-1] == "✓ done in 3 turns, 350 in / 70 out tokens"
    # the tool outputs went back to the model; the cwd is the repository
    last = fake_openai.response_requests[-1]
    assert "?? hello.py" in last.tool_outputs()[-1]
    assert last.cwd == str(codex.workdir)
    assert last.headers["authorization"] == "<masked>"  # OPENAI_API_KEY became CODEX_API_KEY
    assert_all_requests_scripted(fake_openai)
    assert fake_openai.remaining == 0


def test_a_resumed_session_sends_the_earlier_turns_and_counts_only_its_tokens(
    codex: HostCodex, fake_openai: FakeOpenAI
) -> None:
    fake_openai.turn(write("one.py", "1\n")).turn(text("first run done"))
    first = codex.run("write one.py")
    assert first.outcome.success, first.shown
    assert codex.codex_home.joinpath("sessions").is_dir()
    patch = "*** Begin Patch\n*** Update File: one.py\n@@\n-1\n+1\n+2\n*** End Patch\n"
    fake_openai.turn(apply_patch(patch), usage=Usage(1000, 200))
    fake_openai.turn(text("second run done"), usage=Usage(1000, 200))
    second = codex.run("now add 2", resume=first.outcome.session_id)

    assert second.outcome.success, second.shown
    assert second.outcome.session_id == first.outcome.session_id
    assert (codex.workdir / "one.py").read_text() == "1\n2\n"
    resumed = fake_openai.response_requests[2]
    assert resumed.session_id == first.outcome.session_id
    assert "first run done" in resumed.texts("assistant")
    assert resumed.texts("user")[-1] == "now add 2"
    assert [c["name"] for c in resumed.tool_calls()] == ["apply_patch"]  # the first run's
    # the CLI prints the thread's running total; the product keeps this run's share
    assert second.output.transcript.usage["input_tokens"] == 200 + 2000
    assert (second.outcome.input_tokens, second.outcome.output_tokens) == (2000, 400)
    assert second.outcome.num_turns == 2
    assert "→ apply_patch: update one.py" in second.shown


def test_a_rejected_key_fails_with_the_api_message_and_a_key_hint(
    codex: HostCodex, fake_openai: FakeOpenAI
) -> None:
    run = codex.run("hi", key_name="CODEX_API_KEY", api_key="sk-proj-wrong-key-0000")

    outcome = run.outcome
    assert not outcome.success and run.exit_code == 1
    assert outcome.error_message is not None
    assert outcome.error_message.startswith("Codex reported an error: unexpected status 401")
    assert "Incorrect API key provided" in outcome.error_message
    assert "check CODEX_API_KEY or OPENAI_API_KEY" in outcome.error_message
    assert "sk-proj-wrong-key-0000" not in outcome.error_message  # the API masks it
    # Codex retries a 401 five times (not configurable for its built-in provider)
    assert [r.reply for r in fake_openai.requests] == ["websocket refused"] + ["bad key"] * 6
    retries = [line for line in run.shown if line.startswith("… Reconnecting...")]
    assert len(retries) == 5 and "5/5" in retries[-1]
    assert run.shown[-1].startswith("✗ failed: unexpected status 401")
    assert outcome.session_id is not None and outcome.num_turns == 0


def test_a_model_that_changes_nothing_succeeds_with_its_final_text(
    codex: HostCodex, fake_openai: FakeOpenAI
) -> None:
    fake_openai.turn(shell("cat README.md"))
    fake_openai.turn(text("The README is already fine; nothing to change."))
    run = codex.run("Fix the README if needed")

    assert run.outcome.success, run.shown
    assert run.outcome.summary == "The README is already fine; nothing to change."
    assert git(codex.workdir, "status", "--short") == ""
    assert "# sample" in fake_openai.response_requests[-1].tool_outputs()[-1]


def test_a_failing_command_is_shown_with_its_exit_code(
    codex: HostCodex, fake_openai: FakeOpenAI
) -> None:
    fake_openai.turn(shell("ls does-not-exist"))
    fake_openai.turn(text("That file is missing."))
    run = codex.run("list it")

    assert run.outcome.success, run.shown
    failed = [line for line in run.shown if line.startswith("  ✗ exit 2")]
    assert failed and "does-not-exist" in failed[0]


def test_settings_codex_cannot_honour_are_refused_before_a_run(codex: HostCodex) -> None:
    with pytest.raises(ValueError, match="max_budget_usd: the Codex CLI has no spending limit"):
        codex.run("hi", settings=AgentSettings(max_budget_usd=1.0))
    with pytest.raises(ValueError, match="max_turns: the Codex CLI has no turn limit"):
        codex.run("hi", settings=AgentSettings(max_turns=3))


def test_an_unknown_session_fails_with_codex_own_words(
    codex: HostCodex, fake_openai: FakeOpenAI
) -> None:
    run = codex.run("again", resume="01a23462-0000-7000-8000-000000000000")

    assert not run.outcome.success and run.exit_code == 1
    assert run.outcome.error_message is not None
    assert "no rollout found for thread id" in run.outcome.error_message
    assert fake_openai.requests == []
