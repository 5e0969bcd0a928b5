"""Agents that can run on a task: ``claude`` (the default), ``codex`` and ``command``.

See :mod:`gittask.runner.agents.base` for the interface and how a run uses it.
"""

from __future__ import annotations

from collections.abc import Callable

from gittask.runner.agents.base import (
    DEFAULT_PROMPT_FILE,
    WORKDIR,
    Agent,
    AgentOutcome,
    AgentOutput,
    AgentRun,
    AgentSettings,
    StopReason,
    credentials_for,
)
from gittask.runner.agents.claude import ClaudeAgent
from gittask.runner.agents.codex import CodexAgent
from gittask.runner.agents.command import CommandAgent

__all__ = [
    "AGENT_NAMES",
    "DEFAULT_AGENT",
    "DEFAULT_PROMPT_FILE",
    "WORKDIR",
    "Agent",
    "AgentOutcome",
    "AgentOutput",
    "AgentRun",
    "AgentSettings",
    "ClaudeAgent",
    "CodexAgent",
    "CommandAgent",
    "StopReason",
    "credentials_for",
    "get_agent",
]

_AGENTS: dict[str, Callable[[], Agent]] = {
    "claude": ClaudeAgent,
    "codex": CodexAgent,
    "command": CommandAgent,
}

#: The valid agent names, in the order they are documented.
AGENT_NAMES: tuple[str, ...] = tuple(_AGENTS)
DEFAULT_AGENT = "claude"


def get_agent(name: str) -> Agent:
    """The agent called *name*; ValueError naming the valid ones for anything else."""
    factory = _AGENTS.get(name.strip().lower()) if isinstance(name, str) else None
    if factory is None:
        raise ValueError(f"unknown agent {name!r}: valid agents are {', '.join(AGENT_NAMES)}")
    return factory()
