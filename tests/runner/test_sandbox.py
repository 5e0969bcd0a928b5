"""The sandbox policy, read on the spec it returns: no Docker involved."""

from __future__ import annotations

from pathlib import Path

import pytest

from gittask.runner import credentials, naming, sandbox
from gittask.runner.agents import DEFAULT_PROMPT_FILE, WORKDIR
from gittask.runner.engine import BindMount, ContainerSpec


def inputs(tmp_path: Path, uid: int = 1000, **changes: object) -> sandbox.SandboxInputs:
    common = tmp_path / "repo" / ".git"
    paths = sandbox.RunPaths(
        worktree=tmp_path / "wt",
        admin=common / "worktrees" / "wt",
        objects=tmp_path / "wt.run" / "objects",
        git_config=tmp_path / "wt.run" / "gitconfig",
        prompt_file=tmp_path / "wt.run" / "prompt.md",
        common_dir=common,
        private_dir=common / "claude-tasks",
        agent_state=tmp_path / "state",
        credentials=tmp_path / "shm" / "gittask-credentials-1-ab",
    )
    given: dict[str, object] = {
        "image": "agent:1",
        "name": "claude-task-abc-r001-ffffff",
        "command": ("sh", "-c", "run", "gittask-agent", DEFAULT_PROMPT_FILE, "claude"),
        "agent_environment": {"TASK_ID": "abc", "CLAUDE_CONFIG_DIR": "/home/agent/.claude"},
        "agent_state_dir": "/home/agent/.claude",
        "credential_names": ("ANTHROPIC_API_KEY",),
        "git_name": "Ada",
        "git_email": "ada@example.com",
        "paths": paths,
        "uid": uid,
        "gid": 1000,
        "limits": sandbox.Limits(network="none", memory="2g", cpus=1.5, pids_limit=256),
        "repo_key": "key",
        "task_id": "abc",
        "run": 1,
        "host_pid": 4242,
    }
    given.update(changes)
    return sandbox.SandboxInputs(**given)  # type: ignore[arg-type]


def by_target(spec: ContainerSpec) -> dict[str, BindMount]:
    return {b.target: b for b in spec.binds}


def test_the_container_is_hardened_and_limited(tmp_path: Path) -> None:
    spec = sandbox.container_spec(inputs(tmp_path))
    assert spec.user == "1000:1000"
    assert spec.cap_drop == ("ALL",) and spec.security_opt == ("no-new-privileges",)
    assert (spec.network, spec.memory, spec.cpus, spec.pids_limit) == ("none", "2g", 1.5, 256)
    assert spec.memory_swap == spec.memory  # swap capped at the memory limit: none more
    assert spec.working_dir == WORKDIR and spec.image == "agent:1"
    assert spec.labels[naming.LABEL_TASK] == "abc" and spec.labels[naming.LABEL_HOST_PID] == "4242"
    assert "IS_SANDBOX" not in spec.environment
    assert sandbox.describe(spec) == (
        "user 1000:1000, cap_drop ALL, no-new-privileges, network none, memory 2g, "
        "cpus 1.5, pids 256"
    )


def test_root_on_the_host_is_told_the_container_is_the_sandbox(tmp_path: Path) -> None:
    spec = sandbox.container_spec(inputs(tmp_path, uid=0))
    assert spec.user == "0:1000" and spec.environment["IS_SANDBOX"] == "1"


