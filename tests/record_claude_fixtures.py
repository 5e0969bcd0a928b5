"""Re-record ``tests/fixtures/claude-real/`` with the real CLI.

Run ``python -m tests.record_claude_fixtures``.  Each scenario runs the pinned
``claude`` on the host against the scripted API server (``tests/claude_host.py``)
and saves its merged stdout/stderr.  Host paths are scrubbed to the container's
(``/workspace``, ``/home/agent/.claude``) so the files read like a run in the
image; ``exit_codes.json`` keeps each run's exit code.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from gittask.runner.agents.base import AgentSettings
from tests.agent_binaries import claude_binary
from tests.claude_host import ClaudeRun, HostClaude, closed_port_url
from tests.fake_anthropic import FakeAnthropic, Usage, bash, text, write
from tests.fake_anthropic.fixture import TEST_API_KEY

FIXTURES = Path(__file__).parent / "fixtures" / "claude-real"

Scenario = Callable[[HostClaude, FakeAnthropic], ClaudeRun]


def _tool_and_text(claude: HostClaude, model: FakeAnthropic) -> ClaudeRun:
    model.turn(text("Writing hello.py."), write("{cwd}/hello.py", "print('hi')\n"))
    model.turn(text("Done: hello.py prints hi."), usage=Usage(150, 30, 10, 40))
    return claude.run("Write hello.py that prints hi")


def _resumed(claude: HostClaude, model: FakeAnthropic) -> ClaudeRun:
    model.turn(write("{cwd}/one.py", "1\n")).turn(text("first run done"))
    first = claude.run("write one.py")
    model.turn(write("{cwd}/two.py", "2\n"), usage=Usage(1000, 200))
    model.turn(text("second run done"), usage=Usage(1000, 200))
    return claude.run("now write two.py", resume=first.outcome.session_id)


def _overloaded(claude: HostClaude, model: FakeAnthropic) -> ClaudeRun:
    model.error(529, times=2).turn(text("made it"))
    return claude.run("say something")


def _bad_key(claude: HostClaude, model: FakeAnthropic) -> ClaudeRun:
    return claude.run("hi", api_key="sk-ant-wrong", settings=AgentSettings(max_retries=1))


def _rate_limited(claude: HostClaude, model: FakeAnthropic) -> ClaudeRun:
    model.error(429, times=2, retry_after=2)
    return claude.run("hi", settings=AgentSettings(max_retries=1))


def _unreachable(claude: HostClaude, model: FakeAnthropic) -> ClaudeRun:
    return claude.run("hi", base_url=closed_port_url(), settings=AgentSettings(max_retries=1))


def _denied(claude: HostClaude, model: FakeAnthropic) -> ClaudeRun:
    settings = claude.workdir / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"permissions": {"deny": ["Bash(curl:*)"]}}\n')
    model.turn(bash("curl http://127.0.0.1:9/x")).turn(text("could not fetch it"))
    return claude.run("fetch x")


def _nothing(claude: HostClaude, model: FakeAnthropic) -> ClaudeRun:
    model.turn(text("Nothing to do: the README already says it all."))
    return claude.run("Improve the README if needed")


SCENARIOS: dict[str, Scenario] = {
    "tool_and_text_in_one_message": _tool_and_text,
    "resumed": _resumed,
    "overloaded_then_success": _overloaded,
    "bad_key": _bad_key,
    "rate_limited": _rate_limited,
    "unreachable": _unreachable,
    "permission_denied": _denied,
    "nothing_changed": _nothing,
}


def scrub(raw: bytes, workdir: Path, config_dir: Path) -> bytes:
    text_ = raw.decode()
    for host, container in (
        (str(config_dir), "/home/agent/.claude"),
        (str(workdir), "/workspace"),
        (str(workdir).replace("/", "-").replace("_", "-"), "-workspace"),
        (TEST_API_KEY, "sk-ant-scrubbed"),
    ):
        text_ = text_.replace(host, container)
    return text_.encode()


def record(name: str, scenario: Scenario, binary: Path) -> int | None:
    with tempfile.TemporaryDirectory() as tmp, FakeAnthropic(api_key=TEST_API_KEY) as model:
        workdir = Path(tmp) / "work"
        workdir.mkdir()
        subprocess.run(["git", "init", "-q", str(workdir)], check=True)
        claude = HostClaude(binary, model, workdir, Path(tmp) / "config", TEST_API_KEY)
        run = scenario(claude, model)
        (FIXTURES / f"{name}.jsonl").write_bytes(scrub(run.raw, workdir, claude.config_dir))
        return run.exit_code


def main() -> int:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    binary = claude_binary()
    codes = {name: record(name, scenario, binary) for name, scenario in SCENARIOS.items()}
    (FIXTURES / "exit_codes.json").write_text(json.dumps(codes, indent=2) + "\n")
    print(f"recorded {len(codes)} runs in {FIXTURES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
