"""The sandbox policy: what the agent's container may see and do. Review changes here.

One function, :func:`container_spec`, turns a run's inputs into the
:class:`~gittask.runner.engine.ContainerSpec` an engine creates the container
from, whatever the image says:

- **user**: the host user's uid:gid (``IS_SANDBOX=1`` when that is root: the
  container is the sandbox, and Claude Code refuses root without it);
- **hardening**: every capability dropped, ``no-new-privileges``;
- **limits**: memory (swap included: no more swap), CPUs, processes, the
  network mode (config);
- **egress** (network ``allowlist``, the default): network ``none``, the run's
  egress folder mounted read-only at ``/run/gittask/egress``, the proxy
  variables set and the command wrapped so that a forwarder on the container's
  loopback starts first (:mod:`gittask.runner.egress`): the model API and
  ``network.allow`` are all it reaches;
- **mounts**, and nothing else (no Docker socket, no ``~/.ssh``, no home):

  ============================== =========================== ==========
  host                           container                   access
  ============================== =========================== ==========
  the run's worktree             ``/workspace``              read-write
  the prompt file                ``/run/gittask/prompt.md``  read-only
  the repository's git folder    the same path               read-only
  a minimal git config           ``<git folder>/config``     read-only
  the worktree's admin folder    the same path               read-write
  the run's new-objects folder   ``/run/gittask/objects``    read-write
  the agent's per-task state     the agent's ``state_dir``   read-write
  the run's egress folder        ``/run/gittask/egress``     read-only
  the run's credential files     /run/gittask/credentials    read-only
  ============================== =========================== ==========

  and the tool's private folder inside the git folder is hidden under an empty
  read-only tmpfs;
- **environment**: the agent's (never a secret), git's identity and object
  folders; the credentials are never part of the container's configuration:
  they are files on a tmpfs, mounted read-only, that the command exports
  before the agent starts (:mod:`gittask.runner.credentials`).

Git inside the container writes new objects to the run's own folder and reads
the repository's as an alternate: it cannot alter anything already stored (see
:mod:`gittask.runner.worktree`).

On an engine whose host cannot see this machine's folders (``workspace``
``bundle``) there is **no mount at all**: the worktree goes in, and the agent's
work comes out, as git objects (:mod:`gittask.runner.transfer`); the same user,
hardening and limits apply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gittask.runner import credentials as creds
from gittask.runner import egress, transfer
from gittask.runner.agents.base import DEFAULT_PROMPT_FILE, WORKDIR
from gittask.runner.engine import BindMount, ContainerSpec, labels_for

#: The container's view of the run's new-objects folder.
OBJECTS_IN_CONTAINER = "/run/gittask/objects"


@dataclass(frozen=True)
class Limits:
    network: str | None = "bridge"
    memory: str | None = "4g"
    cpus: float | None = 2.0
    pids_limit: int | None = 512


@dataclass(frozen=True)
class RunPaths:
    """The host folders of one run (see :class:`gittask.runner.worktree.Worktree`)."""

    worktree: Path  # the checkout
    admin: Path  # <git folder>/worktrees/<name>: HEAD, index
    objects: Path  # the run's new objects
    git_config: Path  # the minimal config laid over the repository's
    prompt_file: Path
    common_dir: Path  # the repository's git folder
    private_dir: Path | None  # the tool's folder inside it (hidden), when it exists
    agent_state: Path | None = None  # mounted at the agent's state_dir
    credentials: Path | None = None  # the folder of credential files (a tmpfs)


@dataclass(frozen=True)
class SandboxInputs:
    """Everything the policy decides from."""

    image: str
    name: str
    command: tuple[str, ...]
    agent_environment: Mapping[str, str]  # Agent.environment(): never a secret
    agent_state_dir: str | None  # Agent.state_dir
    credential_names: tuple[str, ...]  # their values are files in paths.credentials
    git_name: str
    git_email: str
    paths: RunPaths
    uid: int
    gid: int
    limits: Limits
    repo_key: str
    task_id: str
    run: int
    host_pid: int
    #: the run's egress folder (network allowlist): the only way out, through the proxy
    egress_dir: Path | None = None
    workspace: str = "bind"  # "bundle": nothing mounted (a remote engine)
    start: str = ""  # the commit the run starts from (the bundle's)


def container_spec(given: SandboxInputs) -> ContainerSpec:
    """The container the agent runs in; see the module docstring for the policy."""
    if given.workspace == "bundle":
        return _without_mounts(given)
    paths = given.paths
    common = str(paths.common_dir)
    binds = [
        BindMount(str(paths.worktree), WORKDIR),
        BindMount(str(paths.prompt_file), DEFAULT_PROMPT_FILE, read_only=True),
        BindMount(common, common, read_only=True),
        BindMount(str(paths.git_config), f"{common}/config", read_only=True),
        BindMount(str(paths.admin), str(paths.admin)),
        BindMount(str(paths.objects), OBJECTS_IN_CONTAINER),
    ]
    if paths.agent_state is not None and given.agent_state_dir:
        binds.append(BindMount(str(paths.agent_state), given.agent_state_dir))
    environment = _environment(given)
    environment.update(
        {
            "GIT_OBJECT_DIRECTORY": OBJECTS_IN_CONTAINER,
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": f"{common}/objects",
        }
    )
    if given.uid == 0:
        environment["IS_SANDBOX"] = "1"  # the container is the sandbox (Claude Code asks)
    command, network = tuple(given.command), given.limits.network
    if paths.credentials is not None and given.credential_names:
        binds.append(BindMount(str(paths.credentials), creds.IN_CONTAINER, read_only=True))
        command = creds.wrap(command)  # the agent alone gets them, not the forwarder
    if given.egress_dir is not None:
        binds.append(BindMount(str(given.egress_dir), egress.CONTAINER_DIR, read_only=True))
        environment.update(egress.proxy_environment())
        command, network = egress.wrap(command), "none"
    return ContainerSpec(
        image=given.image,
        command=command,
        environment=environment,
        labels=labels_for(given.repo_key, given.task_id, given.run, given.host_pid),
        user=f"{given.uid}:{given.gid}",
        name=given.name,
        binds=tuple(binds),
        tmpfs=(str(paths.private_dir),) if paths.private_dir is not None else (),
        working_dir=WORKDIR,
        network=network,
        memory=given.limits.memory,
        memory_swap=given.limits.memory,  # no swap beyond the memory limit
        cpus=given.limits.cpus,
        pids_limit=given.limits.pids_limit,
        cap_drop=("ALL",),
        security_opt=("no-new-privileges",),
        credential_names=tuple(sorted(given.credential_names)),
    )


def _environment(given: SandboxInputs) -> dict[str, str]:
    """The agent's own variables and the git identity its commits carry (both policies)."""
    environment = dict(given.agent_environment)
    environment.update(
        {
            "GIT_AUTHOR_NAME": given.git_name,
            "GIT_AUTHOR_EMAIL": given.git_email,
            "GIT_COMMITTER_NAME": given.git_name,
            "GIT_COMMITTER_EMAIL": given.git_email,
        }
    )
    return environment