def test_only_the_run_s_folders_are_mounted(tmp_path: Path) -> None:
    given = inputs(tmp_path)
    spec = sandbox.container_spec(given)
    mounts = by_target(spec)
    common = str(given.paths.common_dir)
    assert mounts[WORKDIR] == BindMount(str(tmp_path / "wt"), WORKDIR)
    assert mounts[DEFAULT_PROMPT_FILE].read_only
    assert mounts[common] == BindMount(common, common, read_only=True)
    assert mounts[f"{common}/config"] == BindMount(
        str(given.paths.git_config), f"{common}/config", read_only=True
    )
    assert not mounts[str(given.paths.admin)].read_only
    assert mounts[sandbox.OBJECTS_IN_CONTAINER].source == str(given.paths.objects)
    assert mounts["/home/agent/.claude"].source == str(tmp_path / "state")
    assert mounts[credentials.IN_CONTAINER] == BindMount(
        str(given.paths.credentials), credentials.IN_CONTAINER, read_only=True
    )
    assert len(spec.binds) == 8
    writable = {b.target for b in spec.binds if not b.read_only}
    assert writable == {
        WORKDIR,
        str(given.paths.admin),
        sandbox.OBJECTS_IN_CONTAINER,
        "/home/agent/.claude",
    }
    assert spec.tmpfs == (str(given.paths.private_dir),)  # the tool's folder is hidden
    for bind in spec.binds:
        assert "docker.sock" not in bind.source and ".ssh" not in bind.source


def test_no_state_folder_and_no_private_folder(tmp_path: Path) -> None:
    given = inputs(tmp_path, agent_state_dir=None)
    spec = sandbox.container_spec(given)
    assert "/home/agent/.claude" not in by_target(spec) and len(spec.binds) == 7
    paths = given.paths
    bare = inputs(tmp_path, paths=sandbox.RunPaths(**{**paths.__dict__, "private_dir": None}))
    assert sandbox.container_spec(bare).tmpfs == ()


def test_credentials_are_files_the_command_exports_never_the_environment(
    tmp_path: Path,
) -> None:
    given = inputs(tmp_path)
    spec = sandbox.container_spec(given)
    assert "ANTHROPIC_API_KEY" not in spec.environment
    assert spec.credential_names == ("ANTHROPIC_API_KEY",)
    # the agent's command runs once the files are exported
    assert spec.command == credentials.wrap(given.command)
    assert spec.command[:2] == ("sh", "-c") and spec.command[4:] == given.command
    line = sandbox.environment_line(spec)
    assert line.endswith("; from the host, as files: ANTHROPIC_API_KEY")
    env = spec.environment
    assert env["GIT_AUTHOR_NAME"] == env["GIT_COMMITTER_NAME"] == "Ada"
    assert env["GIT_OBJECT_DIRECTORY"] == sandbox.OBJECTS_IN_CONTAINER
    assert env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] == f"{tmp_path}/repo/.git/objects"
    assert env["TASK_ID"] == "abc"


def test_without_credentials_nothing_is_mounted_or_wrapped(tmp_path: Path) -> None:
    given = inputs(tmp_path, credential_names=())
    spec = sandbox.container_spec(given)
    assert spec.command == given.command and credentials.IN_CONTAINER not in by_target(spec)


def test_the_spec_cannot_be_changed_after_the_policy_made_it(tmp_path: Path) -> None:
    spec = sandbox.container_spec(inputs(tmp_path))
    with pytest.raises(AttributeError):
        spec.cap_drop = ()  # type: ignore[misc]


def test_with_the_allow_list_the_proxy_is_the_only_way_out(tmp_path: Path) -> None:
    from gittask.runner import egress

    limits = sandbox.Limits(network="host", memory="2g", cpus=1.5, pids_limit=256)
    plain = sandbox.container_spec(inputs(tmp_path, limits=limits))
    spec = sandbox.container_spec(inputs(tmp_path, limits=limits, egress_dir=tmp_path / "egress"))
    assert plain.network == "host" and "HTTPS_PROXY" not in plain.environment
    assert spec.network == "none"  # whatever the limits said
    assert by_target(spec)[egress.CONTAINER_DIR] == BindMount(
        str(tmp_path / "egress"), egress.CONTAINER_DIR, read_only=True
    )
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        assert spec.environment[name] == "http://127.0.0.1:3128"
    # the forwarder starts first, then the agent's own command, unchanged
    assert spec.command[:2] == ("sh", "-c")
    assert spec.command[-len(plain.command) :] == plain.command
    assert f"{egress.CONTAINER_DIR}/proxy.sock" in spec.command
