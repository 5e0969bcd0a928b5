"""The product's parser on output recorded from the real CLI (tests/fixtures/claude-real).

Re-record with ``python -m tests.record_claude_fixtures``.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest

from gittask.runner.agents.base import AgentOutcome
from gittask.runner.agents.claude import ClaudeAgent, ClaudeOutput
from gittask.runner.agents.claude_transcript import ClaudeTranscript
from gittask.runner.stream_json import StreamDecoder
from tests.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "claude-real"
EXIT_CODES: dict[str, int] = json.loads((FIXTURES / "exit_codes.json").read_text())


def decode(name: str, seed: int = 0) -> tuple[ClaudeOutput, list[str]]:
    """Feed the fixture to the product's decoder in random chunks, as docker logs would."""
    data = (FIXTURES / f"{name}.jsonl").read_bytes()
    rng = random.Random(seed)
    output = ClaudeAgent().new_output()
    shown: list[str] = []
    start = 0
    while start < len(data):
        end = start + rng.randint(1, 300)
        shown += output.feed(data[start:end])
        start = end
    return output, shown + output.flush()


def outcome(
    name: str, exit_code: int | None = None
) -> tuple[AgentOutcome, ClaudeOutput, list[str]]:
    output, shown = decode(name)
    code = EXIT_CODES[name] if exit_code is None else exit_code
    return ClaudeAgent().outcome(code, output), output, shown


def result_line(name: str) -> dict[str, Any]:
    lines = (FIXTURES / f"{name}.jsonl").read_text().splitlines()
    result: dict[str, Any] = json.loads(lines[-1])
    assert result["type"] == "result"
    return result


def test_every_recording_decodes_the_same_whatever_the_chunks() -> None:
    for name in EXIT_CODES:
        whole = decode(name, seed=1)[1]
        assert all(not line.lstrip().startswith("{") for line in whole), name
        for seed in range(2, 6):
            assert decode(name, seed)[1] == whole, name


def test_text_and_tool_use_of_one_message_count_once() -> None:
    result, _, shown = outcome("tool_and_text_in_one_message")
    assert result.success and result.summary == "Done: hello.py prints hi."
    assert result.cost_usd == result_line("tool_and_text_in_one_message")["total_cost_usd"]
    assert (result.input_tokens, result.output_tokens, result.num_turns) == (250, 50, 2)
    assert "→ Write hello.py" in shown and shown[-1].startswith("✓ done in 2 turns")
    # without the result line, tokens come from the assistant lines, by message id
    data = (FIXTURES / "tool_and_text_in_one_message.jsonl").read_bytes()
    partial = ClaudeTranscript()
    partial.consume_all(StreamDecoder().feed(data[: data.rindex(b'{"')]))
    events = [json.loads(line) for line in data.splitlines()]
    ids = [e["message"]["id"] for e in events if e["type"] == "assistant"]
    assert len(ids) > len(set(ids))  # two lines share one message id
    assert partial.input_tokens == 100 + 150  # not 100 + 100 + 150
    assert partial.cache_read_tokens == 40 and partial.cache_creation_tokens == 10


def test_a_resumed_run_costs_its_share_not_the_session_total() -> None:
    result, output, _ = outcome("resumed")
    printed = result_line("resumed")
    assert result.success and result.summary == "second run done"
    share = sum(m["costUSD"] for m in printed["model_usage_since_last_result"].values())
    assert result.cost_usd == pytest.approx(share)
    assert output.transcript.session_cost_usd == printed["total_cost_usd"]
    assert 0 < result.cost_usd < printed["total_cost_usd"]
    assert (result.input_tokens, result.num_turns) == (2000, 2)  # this run's, not cumulative


def test_api_retries_are_progress_lines_and_the_run_succeeds() -> None:
    result, output, shown = outcome("overloaded_then_success")
    assert result.success and result.summary == "made it"
    assert [line for line in shown if line.startswith("…")] == [
        line for line in shown if line.startswith("… API error 529 (overloaded), retry ")
    ]
    assert [r.attempt for r in output.transcript.retries] == [1, 2]
    assert {r.max_retries for r in output.transcript.retries} == {3}


@pytest.mark.parametrize("exit_code", [1, 0])
def test_a_rejected_key_fails_with_a_hint_even_with_exit_code_0(exit_code: int) -> None:
    result, output, _ = outcome("bad_key", exit_code)
    transcript = output.transcript
    assert transcript.subtype == "success" and transcript.is_error
    assert transcript.api_error_status == 401 and transcript.terminal_reason == "api_error"
    assert not result.success
    assert result.error_message == (
        "Claude reported an error after 1 turn: Invalid API key · Fix external API key "
        "(the API refused the credentials: check ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN)"
    )


def test_exhausted_rate_limit_retries_say_when_to_come_back() -> None:
    result, _, shown = outcome("rate_limited")
    assert not result.success and result.error_message is not None
    assert result.error_message.endswith(
        "(rate limited by the API after 1 retry; try again later (it asked to wait about 2s))"
    )
    assert "Request rejected (429)" in result.error_message
    assert shown[-1].startswith("✗ error after 1 turn")


def test_an_unreachable_api_points_at_the_network() -> None:
    result, output, _ = outcome("unreachable")
    assert output.transcript.api_error == "connection_failed"
    assert result.error_message == (
        "Claude reported an error after 1 turn: API Error: Connection refused — a firewall "
        "or proxy may be blocking it (ECONNREFUSED) (the API could not be reached after 1 "
        "retry: check the container's network (config key network) and ANTHROPIC_BASE_URL)"
    )


def test_denied_tool_calls_become_warnings() -> None:
    result, output, shown = outcome("permission_denied")
    assert result.success
    assert result.warnings == ["Claude was denied 1 tool call: Bash: curl http://127.0.0.1:9/x"]
    assert output.transcript.permission_denials == ["Bash: curl http://127.0.0.1:9/x"]
    assert any("has been denied" in line for line in shown)  # the failed tool result


def test_a_run_that_changes_nothing_keeps_the_final_text() -> None:
    result, _, _ = outcome("nothing_changed")
    assert result.success and result.warnings == []
    assert result.summary == "Nothing to do: the README already says it all."


def test_a_timeout_while_retrying_says_the_api_was_failing() -> None:
    data = (FIXTURES / "rate_limited.jsonl").read_bytes()
    output = ClaudeAgent().new_output()
    output.feed(data[: data.index(b'{"type":"assistant"')])  # killed during the retries
    output.flush()
    result = ClaudeAgent().outcome(None, output, stopped="timeout")
    assert result.error_message is not None
    assert re.fullmatch(
        r"agent timed out and was stopped while retrying the API "
        r"\(API error 429 \(rate_limit\), retry 1/1 in 2\.\ds\)",
        result.error_message,
    )