def _without_mounts(given: SandboxInputs) -> ContainerSpec:
    """The policy for a remote engine: no mount; the workspace arrives as a bundle."""
    environment = _environment(given)
    environment["GITTASK_START"] = given.start
    if given.agent_state_dir:
        environment["GITTASK_STATE_DIR"] = given.agent_state_dir
    if given.uid == 0:
        environment["IS_SANDBOX"] = "1"
    command = tuple(given.command)
    if given.credential_names:  # copied in with the workspace (prepare), never configured
        command = creds.wrap(command)
    return ContainerSpec(
        image=given.image,
        command=transfer.wrap(command),
        environment=environment,
        labels=labels_for(given.repo_key, given.task_id, given.run, given.host_pid),
        user=f"{given.uid}:{given.gid}",
        name=given.name,
        binds=(),
        tmpfs=(),
        working_dir=WORKDIR,
        network=given.limits.network,
        memory=given.limits.memory,
        cpus=given.limits.cpus,
        pids_limit=given.limits.pids_limit,
        cap_drop=("ALL",),
        security_opt=("no-new-privileges",),
        credential_names=tuple(sorted(given.credential_names)),
    )


def describe(spec: ContainerSpec) -> str:
    """The policy of a spec in one line, for the execution log (no values, no secrets)."""
    return (
        f"user {spec.user}, cap_drop {','.join(spec.cap_drop) or 'none'}, "
        f"{', '.join(spec.security_opt) or 'no security options'}, network {spec.network}, "
        f"memory {spec.memory}, cpus {spec.cpus}, pids {spec.pids_limit}"
    )


def environment_line(spec: ContainerSpec) -> str:
    """The names of the variables the container gets (values never), for the log."""
    line = "environment: " + ", ".join(sorted(spec.environment))
    if spec.credential_names:
        line += f"; from the host, as files: {', '.join(spec.credential_names)}"
    return line


def host_ids() -> tuple[int, int]:
    """The uid and gid the container runs as: the host user's."""
    return os.getuid(), os.getgid()
