"""What one stage of a run hands to the next (see :mod:`gittask.workflow.run.pipeline`).

Each hand-off is frozen: a stage reads what the stages before it produced and
returns something new. Two of them carry the security order of a run:

- :class:`Executed` exists only once the container is gone: nothing the agent
  ran can still write the worktree when the harvest reads it;
- :class:`Harvested` refuses new commits that were not checked for credential
  values: only checked commits can move the branch or be pushed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from gittask.errors import GittaskError

if TYPE_CHECKING:
    from gittask.config import ProjectConfig
    from gittask.model import TaskMetadata
    from gittask.runner import live
    from gittask.runner import worktree as wt
    from gittask.runner.agents import Agent, AgentOutcome, AgentSettings
    from gittask.runner.egress import AllowList
    from gittask.runner.engine import ContainerSpec, Engine
    from gittask.workflow.lease import Lease

RunKind = Literal["create", "continue"]


class RunFailed(GittaskError):
    """The run happened and failed; the record says failed with the same message."""

    def __init__(self, message: str, task: TaskMetadata | None = None) -> None:
        super().__init__(message)
        self.task = task


class RunAborted(GittaskError):
    """Interrupted by a signal (exit 130)."""

    exit_code = 130


@dataclass
class RunRequest:
    task_id: str
    kind: RunKind = "create"
    feedback_id: str | None = None
    show: Callable[[str], None] = lambda line: None  # the live view of the agent's output
    say: Callable[[str], None] = lambda line: None  # the tool's own progress lines
    detached: bool = False
    local_base: bool = False  # start a first run from the local base branch, not origin's
    allow_host_network: bool = False  # --allow-host-network: `network host` may run
    allow_odd_files: bool = False  # --allow-odd-files: push large files, gitlinks, odd symlinks
    lease: Lease | None = None  # a worker's run: it writes the record only under this lease


@dataclass
class RunResult:
    task: TaskMetadata
    success: bool
    run: int
    error: str | None = None
    commits: list[str] = field(default_factory=list)
    pushed: bool = False
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False


@dataclass(frozen=True)
class Preflight:
    """Checked before the task is touched: agent, settings, credentials, engine, image."""

    config: ProjectConfig
    agent: Agent
    settings: AgentSettings
    image: str
    engine: Engine
    credentials: Mapping[str, str] = field(repr=False)
    workspace: str = "bind"  # "bundle": nothing mounted, git objects in and out
    #: network allowlist: what the run's proxy lets through (None: another network mode)
    allow: AllowList | None = None


@dataclass(frozen=True)
class Claimed:
    """This process runs the task now (its live-run marker is held)."""

    task: TaskMetadata  # as the run found it (a crashed run's ``running`` closed)
    run: int
    marker: live.RunMarker  # the stages note their progress in it (``task list``, ``clean``)


@dataclass(frozen=True)
class Plan:
    """Where the run starts; nothing is written yet."""

    base: str
    base_ref: str  # the ref the base's commit was read from
    branch: wt.BranchPlan


@dataclass(frozen=True)
class Workspace:
    """The run's worktree, ready for the agent, and what the agent is told."""

    worktree: wt.Worktree
    prompt_file: Path  # on the host; mounted read-only
    resume: str | None  # the session the agent resumes
    agent_state: Path | None  # the host folder mounted at the agent's state_dir


@dataclass(frozen=True)
class Sandboxed:
    """The created (not started) container."""

    spec: ContainerSpec
    container_id: str


@dataclass(frozen=True)
class Executed:
    """The agent ran and its container is gone."""

    outcome: AgentOutcome
    interrupted: str | None  # the signal that stopped the agent
    container_gone: Literal[True]

    def __post_init__(self) -> None:
        if self.container_gone is not True:
            raise AssertionError("the harvest must not start while the container may run")


@dataclass(frozen=True)
class Harvested:
    """The agent's work as the host took it: commits on top of the start, or none."""

    outcome: AgentOutcome
    commits: tuple[str, ...]  # oldest first
    head: str
    error: str | None  # why the run failed (None: it may be published)
    interrupted: str | None
    credentials_checked: bool  # the commits were searched for credential values
    refused: bool = False  # they held one: nothing was taken

    def __post_init__(self) -> None:
        if self.commits and not self.credentials_checked:
            raise AssertionError("commits not checked for credentials cannot be taken")


@dataclass(frozen=True)
class Pushed:
    """The work is on the remote (or stays local, saying why)."""

    harvested: Harvested
    pushed: bool  # on the remote, or going with the record (sync.auto)
    error: str | None
    publish_error: str | None
    interrupted: str | None
    notes: tuple[str, ...]  # one-line remarks to show the user
