"""The seam between a run and whatever runs containers: the :class:`Engine` interface.

A run needs little from its engine: check the image, create a container from a
:class:`ContainerSpec` (what :func:`gittask.runner.sandbox.container_spec`
decides), start it, read its output until it exits, stop it, tell its exit code,
remove it, and list the containers the tool left. :class:`Engine` is exactly
that, plus copying a file in and out (for engines whose containers cannot see
the host's folders). :class:`gittask.runner.container.DockerEngine` is the
Docker implementation; ``tests/memory_engine.py`` runs a container as a Python
function, for the pipeline's tests where Docker adds nothing.

An engine enforces the whole spec or refuses to create the container: the
hardening flags, the user, the limits and the mounts are the sandbox policy,
not suggestions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from gittask.runner import naming


@dataclass(frozen=True)
class BindMount:
    source: str  # a host path
    target: str  # where the container sees it
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    """Everything a container is created with; see :mod:`gittask.runner.sandbox`."""

    image: str
    command: tuple[str, ...]
    environment: Mapping[str, str]  # never a secret: it is the container's configuration
    labels: Mapping[str, str]
    user: str  # uid:gid
    name: str
    binds: tuple[BindMount, ...] = ()
    tmpfs: tuple[str, ...] = ()  # empty read-only folders laid over these paths
    working_dir: str = "/workspace"
    network: str | None = "bridge"
    memory: str | None = "4g"
    memory_swap: str | None = None  # memory plus swap (the same as memory: no swap)
    cpus: float | None = 2.0
    pids_limit: int | None = 512
    cap_drop: tuple[str, ...] = ("ALL",)
    security_opt: tuple[str, ...] = ("no-new-privileges",)
    #: the credentials the container gets, by name: their values travel as files
    #: (:mod:`gittask.runner.credentials`), never in the container's configuration
    credential_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskContainer:
    """A container this tool created (for ``task list`` and ``clean``)."""

    id: str
    name: str
    status: str  # the engine's state: running, exited, created, ...
    task_id: str
    run: int
    host_pid: int
    created: str


@dataclass(frozen=True)
class ContainerState:
    id: str
    status: str  # created, running, exited, ...
    exit_code: int | None
    labels: Mapping[str, str]


def labels_for(repo_key: str, task_id: str, run: int, pid: int) -> dict[str, str]:
    """The labels that let ``task list`` and ``clean`` find a run's container."""
    return {
        naming.LABEL_TOOL: "1",
        naming.LABEL_REPO: repo_key,
        naming.LABEL_TASK: task_id,
        naming.LABEL_RUN: str(run),
        naming.LABEL_HOST_PID: str(pid),
    }


class Engine(Protocol):
    """What runs the agent's container. Errors are :class:`GittaskError` (one line)."""

    #: shown in the execution log (``docker``, ``memory``)
    name: str

    def ensure_image(self, image: str) -> None:
        """Raise when the image is not there (saying how to build it)."""
        ...

    def create(self, spec: ContainerSpec) -> str:
        """Create (not start) the container; its id."""
        ...

    def start(self, container_id: str) -> None: ...

    def output(self, container_id: str) -> Iterator[bytes]:
        """Its output (stdout and stderr) as it comes, ending when it exits.

        Read in a thread of its own (:func:`gittask.runner.watch.watch`); an
        exception raised here reaches the run as a lost output.
        """
        ...

    def stop(self, container_id: str) -> None:
        """Kill it now (no grace: the run decided to stop it); never raises."""
        ...

    def wait(self, container_id: str, timeout: float = 30) -> int | None:
        """Its exit code once it has exited; None when unknown."""
        ...

    def remove(self, container_id: str) -> bool:
        """Remove it, running or not, with its anonymous volumes; True when it is gone."""
        ...

    def inspect(self, container_id: str) -> ContainerState | None:
        """Its state, or None when there is no such container."""
        ...

    def containers(self, repo_key: str | None = None) -> list[TaskContainer]:
        """Every container this tool created (for one repository when given)."""
        ...

    def copy_in(self, container_id: str, path: str, data: bytes, mode: int = 0o644) -> None:
        """Write a file into the (created) container."""
        ...

    def copy_out(self, container_id: str, path: str) -> bytes:
        """Read a file from the container."""
        ...

    def copy_in_archive(self, container_id: str, archive: bytes) -> None:
        """Unpack a tar at ``/`` in the (created) container, owners and modes as given
        (a remote engine's workspace: :mod:`gittask.runner.transfer`)."""
        ...
