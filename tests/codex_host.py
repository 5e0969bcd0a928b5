"""Run the real ``codex`` on the host the way the product runs it in a container.

The command line and environment come from the product's own
:class:`~gittask.runner.agents.codex.CodexAgent` (``argv``: the container script
that maps ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` and redirects the prompt file to
stdin; ``environment``), with two host substitutions: the executable is the
cached real binary and ``CODEX_HOME`` is a test folder instead of
``/home/agent/.codex``.  The API is the scripted loopback server, reached through
``OPENAI_BASE_URL`` exactly as a user's ``env`` pass-through would.  stdout and
stderr are merged and decoded in odd-sized chunks, like ``docker logs``, by the
product's :class:`~gittask.runner.agents.codex.CodexOutput`; the outcome is the
product's ``CodexAgent.outcome``.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gittask.runner.agents.base import AgentOutcome, AgentRun, AgentSettings, StopReason
from gittask.runner.agents.codex import CodexAgent, CodexOutput
from tests.fake_openai import FakeOpenAI

__all__ = ["CodexRun", "HostCodex"]

#: A model of Codex 0.171's catalog that gets plain ``exec_command``/``apply_patch``
#: tools (the default one only gets the JavaScript code-mode ``exec`` tool).
SCRIPTED_MODEL = "gpt-5.5"


@dataclass
class CodexRun:
    """One finished run: what it printed, what the product made of it."""

    exit_code: int | None
    raw: bytes
    shown: list[str]
    output: CodexOutput
    outcome: AgentOutcome
    argv: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.raw.decode(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    found.append(json.loads(line))
        return found


class HostCodex:
    """The real binary in *workdir*, talking to *server* with *api_key*."""

    def __init__(
        self, binary: Path, server: FakeOpenAI, workdir: Path, codex_home: Path, api_key: str
    ) -> None:
        self.binary = binary
        self.server = server
        self.workdir = workdir
        self.codex_home = codex_home
        self.api_key = api_key

    def run(
        self,
        prompt: str,
        *,
        resume: str | None = None,
        settings: AgentSettings | None = None,
        timeout: float = 90,
        key_name: str = "OPENAI_API_KEY",
        api_key: str | None = None,
        base_url: str | None = None,
    ) -> CodexRun:
        settings = settings or AgentSettings(model=SCRIPTED_MODEL)
        agent = CodexAgent()
        agent.executable = str(self.binary)
        agent.seed_state_dir(self.codex_home)
        prompt_file = self.codex_home.parent / "prompt.md"
        prompt_file.write_text(prompt, encoding="utf-8")
        run = AgentRun(
            task_id="t" * 32,
            branch="task/test",
            prompt_file=str(prompt_file),
            resume_session_id=resume,
        )
        argv = agent.argv(settings, run)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.codex_home.parent),
            **agent.environment(settings, run),
            "CODEX_HOME": str(self.codex_home),  # the container's is /home/agent/.codex
            "OPENAI_BASE_URL": base_url or self.server.base_url,
            key_name: api_key or self.api_key,
        }
        output = agent.new_output()
        output.workdir = str(self.workdir)
        shown: list[str] = []
        raw = bytearray()
        stopped: StopReason | None = None
        started = time.monotonic()
        proc = subprocess.Popen(
            argv,
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert proc.stdout is not None
        deadline = started + timeout
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
        outcome = agent.outcome(None if stopped else exit_code, output, stopped=stopped)
        seconds = time.monotonic() - started
        return CodexRun(exit_code, bytes(raw), shown, output, outcome, argv, seconds)
