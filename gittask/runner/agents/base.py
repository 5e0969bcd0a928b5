"""The agent interface: what runs inside the container and how to read what it prints.

An :class:`Agent` knows nothing about Docker.  It produces the command line and
environment for the container, says which host credentials it needs, decodes the
container's output for display, and turns the exit status plus that output into
an :class:`AgentOutcome`.  The docker run loop drives it like this::

    agent = get_agent(name)                                # ValueError for an unknown name
    problem = agent.check(settings, os.environ)            # refuse to start on a problem
    # 1. write the prompt to a host file and mount it read-only so that it appears
    #    at run.prompt_file inside the container (DEFAULT_PROMPT_FILE; never inside
    #    /workspace, or it would be committed).  argv() redirects the agent's stdin
    #    from that file itself: do not attach or write the container's stdin.
    # 2. if agent.state_dir: mount a per-task host directory there, prepared with
    #    agent.seed_state_dir(host_dir); it must survive between runs of the same
    #    task, because resuming a Claude session needs its transcript.
    container = client.containers.run(
        image, agent.argv(settings, run), working_dir="/workspace",
        environment={**agent.environment(settings, run),
                     **credentials_for(agent, settings, os.environ)}, ...)
    output = agent.new_output()
    for chunk in container.logs(stream=True, follow=True):
        raw_log.write(chunk)                               # raw passthrough: caller's job
        for line in output.feed(chunk): show(line)
        # output.finished: the agent reported its final result.  Claude Code sometimes
        # hangs after that; stop the container after a short grace period and pass
        # stopped="after_result".
    for line in output.flush(): show(line)
    outcome = agent.outcome(exit_code, output, stopped=None | "timeout" | ...)

Credentials are never part of :meth:`Agent.environment` (which may be logged):
they go through :func:`credentials_for`, only at container start.

Prompt delivery: ``argv`` is ``["sh", "-c", STDIN_FROM_FILE_SCRIPT, "gittask-agent",
<prompt file>, <agent argv>...]``; the little script does ``exec "$@" < "$prompt"``.
The prompt path and every argument travel as separate argv entries, so nothing
is ever quoted or interpolated into shell text.  The image only needs ``sh``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "DEFAULT_PROMPT_FILE",
    "STDIN_FROM_FILE_SCRIPT",
    "WORKDIR",
    "Agent",
    "AgentOutcome",
    "AgentOutput",
    "AgentRun",
    "AgentSettings",
    "StopReason",
    "check_settings",
    "credentials_for",
    "stdin_from_file",
    "stop_message",
    "task_environment",
]

#: The agent's working directory inside the container (the task's worktree).
WORKDIR = "/workspace"
#: Where the run loop should mount the prompt (a read-only file mount).
DEFAULT_PROMPT_FILE = "/run/gittask/prompt.md"
#: ``sh -c`` script: $1 is the prompt file, the rest is the command to exec.
STDIN_FROM_FILE_SCRIPT = 'prompt=$1; shift; exec "$@" < "$prompt"'
_SCRIPT_NAME = "gittask-agent"  # $0 of the script, shown in sh's own error messages

#: Why the caller stopped the container before it exited by itself.
#: ``timeout``: the wall-clock limit; ``idle``: no output for too long;
#: ``interrupted``: the user pressed Ctrl-C; ``after_result``: the agent had
#: reported its final result (``AgentOutput.finished``) but did not exit.
StopReason = Literal["timeout", "idle", "interrupted", "after_result"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class AgentSettings:
    """Agent settings from the project configuration."""

    #: For the ``command`` agent: a shell command run with ``sh -c`` in the image.
    command: str | None = None
    model: str | None = None
    max_turns: int | None = None
    max_budget_usd: float | None = None
    append_system_prompt: str | None = None
    #: How often the agent retries a failing API call (Claude: ``CLAUDE_CODE_MAX_RETRIES``);
    #: None for the agent's own default.
    max_retries: int | None = None
    #: Extra host environment variables passed through to the container if set
    #: (e.g. ``("OPENAI_API_KEY",)`` for a ``command`` agent).  Names only.
    pass_env: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentRun:
    """One run of an agent on a task."""

    task_id: str
    branch: str
    #: Path of the prompt file INSIDE the container (see DEFAULT_PROMPT_FILE).
    prompt_file: str = DEFAULT_PROMPT_FILE
    #: Continue this recorded session (Claude: ``--resume``); None for a fresh run.
    resume_session_id: str | None = None


@dataclass
class AgentOutcome:
    """How a run ended.  ``error_message`` is one line, set exactly when not ``success``."""

    success: bool
    error_message: str | None = None
    #: The latest session id reported (store it: the next run resumes it).
    session_id: str | None = None
    #: The agent's final message (Claude's ``result`` text; a command's last lines).
    summary: str | None = None
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    num_turns: int | None = None
    #: One-line things the user should see even after a success (denied tool calls).
    warnings: list[str] = field(default_factory=list)


@runtime_checkable
class AgentOutput(Protocol):
    """Decodes one run's output (stdout and stderr, as bytes) for display."""

    def feed(self, chunk: bytes) -> list[str]:
        """Return the display lines completed by *chunk* (each without newline)."""
        ...

    def flush(self) -> list[str]:
        """End of output: return what was left without a final newline."""
        ...

    @property
    def finished(self) -> bool:
        """The agent has reported its final result; it should exit very soon."""
        ...


