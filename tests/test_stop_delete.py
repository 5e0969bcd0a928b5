"""Stopping a running task, and what deleting one does (real Docker, real git, a bare origin)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.run_support import Project, build_image, docker_available, git

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine")


@pytest.fixture(scope="session")
def image() -> str:
    return build_image()


@pytest.fixture
def project(tmp_path: Path, image: str) -> Iterator[Project]:
    proj = Project(tmp_path / "p", image).setup()
    yield proj
    assert proj.containers() == [], "a container was left behind"
    assert proj.leftovers() == [], "a worktree, run folder or marker was left behind"


def detached(project: Project, text: str) -> str:
    proc = project.cli("task", "create", "--detach", "-m", text)
    assert proc.returncode == 0, proc.stderr
    project.wait_for_marker("running")
    return proc.stdout.strip()


def test_stop_a_detached_run_from_another_terminal(project: Project) -> None:
    task_id = detached(project, "Slow work AGENT:SLEEP=60")
    proc = project.cli("task", "stop", task_id[:8])
    assert proc.returncode == 0, proc.stderr
    assert f"stopped task {task_id[:8]} (run 1" in proc.stderr
    assert f"task start {task_id[:8]}" in proc.stderr
    record = project.show(task_id)
    assert record["status"] == "failed"
    assert record["error_message"].startswith("stopped with `task stop` by Task User")
    assert not (project.state / "runs" / f"{task_id}.json").exists()
    # again: it is not running any more
    again = project.cli("task", "stop", task_id)
    assert again.returncode == 1 and "is not running (it is failed)" in again.stderr
    missing = project.cli("task", "stop", "ffffffff")
    assert missing.returncode == 1 and "no task matches" in missing.stderr


def test_delete_refuses_a_running_task_unless_forced(project: Project) -> None:
    task_id = detached(project, "Do not delete me yet AGENT:SLEEP=60")
    proc = project.cli("task", "delete", task_id, "--yes")
    assert proc.returncode == 1
    assert f"task {task_id[:8]} is running (run 1, pid" in proc.stderr
    assert f"task stop {task_id[:8]}" in proc.stderr and "--force" in proc.stderr
    assert project.show(task_id)["status"] == "running"
    forced = project.cli("task", "delete", task_id, "--yes", "--force")
    assert forced.returncode == 0, forced.stderr
    assert f"stopped task {task_id[:8]}" in forced.stderr
    assert f"deleted task {task_id[:8]}" in forced.stderr
    assert project.cli("task", "show", task_id).returncode == 1


def test_delete_names_what_it_leaves_and_removes_branches_on_request(project: Project) -> None:
    ids = []
    for text in ("First finished task", "Second finished task"):
        proc = project.cli("task", "create", "-m", text)
        assert proc.returncode == 0, proc.stderr
        ids.append(proc.stdout.strip().splitlines()[-1])
    branches = [project.show(t)["branch_name"] for t in ids]
    assert all(project.remote_branch(b) for b in branches)
    kept = project.cli("task", "delete", ids[0], "--yes")
    assert kept.returncode == 0, kept.stderr
    assert (
        f"left behind: local branch {branches[0]}, branch origin/{branches[0]} "
        "(delete with --branches removes them)"
    ) in kept.stderr
    assert project.remote_branch(branches[0])
    gone = project.cli("task", "delete", ids[1], "--yes", "--branches", "--json")
    assert gone.returncode == 0, gone.stderr
    [entry] = json.loads(gone.stdout)
    assert entry["removed"] == [f"local branch {branches[1]}", f"branch origin/{branches[1]}"]
    assert entry["local_branch"] is None and entry["remote_branch"] is None
    assert not project.remote_branch(branches[1])
    assert git(project.work, "branch", "--list", branches[1]) == ""
