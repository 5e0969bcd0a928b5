"""Day-one commands around runs: stop, delete, local work left out (real Docker, git, origin)."""

from __future__ import annotations

import json
import subprocess
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


def test_local_work_on_the_base_is_named_and_base_local_takes_it(project: Project) -> None:
    (project.work / "local.txt").write_text("only here\n")
    git(project.work, "add", "local.txt")
    git(project.work, "commit", "-q", "-m", "local only")
    local_commit = git(project.work, "rev-parse", "HEAD")
    (project.work / "app.txt").write_text("line 1\nedited, not committed\n")
    proc = project.cli("task", "create", "-m", "Without my commit")
    assert proc.returncode == 0, proc.stderr
    assert (
        "note: your local develop has 1 commit(s) not on origin/develop and 1 file(s) with "
        "uncommitted changes: the run starts from origin/develop and leaves them out "
        "(--base-local starts from your local develop; commit first"
    ) in proc.stderr
    without = project.show(proc.stdout.strip().splitlines()[-1])["branch_name"]
    assert (
        subprocess.run(
            ["git", "merge-base", "--is-ancestor", local_commit, without], cwd=project.work
        ).returncode
        == 1
    )
    proc = project.cli("task", "create", "--base-local", "-m", "With my commit")
    assert proc.returncode == 0, proc.stderr
    assert "note: starting from your local develop; your 1 uncommitted change(s)" in proc.stderr
    with_it = project.show(proc.stdout.strip().splitlines()[-1])["branch_name"]
    assert (
        subprocess.run(
            ["git", "merge-base", "--is-ancestor", local_commit, with_it], cwd=project.work
        ).returncode
        == 0
    )
    # nothing left out: no note
    git(project.work, "checkout", "-q", "--", "app.txt")
    git(project.work, "push", "-q", "origin", "develop")
    quiet = project.cli("task", "create", "-m", "Clean base")
    assert quiet.returncode == 0 and "note: your local" not in quiet.stderr


def test_diff_and_checkout_show_the_work(project: Project) -> None:
    proc = project.cli("task", "create", "-m", "Write something")
    assert proc.returncode == 0, proc.stderr
    task_id = proc.stdout.strip().splitlines()[-1]
    branch = project.show(task_id)["branch_name"]
    diff = project.cli("task", "diff", task_id[:8], env={"GIT_PAGER": "cat"})
    assert diff.returncode == 0, diff.stderr
    changed = git(project.work, "diff", "--name-only", f"origin/develop...{branch}").split()
    assert changed and all(f"b/{name}" in diff.stdout for name in changed)
    stat = project.cli("task", "diff", task_id, "--stat", env={"GIT_PAGER": "cat"})
    assert "changed" in stat.stdout and "+++" not in stat.stdout
    # from the remote when the local branch is gone
    git(project.work, "branch", "-D", branch)
    checked = project.cli("task", "checkout", task_id)
    assert checked.returncode == 0, checked.stderr
    assert git(project.work, "symbolic-ref", "--short", "HEAD") == branch
    git(project.work, "switch", "-q", "develop")
    assert project.cli("task", "checkout", task_id).returncode == 0  # local this time
    git(project.work, "switch", "-q", "develop")
    pending = project.cli("task", "create", "--no-run", "-m", "Not yet").stdout.strip()
    for command in ("diff", "checkout"):
        refused = project.cli("task", command, pending)
        assert refused.returncode == 1
        assert "has no branch" in refused.stderr and f"task start {pending[:8]}" in refused.stderr