class Agent(Protocol):
    """One kind of agent (see the module docstring for how a run uses it)."""

    #: Registry name (``claude``, ``codex``, ``command``).
    name: str
    #: A directory inside the container whose contents must persist between runs
    #: of the same task (mount a per-task host directory there), or None.
    state_dir: str | None

    def argv(self, settings: AgentSettings, run: AgentRun) -> list[str]:
        """The container's command.  Raises ValueError on unusable settings."""
        ...

    def environment(self, settings: AgentSettings, run: AgentRun) -> dict[str, str]:
        """Extra environment for the container: never a secret."""
        ...

    def credential_names(self, settings: AgentSettings) -> tuple[str, ...]:
        """Host environment variables to pass through to the container when set."""
        ...

    def check(self, settings: AgentSettings, host_env: Mapping[str, str]) -> str | None:
        """None when a run can start, else a one-line problem saying how to fix it."""
        ...

    def api_url(self, passed: Mapping[str, str]) -> str | None:
        """The model API the agent calls, given the variables its container gets
        (``credentials_for``); the network allow-list always lets it through.
        None: the agent calls no API of its own."""
        ...

    def seed_state_dir(self, host_dir: Path) -> None:
        """Prepare a host directory to be mounted at :attr:`state_dir` (idempotent)."""
        ...

    def session_file(self, host_dir: Path, session_id: str) -> Path | None:
        """The transcript of *session_id* in the state folder *host_dir*, if it is there.

        A run resumes a recorded session only when its transcript exists.
        """
        ...

    def new_output(self) -> AgentOutput:
        """A fresh decoder for one run's output."""
        ...

    def outcome(
        self,
        exit_code: int | None,
        output: AgentOutput,
        *,
        stopped: StopReason | None = None,
    ) -> AgentOutcome:
        """Judge the run from its exit code (None if unknown) and its decoded output.

        *output* must come from this agent's :meth:`new_output` and have been flushed.
        """
        ...


# --------------------------------------------------------------------------------------
# Helpers shared by the agents and the run loop


def stdin_from_file(prompt_file: str, command: Sequence[str]) -> list[str]:
    """An argv that runs *command* with its stdin read from *prompt_file*."""
    if not command:
        raise ValueError("empty agent command")
    if not prompt_file.startswith("/"):
        raise ValueError(
            f"the prompt file must be an absolute path in the container: {prompt_file!r}"
        )
    return ["sh", "-c", STDIN_FROM_FILE_SCRIPT, _SCRIPT_NAME, prompt_file, *command]


def task_environment(run: AgentRun) -> dict[str, str]:
    """``TASK_ID``, ``TASK_BRANCH`` and ``TASK_PROMPT_FILE`` for any agent."""
    return {
        "TASK_ID": run.task_id,
        "TASK_BRANCH": run.branch,
        "TASK_PROMPT_FILE": run.prompt_file,
    }


def credentials_for(
    agent: Agent, settings: AgentSettings, host_env: Mapping[str, str]
) -> dict[str, str]:
    """The credential variables to give the container: those set (non-empty) on the host.

    The values are secrets: pass the result straight to the container's
    environment and never log, store or print it.
    """
    passed: dict[str, str] = {}
    for name in agent.credential_names(settings):
        value = host_env.get(name)
        if value and value.strip():
            passed[name] = value
    return passed


def check_settings(settings: AgentSettings) -> str | None:
    """Problems common to every agent's settings, as one line, or None."""
    if settings.max_turns is not None and (
        isinstance(settings.max_turns, bool) or settings.max_turns < 1
    ):
        return f"max_turns must be a positive whole number, not {settings.max_turns!r}"
    if settings.max_retries is not None and (
        isinstance(settings.max_retries, bool) or settings.max_retries < 0
    ):
        return f"max_retries must be a whole number, 0 or more, not {settings.max_retries!r}"
    if settings.max_budget_usd is not None and not settings.max_budget_usd > 0:
        return f"max_budget_usd must be a positive amount, not {settings.max_budget_usd!r}"
    for name in settings.pass_env:
        if not _ENV_NAME.match(name):
            return f"pass_env: {name!r} is not a valid environment variable name"
    return None


def stop_message(stopped: StopReason) -> str:
    """The error message for a run the caller had to stop."""
    return {
        "timeout": "agent timed out and was stopped",
        "idle": "agent stopped producing output and was stopped",
        "interrupted": "agent run was interrupted",
        "after_result": "agent did not exit after its final result and was stopped",
    }[stopped]


def judge_exit(
    *,
    stopped: StopReason | None,
    exit_code: int | None,
    reported: str | None,
    finished: bool,
    completed: bool,
    retrying: str | None,
    last_text_line: str | None,
    final_event: str,
) -> str | None:
    """Why a run failed, from how it ended, or None: the rules every agent shares.

    ``reported``: the agent's own error (its final event said so); ``finished``:
    the final event arrived; ``completed``: it says the turn completed;
    ``retrying``: the last API retry, if the agent was retrying when stopped.
    """
    if stopped is not None:
        message = stop_message(stopped)
        if retrying and not finished:
            message += f" while retrying the API ({retrying})"
        return message
    if exit_code is None:
        return "agent exit status unknown"
    if reported is not None:
        return reported
    if exit_code != 0:
        message = f"agent exited with code {exit_code}"
        if completed:
            message += " after reporting success"
        elif last_text_line:
            message += f": {clip(last_text_line)}"
        return message
    if not completed:
        return f"agent produced no {final_event} event"
    return None


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
