"""The agent layer on recorded real-format Claude Code output (tests/fixtures/claude)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from gittask.runner.agents import AGENT_NAMES, ClaudeAgent, credentials_for, get_agent
from gittask.runner.agents.base import (
    DEFAULT_PROMPT_FILE,
    AgentOutcome,
    AgentOutput,
    AgentRun,
    AgentSettings,
    stdin_from_file,
)
from gittask.runner.agents.claude_transcript import ClaudeTranscript
from gittask.runner.dockerfile import default_dockerfile, validate_dockerfile
from gittask.runner.stream_json import StreamDecoder
from tests.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "claude"
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
    assert "Invalid API key" in (api.error_message or "")
    assert lines[-1].startswith("✗")


def test_exit_code_and_missing_result() -> None:
    failed, _ = outcome("success_with_tools.jsonl", exit_code=1)
    assert not failed.success and "exited with code 1" in (failed.error_message or "")
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
    # a dead API fails after a few retries, not after the CLI's ten; only the API is called
    assert env["CLAUDE_CODE_MAX_RETRIES"] == "3"
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert claude.environment(AgentSettings(max_retries=0), RUN)["CLAUDE_CODE_MAX_RETRIES"] == "0"
    assert "max_retries" in (
        claude.check(AgentSettings(max_retries=-1), {"ANTHROPIC_API_KEY": "x"}) or ""
    )


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
    with pytest.raises(ValueError, match="valid agents are claude, codex, command"):
        get_agent("nope")


def test_generated_dockerfile_is_valid_pinned_and_secret_free() -> None:
    text = default_dockerfile(1234, 1234)
    assert validate_dockerfile(text) == []
    assert "@anthropic-ai/claude-code@" in text and "ARG BASE_IMAGE=node:" in text
    assert "WORKDIR /workspace" in text
    assert "ANTHROPIC_API_KEY" not in text
    assert validate_dockerfile(text + "\nUSER root\n") != []
    assert validate_dockerfile(text.replace("WORKDIR /workspace", "WORKDIR /src")) != []
    assert (
        validate_dockerfile(text + "\nENV ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijklmnop\n") != []
    )
    assert validate_dockerfile("RUN true\n") != []


# -- more outcome rules, on the newer-format fixtures ------------------------------------


def test_error_results_carry_their_reason() -> None:
    max_turns, _ = outcome("error_max_turns_errors.jsonl", exit_code=1)
    assert max_turns.error_message == (
        "Claude reported error_max_turns after 31 turns: Reached maximum number of turns (30)"
    )
    assert max_turns.cost_usd == pytest.approx(1.44179975) and max_turns.num_turns == 31
    assert max_turns.session_id == "8b2d4f6a-1c3e-4a5b-9d7f-0e2c4a6b8d1f"  # resumable
    overloaded, _ = outcome("api_error_overloaded.jsonl", exit_code=1)
    assert (overloaded.error_message or "").startswith(
        "Claude reported an error after 1 turn: API Error: 529"
    )
    old, _ = outcome("old_cost_usd.jsonl")
    assert old.success and old.cost_usd == pytest.approx(0.04207815)
    multibyte, lines = outcome("non_json_multibyte.jsonl")
    assert multibyte.success
    assert multibyte.summary == "Terminé : docs/ÜBERSICHT.md créé ✅ (東京 😀)"
    assert lines[0].startswith("(node:1) Warning")


def test_who_stopped_the_container_decides() -> None:
    agent = get_agent("claude")
    output = agent.new_output()
    output.feed(fixture("success.jsonl"))
    output.flush()
    assert output.finished
    # it hung after its result and was stopped: the result counts, not the 137
    assert agent.outcome(137, output, stopped="after_result").success
    assert agent.outcome(None, output, stopped="after_result").success
    # a result followed by a non-zero exit the caller did not cause is suspicious
    odd = agent.outcome(1, output)
    assert odd.error_message == "agent exited with code 1 after reporting success"
    for stopped, words in (
        ("timeout", "timed out"),
        ("idle", "stopped producing output"),
        ("interrupted", "interrupted"),
    ):
        result = agent.outcome(137, output, stopped=stopped)  # type: ignore[arg-type]
        assert not result.success and words in (result.error_message or "")
        assert result.session_id and result.cost_usd  # still recorded
    failed = agent.new_output()
    failed.feed(fixture("error_max_turns.jsonl"))
    failed.flush()
    stuck = agent.outcome(137, failed, stopped="after_result")
    assert stuck.error_message == "Claude reported error_max_turns after 31 turns"
    silent = agent.new_output()
    assert not silent.finished
    assert agent.outcome(137, silent, stopped="after_result").error_message == (
        "agent did not exit after its final result and was stopped"
    )
    assert agent.outcome(None, silent).error_message == "agent exit status unknown"


def test_a_refusal_to_start_is_reported_with_its_reason() -> None:
    agent = get_agent("claude")
    output = agent.new_output()
    lines = output.feed(
        b"Error: When using --print, --output-format=stream-json requires --verbose\n"
    )
    lines += output.flush()
    assert lines == ["Error: When using --print, --output-format=stream-json requires --verbose"]
    result = agent.outcome(1, output)
    assert result.error_message == (
        "agent exited with code 1: Error: When using --print, "
        "--output-format=stream-json requires --verbose"
    )
    assert result.session_id is None and result.cost_usd is None


def test_outputs_are_not_interchangeable() -> None:
    claude, command = get_agent("claude"), get_agent("command")
    with pytest.raises(TypeError):
        claude.outcome(0, command.new_output())
    with pytest.raises(TypeError):
        command.outcome(0, claude.new_output())
    assert isinstance(claude.new_output(), AgentOutput)
    assert isinstance(command.new_output(), AgentOutput)


# -- command lines that really run -------------------------------------------------------


def test_the_argv_runs_under_a_real_shell_without_quoting_trouble(tmp_path: Path) -> None:
    prompt = tmp_path / 'it\'s a "prompt" $(touch pwned) `x`.md'
    prompt.write_text("first line\nsecond $HOME line\n", encoding="utf-8")
    argv = stdin_from_file(str(prompt), ["sh", "-c", 'cat; printf "%s|" "$@"', "me", "a b", "$c"])
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, check=True)
    assert done.stdout == "first line\nsecond $HOME line\na b|$c|"
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(ValueError):
        stdin_from_file("relative/prompt.md", ["true"])
    with pytest.raises(ValueError):
        stdin_from_file("/p", [])


def test_the_command_agent_gets_its_prompt_on_stdin_and_in_a_file(tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Do it\nnow\n", encoding="utf-8")
    agent = get_agent("command")
    settings = AgentSettings(
        command='read -r first; echo "stdin:$first"; head -n 1 "$TASK_PROMPT_FILE"; echo "$TASK_ID"'
    )
    run = AgentRun(task_id="t1", branch="claude/t1", prompt_file=str(prompt))
    done = subprocess.run(
        agent.argv(settings, run),
        env={**os.environ, **agent.environment(settings, run)},
        capture_output=True,
        check=True,
    )
    output = agent.new_output()
    lines = output.feed(done.stdout) + output.flush()
    assert lines == ["stdin:Do it", "Do it", "t1"]
    assert agent.outcome(0, output).summary == "stdin:Do it\nDo it\nt1"


def test_claude_command_line_details() -> None:
    claude = ClaudeAgent()
    args = claude.cli_args(
        AgentSettings(max_budget_usd=2, append_system_prompt='Use "pytest"; never `rm`'), RUN
    )
    assert args[args.index("--max-budget-usd") + 1] == "2"
    assert args[args.index("--append-system-prompt") + 1] == 'Use "pytest"; never `rm`'
    assert "--resume" not in args and "--model" not in args and "--max-turns" not in args
    assert claude.cli_args(AgentSettings(max_budget_usd=0.125), RUN)[-1] == "0.125"
    for bad in (AgentSettings(max_turns=0), AgentSettings(max_budget_usd=-1)):
        problem = claude.check(bad, {"ANTHROPIC_API_KEY": "x"})
        assert problem is not None
        with pytest.raises(ValueError):
            claude.argv(bad, RUN)
    for session in ("-rf", "a b", "", "x" * 200):
        if session:
            with pytest.raises(ValueError):
                claude.argv(AgentSettings(), replace(RUN, resume_session_id=session))


def test_credentials_are_only_passed_when_set() -> None:
    claude = get_agent("claude")
    settings = AgentSettings(pass_env=("EXTRA_TOKEN",))
    host = {"ANTHROPIC_API_KEY": "", "CLAUDE_CODE_OAUTH_TOKEN": "tok", "EXTRA_TOKEN": "e"}
    assert credentials_for(claude, settings, {**host, "PATH": "/bin"}) == {
        "CLAUDE_CODE_OAUTH_TOKEN": "tok",
        "EXTRA_TOKEN": "e",
    }
    assert claude.check(AgentSettings(), {"ANTHROPIC_API_KEY": "   "}) is not None
    env = claude.environment(settings, RUN)
    assert "tok" not in env.values() and env["CLAUDE_CONFIG_DIR"] == claude.state_dir
    command = get_agent("command")
    assert credentials_for(command, AgentSettings(command="x"), host) == {}
    assert credentials_for(command, settings, host) == {"EXTRA_TOKEN": "e"}
    assert command.check(AgentSettings(command="x", pass_env=("not a name",)), {}) is not None


def test_seeding_the_claude_state_dir(tmp_path: Path) -> None:
    claude = get_agent("claude")
    state = tmp_path / "state" / "task1"
    claude.seed_state_dir(state)
    config = state / ".claude.json"
    assert json.loads(config.read_text()) == {"hasCompletedOnboarding": True}
    config.write_text('{"numStartups": 3, "hasCompletedOnboarding": true, "x": [1]}')
    claude.seed_state_dir(state)  # Claude's own state is left alone
    assert json.loads(config.read_text())["numStartups"] == 3
    config.write_text('{"numStartups": 4}')
    claude.seed_state_dir(state)
    assert json.loads(config.read_text()) == {"numStartups": 4, "hasCompletedOnboarding": True}
    assert get_agent("command").state_dir is None


def test_command_agent_outcomes() -> None:
    command = get_agent("command")
    output = command.new_output()
    output.feed(b"".join(b"line %d\n" % n for n in range(30)) + b"\n   \nboom: it broke")
    output.flush()
    failed = command.outcome(3, output)
    assert failed.error_message == "agent exited with code 3: boom: it broke"
    assert (failed.summary or "").splitlines()[0] == "line 21"  # the last ten lines
    assert command.outcome(0, output, stopped="timeout").error_message == (
        "agent timed out and was stopped"
    )
    assert not command.new_output().finished
    assert command.outcome(None, command.new_output()).error_message == "agent exit status unknown"
    with pytest.raises(ValueError, match="command"):
        command.argv(AgentSettings(command="  "), RUN)


def test_agent_names() -> None:
    assert AGENT_NAMES == ("claude", "codex", "command")
    assert get_agent(" Claude ").name == "claude"
    with pytest.raises(ValueError, match="'aider'"):
        get_agent("aider")


def test_codex_agent_command_line_environment_and_credentials() -> None:
    from gittask.runner.agents.codex import CODEX_SCRIPT

    codex = get_agent("codex")
    settings = AgentSettings(model="gpt-5.5", pass_env=("EXTRA_TOKEN",))
    run = AgentRun(task_id="t1", branch="task/x", resume_session_id=None)
    argv = codex.argv(settings, run)
    assert argv[:5] == ["sh", "-c", CODEX_SCRIPT, "gittask-agent", DEFAULT_PROMPT_FILE]
    assert argv[5:8] == ["codex", "exec", "--json"]
    assert "--dangerously-bypass-approvals-and-sandbox" in argv and argv[-1] == "-"
    assert argv[argv.index("-m") + 1] == "gpt-5.5"
    resumed = codex.argv(
        settings, AgentRun("t1", "task/x", resume_session_id="01a23462-a24d-7981-8419-9bf999704b67")
    )
    assert resumed[-3:] == ["resume", "01a23462-a24d-7981-8419-9bf999704b67", "-"]
    with pytest.raises(ValueError, match="not a valid Codex session id"):
        codex.argv(settings, AgentRun("t1", "task/x", resume_session_id="../../etc"))
    env = codex.environment(settings, run)
    assert env["CODEX_HOME"] == codex.state_dir == "/home/agent/.codex"
    assert not any("KEY" in name for name in env)
    assert codex.credential_names(settings) == (
        "CODEX_API_KEY",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "EXTRA_TOKEN",
    )
    assert codex.check(settings, {}) == (
        "no Codex credentials: set CODEX_API_KEY or OPENAI_API_KEY (an OpenAI API key)"
    )
    assert codex.check(settings, {"OPENAI_API_KEY": "sk-x"}) is None
