"""Any command-line agent: a shell command run with ``sh -c`` inside the image.

The prompt is on the command's stdin and in the file named by
``$TASK_PROMPT_FILE``; ``$TASK_ID`` and ``$TASK_BRANCH`` are set too.  The
command's output is shown as is.  Success is exit code 0.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from pathlib import Path

from gittask.runner.agents.base import (
    AgentOutcome,
    AgentOutput,
    AgentRun,
    AgentSettings,
    StopReason,
    check_settings,
    stdin_from_file,
    stop_message,
    task_environment,
)
from gittask.runner.stream_json import LineDecoder

__all__ = ["CommandAgent", "CommandOutput"]

#: How many of the last non-blank output lines make up the summary.
SUMMARY_LINES = 10


class CommandOutput:
    """Passes lines through unchanged; remembers the last few for the summary."""

    def __init__(self) -> None:
        self._lines = LineDecoder()
        self.tail: deque[str] = deque(maxlen=SUMMARY_LINES)

    def feed(self, chunk: bytes) -> list[str]:
        return self._keep(self._lines.feed(chunk))

    def flush(self) -> list[str]:
        return self._keep(self._lines.flush())

    @property
    def finished(self) -> bool:
        return False  # a plain command has no "final result" marker: wait for its exit

    def _keep(self, lines: list[str]) -> list[str]:
        self.tail.extend(line.rstrip() for line in lines if line.strip())
        return lines


class CommandAgent:
    """Runs ``settings.command`` with ``sh -c``."""

    name = "command"
    state_dir: str | None = None

    def argv(self, settings: AgentSettings, run: AgentRun) -> list[str]:
        problem = self._check_settings(settings)
        if problem:
            raise ValueError(problem)
        assert settings.command is not None
        return stdin_from_file(run.prompt_file, ["sh", "-c", settings.command])

    def environment(self, settings: AgentSettings, run: AgentRun) -> dict[str, str]:
        return task_environment(run)

    def credential_names(self, settings: AgentSettings) -> tuple[str, ...]:
        return tuple(settings.pass_env)

    def api_url(self, passed: Mapping[str, str]) -> str | None:
        return None  # a command reaches only network.allow

    def check(self, settings: AgentSettings, host_env: Mapping[str, str]) -> str | None:
        return self._check_settings(settings)

    def seed_state_dir(self, host_dir: Path) -> None:
        return None  # no state between runs

    def session_file(self, host_dir: Path, session_id: str) -> Path | None:
        return None  # no sessions

    def new_output(self) -> CommandOutput:
        return CommandOutput()

    def outcome(
        self,
        exit_code: int | None,
        output: AgentOutput,
        *,
        stopped: StopReason | None = None,
    ) -> AgentOutcome:
        if not isinstance(output, CommandOutput):
            raise TypeError("CommandAgent.outcome needs the output from its own new_output()")
        summary = "\n".join(output.tail) or None
        if stopped is not None:
            error: str | None = stop_message(stopped)
        elif exit_code is None:
            error = "agent exit status unknown"
        elif exit_code != 0:
            error = f"agent exited with code {exit_code}"
            if output.tail:
                last = output.tail[-1].strip()
                error += f": {last if len(last) <= 200 else last[:199] + '…'}"
        else:
            error = None
        return AgentOutcome(success=error is None, error_message=error, summary=summary)

    @staticmethod
    def _check_settings(settings: AgentSettings) -> str | None:
        if not (settings.command and settings.command.strip()):
            return (
                "the `command` agent needs a command to run: set it with "
                "`claude-container config set agent_command '...'` (a shell command run "
                "inside the image)"
            )
        return check_settings(settings)
