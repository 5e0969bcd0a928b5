"""Run the real ``claude`` on the host the way the product runs it in a container.

The command line and environment come from the product's own
:class:`~gittask.runner.agents.claude.ClaudeAgent` (``argv`` with the prompt file
redirected to stdin by ``sh``, ``environment``), with three host substitutions:
the executable is the cached real binary, ``CLAUDE_CONFIG_DIR`` is a test folder
instead of ``/home/agent/.claude``, and the API is the scripted loopback server.
stdout and stderr are merged and decoded in arbitrary chunks, like ``docker logs``,
by the product's :class:`~gittask.runner.agents.claude.ClaudeOutput`; the outcome is
the product's ``ClaudeAgent.outcome``.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gittask.runner.agents.base import AgentOutcome, AgentRun, AgentSettings, StopReason
from gittask.runner.agents.claude import ClaudeAgent, ClaudeOutput
from tests.fake_anthropic import FakeAnthropic

__all__ = ["ClaudeRun", "HostClaude", "closed_port_url"]


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@dataclass
class ClaudeRun:
    """One finished run: what it printed, what the product made of it."""

    exit_code: int | None
    raw: bytes
    #: The lines the product would show live, in order.
    shown: list[str]
    output: ClaudeOutput
    outcome: AgentOutcome
    argv: list[str] = field(default_factory=list)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The JSON lines of the output."""
        found = []
        for line in self.raw.decode(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    found.append(json.loads(line))
        return found


class HostClaude:
    """The real binary in *workdir*, talking to *server* with *api_key*."""

    def __init__(
        self, binary: Path, server: FakeAnthropic, workdir: Path, config_dir: Path, api_key: str
    ) -> None:
        self.binary = binary
        self.server = server
        self.workdir = workdir
        self.config_dir = config_dir
        self.api_key = api_key
        self.agent = ClaudeAgent()
        self.agent.executable = str(binary)
        self.agent.seed_state_dir(config_dir)

    def run(
        self,
        prompt: str,
        *,
        resume: str | None = None,
        settings: AgentSettings | None = None,
        timeout: float = 60,
        api_key: str | None = None,
        base_url: str | None = None,
    ) -> ClaudeRun:
        settings = settings or AgentSettings()
        prompt_file = self.config_dir.parent / "prompt.md"
        prompt_file.write_text(prompt, encoding="utf-8")
        run = AgentRun(
            task_id="t" * 32,
            branch="task/test",
            prompt_file=str(prompt_file),
            resume_session_id=resume,
        )
        argv = self.agent.argv(settings, run)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.config_dir.parent),
            **self.agent.environment(settings, run),
            "CLAUDE_CONFIG_DIR": str(self.config_dir),  # the container's is /home/agent/.claude
            "ANTHROPIC_BASE_URL": base_url or self.server.base_url,
            "ANTHROPIC_API_KEY": api_key or self.api_key,
        }
        if os.getuid() == 0:  # as the run loop does: skip-permissions refuses root without it
            env["IS_SANDBOX"] = "1"
        output = self.agent.new_output()
        shown: list[str] = []
        raw = bytearray()
        stopped: StopReason | None = None
        proc = subprocess.Popen(
            argv,
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    stopped = "timeout"
                    proc.kill()
                    break
                if not selector.select(timeout=min(left, 0.5)):
                    continue
                chunk = os.read(proc.stdout.fileno(), 777)  # odd sizes: lines get cut
                if not chunk:
                    break
                raw += chunk
                shown += output.feed(chunk)
        exit_code = proc.wait(timeout=30)
        proc.stdout.close()
        shown += output.flush()
        outcome = self.agent.outcome(None if stopped else exit_code, output, stopped=stopped)
        return ClaudeRun(exit_code, bytes(raw), shown, output, outcome, argv)
