"""Runs on another Docker engine: nothing mounted, the worktree in and the work out as git objects.

The other engine is a second dockerd on this machine that cannot see the
client's folders (tests/engine_support.py), reached through ``DOCKER_HOST`` or
a docker context pinned with ``config set engine``. The host, not the
container, pushes the work branch.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gittask.runner import sandbox
from gittask.runner.agents.base import WORKDIR
from tests.engine_support import can_start_engine, can_start_sshd, docker, second_engine, ssh_engine
from tests.run_support import Project, build_git_image, build_image, docker_available, git

pytestmark = pytest.mark.skipif(
    not docker_available() or can_start_engine() is not None,
    reason=f"a second engine cannot run here: {can_start_engine() or 'no Docker engine'}",
)


@pytest.fixture(scope="module")
def git_image() -> str:
    image = build_git_image(build_image())
    assert image is not None, "no git to put in the test image"
    return image


@pytest.fixture(scope="module")
def engine(git_image: str) -> Iterator[str]:
    with second_engine((git_image,)) as host:
        yield host


def started_there(host: str, task_id: str) -> int:
    """Containers the engine at ``host`` started for the task (its event log, which
    may lag a moment behind)."""
    found = 0
    for _ in range(20):
        proc = docker(
            host, "events", "--since", "0", "--until", f"{time.time():.3f}",
            "--filter", "event=start", "--format", "{{json .Actor.Attributes}}",
        )  # fmt: skip
        lines = proc.stdout.splitlines()
        found = sum(json.loads(x).get("gittask.task_id") == task_id for x in lines)
        if found:
            return found
        time.sleep(0.5)
    return found


def test_the_policy_without_mounts_mounts_nothing(tmp_path: Path) -> None:
    paths = sandbox.RunPaths(
        worktree=tmp_path / "w",
        admin=tmp_path / "a",
        objects=tmp_path / "o",
        git_config=tmp_path / "c",
        prompt_file=tmp_path / "p",
        common_dir=tmp_path / ".git",
        private_dir=tmp_path / ".git" / "claude-tasks",
    )
    given = sandbox.SandboxInputs(
        image="agent:test", name="n", command=("claude", "-p"), agent_environment={},
        agent_state_dir="/home/agent/.claude", credential_names=("K",), git_name="A",
        git_email="a@example.com", paths=paths, uid=1000, gid=1000, limits=sandbox.Limits(),
        repo_key="k", task_id="t", run=1, host_pid=1, workspace="bundle", start="c0ffee",
    )  # fmt: skip
    spec = sandbox.container_spec(given)
    assert spec.binds == () and spec.tmpfs == ()
    assert spec.cap_drop == ("ALL",) and spec.user == "1000:1000" and spec.working_dir == WORKDIR
    assert spec.command[-2:] == ("claude", "-p") and spec.environment["GITTASK_START"] == "c0ffee"
    assert str(tmp_path) not in json.dumps(dict(spec.environment))
    # the credential travels as a file copied in with the workspace, not in the configuration
    assert spec.credential_names == ("K",) and "K" not in spec.environment
    assert "/run/gittask/credentials" in " ".join(spec.command)


def test_a_task_runs_on_an_engine_that_cannot_see_this_machine(
    tmp_path: Path, git_image: str, engine: str
) -> None:
    project = Project(tmp_path / "p", git_image, env={"DOCKER_HOST": engine}).setup()
    project.configure(workspace="bind")
    refused = project.cli("task", "create", "-m", "Mounted")
    assert refused.returncode != 0
    assert "bind source path does not exist" in refused.stderr, refused.stderr

    project.configure(workspace="auto")  # a unix socket: auto would mount
    assert project.cli("config", "set", "workspace", "bundle").returncode == 0
    done = project.cli("task", "create", "-m", "Remote one\n\nWrite it down.")

    assert done.returncode == 0, done.stderr
    task_id = done.stdout.strip().splitlines()[-1]
    task = project.show(task_id)
    assert task["status"] == "created" and len(task["commits"]) == 1
    head = project.remote_branch(task["branch_name"])
    assert head == task["commit_hash"]  # pushed by the host
    assert git(project.origin, "show", f"{head}:agent_notes.md") == "- # Task: Remote one"
    assert started_there(engine, task_id) == 1
    assert project.containers() == []  # the default engine ran nothing


def test_build_and_runs_go_to_the_engine_config_engine_names(
    tmp_path: Path, git_image: str, engine: str
) -> None:
    project = Project(tmp_path / "p", git_image).setup()
    env = project.full_env(None)
    made = subprocess.run(
        ["docker", "context", "create", "second", "--docker", f"host={engine}"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    dockerfile = project.work / ".claude-container" / "Dockerfile.claude"
    dockerfile.write_text(f"FROM {git_image}\nUSER 1000:1000\nWORKDIR /workspace\n")
    project.configure(image=None, workspace="bundle")
    assert project.cli("config", "set", "engine", "second").returncode == 0

    built = project.cli("build", "--json")

    assert built.returncode == 0, built.stderr
    tag = json.loads(built.stdout)["tag"]
    assert docker(engine, "image", "inspect", tag).returncode == 0  # built there
    assert docker("unix:///var/run/docker.sock", "image", "inspect", tag).returncode != 0
    done = project.cli("task", "create", "-m", "Pinned one")
    assert done.returncode == 0, done.stderr
    assert started_there(engine, done.stdout.strip().splitlines()[-1]) == 1


def test_a_task_runs_on_an_engine_reached_over_ssh(
    tmp_path: Path, git_image: str, engine: str
) -> None:
    if can_start_sshd() is not None:
        pytest.skip(str(can_start_sshd()))
    with ssh_engine(engine) as (url, env):
        project = Project(tmp_path / "p", git_image, env={"DOCKER_HOST": url, **env}).setup()
        done = project.cli("task", "create", "-m", "Over ssh", timeout=300)

        assert done.returncode == 0, done.stderr
        task_id = done.stdout.strip().splitlines()[-1]
        task = project.show(task_id)
        assert task["status"] == "created"  # workspace auto: ssh:// is another host
        assert project.remote_branch(task["branch_name"]) == task["commit_hash"]
        assert started_there(engine, task_id) == 1
