"""The agent layer on recorded real-format Claude Code output (tests/fixtures/claude)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gittask.runner.agents import get_agent
from gittask.runner.agents.base import AgentOutcome, AgentRun, AgentSettings
from gittask.runner.dockerfile import default_dockerfile, validate_dockerfile
from gittask.runner.stream_json import ClaudeTranscript, StreamDecoder

FIXTURES = Path(__file__).parent / "fixtures" / "claude"
RUN = AgentRun(task_id="0123456789abcdef0123456789abcdef", branch="claude/x")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def decode(data: bytes, cuts: list[int]) -> list[object]:
    decoder = StreamDecoder()
    items: list[object] = []
    start = 0
    for cut in [*cuts, len(data)]:
        items += decoder.feed(data[start:cut])
        start = cut
    return items + decoder.flush()


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.jsonl")))
def test_any_chunking_gives_the_same_events(name: str) -> None:
    data = fixture(name)
    whole = decode(data, [])
    for cut in range(1, len(data)):  # every byte boundary, including inside UTF-8
        assert decode(data, [cut]) == whole, cut
    assert decode(data, list(range(1, len(data)))) == whole  # one byte at a time


def test_non_json_lines_and_multibyte_text_survive() -> None:
    items = decode(fixture("noisy_multibyte.jsonl"), [])
    assert items[0] == "npm WARN deprecated something@1.0.0: not JSON at all"
    assert '{"type": "truncated' in items
    texts = [i for i in items if isinstance(i, dict) and i.get("type") == "assistant"]
    assert "日本語のテキスト 🚀" in texts[0]["message"]["content"][0]["text"]
    transcript = ClaudeTranscript()
    transcript.consume_all(items)  # type: ignore[arg-type]
    assert transcript.non_json_lines == 2 and transcript.succeeded


def outcome(name: str, exit_code: int | None = 0) -> tuple[AgentOutcome, list[str]]:
    agent = get_agent("claude")
    output = agent.new_output()
    lines = output.feed(fixture(name)) + output.flush()
    return agent.outcome(exit_code, output), lines


def test_successful_run_is_read_fully() -> None:
    result, lines = outcome("success_with_tools.jsonl")
    assert result.success and result.error_message is None
    assert result.session_id == "4f1c2d9e-8b7a-4c3d-9e2f-1a2b3c4d5e6f"
    assert result.cost_usd == pytest.approx(0.0831)
    assert (result.input_tokens, result.output_tokens, result.num_turns) == (1203, 2187, 7)
    assert result.summary == "Added email validation to `signup` and a test for it."
    assert "→ Edit src/signup.py" in lines
    assert "→ Bash: python -m pytest -q tests/test_signup.py" in lines
    assert lines[-1] == "✓ done in 7 turns, 41.2s, $0.0831"
    assert not any(line.lstrip().startswith("{") for line in lines)  # readable, not raw JSON


def test_a_zero_exit_is_not_enough() -> None:
    result, _ = outcome("error_max_turns.jsonl")
    assert not result.success
    assert result.error_message == "Claude reported error_max_turns after 31 turns"
    api, lines = outcome("api_error.jsonl")
    assert not api.success
    assert "Invalid API key" in api.error_message
    assert lines[-1].startswith("✗")


def test_exit_code_and_missing_result() -> None:
    failed, _ = outcome("success_with_tools.jsonl", exit_code=1)
    assert not failed.success and "exited with code 1" in failed.error_message
    agent = get_agent("claude")
    output = agent.new_output()
    output.feed(fixture("success_with_tools.jsonl").split(b'{"type":"result"')[0])
    output.flush()
    cut = agent.outcome(0, output)
    assert not cut.success and cut.error_message == "agent produced no result event"
    killed = agent.outcome(137, output)
    assert killed.error_message is not None and "137" in killed.error_message


def test_old_cost_field_is_read() -> None:
    result, _ = outcome("old_cost_field.jsonl")
    assert result.success and result.cost_usd == pytest.approx(0.0042)


def test_claude_command_line() -> None:
    claude = get_agent("claude")
    plain = claude.argv(AgentSettings(), RUN)
    assert plain[-6:] == [
        "claude",
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
    ]
    assert "/run/gittask/prompt.md" in plain  # prompt on stdin, from the mounted file
    full = claude.argv(
        AgentSettings(model="opus", max_turns=5, max_budget_usd=1.5),
        AgentRun(task_id=RUN.task_id, branch=RUN.branch, resume_session_id="abc-123"),
    )
    tail = full[full.index("claude") :]
    for flag, value in (("--model", "opus"), ("--max-turns", "5"), ("--max-budget-usd", "1.5")):
        assert tail[tail.index(flag) + 1] == value
    assert tail[-2:] == ["--resume", "abc-123"]
    with pytest.raises(ValueError):
        claude.argv(
            AgentSettings(), AgentRun(task_id="t", branch="b", resume_session_id="; rm -rf /")
        )


def test_claude_credentials_are_checked_before_a_run() -> None:
    claude = get_agent("claude")
    problem = claude.check(AgentSettings(), {})
    assert (
        problem is not None
        and "ANTHROPIC_API_KEY" in problem
        and "CLAUDE_CODE_OAUTH_TOKEN" in problem
    )
    assert claude.check(AgentSettings(), {"ANTHROPIC_API_KEY": "x"}) is None
    assert claude.check(AgentSettings(), {"CLAUDE_CODE_OAUTH_TOKEN": "y"}) is None
    assert set(claude.credential_names(AgentSettings())) >= {
        "ANTHROPIC_API_KEY",
        "CLAUDE_CODE_OAUTH_TOKEN",
    }
    env = claude.environment(AgentSettings(), RUN)
    assert not any("KEY" in k or "TOKEN" in k for k in env)  # never a secret


def test_command_agent() -> None:
    command = get_agent("command")
    argv = command.argv(AgentSettings(command="aider --yes"), RUN)
    assert argv[-3:] == ["sh", "-c", "aider --yes"] and "/run/gittask/prompt.md" in argv
    env = command.environment(AgentSettings(command="aider"), RUN)
    assert env == {
        "TASK_ID": RUN.task_id,
        "TASK_BRANCH": "claude/x",
        "TASK_PROMPT_FILE": "/run/gittask/prompt.md",
    }
    assert command.check(AgentSettings(), {}) is not None  # no command configured
    output = command.new_output()
    lines = output.feed(b"working\nd\xc3") + output.feed(b"\xa9j\xc3\xa0 vu\n") + output.flush()
    assert lines == ["working", "déjà vu"]
    assert command.outcome(0, output).success
    failed = command.outcome(2, output)
    assert not failed.success and "2" in (failed.error_message or "")


def test_unknown_agent() -> None:
    with pytest.raises(ValueError, match="valid agents are claude, command"):
        get_agent("nope")


def test_generated_dockerfile_is_valid_pinned_and_secret_free() -> None:
    text = default_dockerfile(1234, 1234)
    assert validate_dockerfile(text) == []
    assert "@anthropic-ai/claude-code@" in text and "FROM node:" in text
    assert "WORKDIR /workspace" in text
    assert "ANTHROPIC_API_KEY" not in text
    assert validate_dockerfile(text + "\nUSER root\n") != []
    assert validate_dockerfile(text.replace("WORKDIR /workspace", "WORKDIR /src")) != []
    assert (
        validate_dockerfile(text + "\nENV ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijklmnop\n") != []
    )
    assert validate_dockerfile("RUN true\n") != []
