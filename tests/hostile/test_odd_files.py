"""Big and odd files in the agent's commits are not pushed unless someone says so.

The threat: an agent commits a file of gigabytes, a nested repository (a gitlink,
mode 160000) or a symlink to ``/home/you/.ssh`` or ``../../..``, and the run
pushes it to the team's remote. Now the push (of a run, and ``task push``)
looks at every commit it would send; an odd file keeps the work on the local
branch, the task says which file and why, and ``--allow-odd-files`` pushes it.

The runs use the in-memory engine (tests/memory_engine.py): real git, a real
bare remote, the real pipeline; the "agent" is a Python function writing
through the worktree's mount.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gittask.config import ConfigFile, load_config
from gittask.errors import GittaskError
from gittask.runner.worktree.oddfiles import escapes
from gittask.workflow.database import open_database
from gittask.workflow.records import record_task
from gittask.workflow.republish import publish_task
from gittask.workflow.run import RunRequest, RunResult, preflight, run_task
from tests.conftest import Team, git, run_cli
from tests.memory_engine import MemoryContainer, MemoryEngine

MiB = 1024 * 1024


@pytest.fixture
def work(team: Team) -> Path:
    path = team.clone("work")
    config = ConfigFile.open(path)
    for key, value in {
        "agent": "command",
        "agent_command": "do-the-task",
        "image": "agent:test",
    }.items():
        config.set(key, value)
    config.save()
    return path


def _run(
    work: Path, program: Callable[[Path], None], allow: bool = False, **settings: str
) -> RunResult:
    config = ConfigFile.open(work)
    for key, value in settings.items():
        config.set(key, value)
    config.save()
    db = open_database(work)
    task = record_task(db, "Do something odd", None, None)

    def container(c: MemoryContainer) -> int:
        workspace = c.host("/workspace")
        (workspace / "ok.txt").write_text("fine\n")
        program(workspace)
        return 0

    engine = MemoryEngine(container)
    request = RunRequest(task_id=task.id, allow_odd_files=allow)
    return run_task(db, request, preflight(db, engine=engine))


def _refused(result: RunResult, team: Team, work: Path, *needles: str) -> dict[str, object]:
    """Not pushed, kept locally, and the record says which file and why."""
    task = result.task
    assert not result.success and result.error is not None, result.error
    assert "not pushed" in result.error and "--allow-odd-files" in result.error
    for needle in needles:
        assert needle in result.error
    assert task.status.value == "failed" and task.publish_error is not None
    assert task.publish_error.startswith("odd files: ")
    assert team.remote_ref(f"refs/heads/{task.branch_name}") == ""  # nothing pushed
    local = git(work, "rev-parse", f"refs/heads/{task.branch_name}")
    assert local == task.commit_hash and task.commits  # the work is kept, locally
    folder = open_database(work).logs_folder(task.id) / "run-001"
    info: dict[str, object] = json.loads((folder / "run.json").read_text())
    assert info["odd_files"]
    return info


def _show(work: Path, task_id: str) -> str:
    proc = run_cli(work, "task", "show", task_id)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_file_over_the_default_limit(work: Path, team: Team) -> None:
    def program(ws: Path) -> None:
        (ws / "data").mkdir()
        with (ws / "data" / "dump.bin").open("wb") as handle:
            handle.truncate(51 * MiB)  # 51 MiB of zeros: over 50 MiB

    result = _run(work, program)
    info = _refused(result, team, work, "data/dump.bin", "51.0 MiB", "files.max_bytes (50.0 MiB)")
    assert info["odd_files"] == [
        {
            "path": "data/dump.bin",
            "commit": result.task.commit_hash,
            "why": "51.0 MiB, over files.max_bytes (50.0 MiB)",
        }
    ]


def test_a_file_over_the_setting_then_pushed_with_the_flag(work: Path, team: Team) -> None:
    def program(ws: Path) -> None:
        (ws / "big.txt").write_text("x" * 5000)

    result = _run(work, program, **{"files.max_bytes": "4096"})
    _refused(result, team, work, "big.txt")
    task = result.task
    db = open_database(work)
    config = load_config(db.repo)
    with pytest.raises(GittaskError) as refused:  # `task push ID` refuses too
        publish_task(db, task.id, config)
    assert "big.txt" in refused.value.message and "--allow-odd-files" in str(refused.value.hint)
    assert team.remote_ref(f"refs/heads/{task.branch_name}") == ""
    lines = publish_task(db, task.id, config, allow_odd_files=True)
    assert any("--allow-odd-files: big.txt" in line for line in lines)
    assert team.remote_ref(f"refs/heads/{task.branch_name}") == task.commit_hash
    final = db.task(task.id)
    assert final.status.value == "created" and final.publish_error is None


def test_a_file_added_then_removed_is_still_in_the_push(work: Path, team: Team) -> None:
    def program(ws: Path) -> None:
        (ws / "huge.bin").write_bytes(b"\0" * 5000)
        who = ["-c", "user.name=a", "-c", "user.email=a@b"]
        for args in (["add", "-A"], ["commit", "-qm", "add"], ["rm", "-q", "huge.bin"]):
            subprocess.run(["git", *who, *args], cwd=ws, check=True)
        subprocess.run(["git", *who, "commit", "-qm", "rm"], cwd=ws, check=True)

    result = _run(work, program, **{"files.max_bytes": "4096"})
    _refused(result, team, work, "huge.bin")


def test_a_nested_repository(work: Path, team: Team) -> None:
    def program(ws: Path) -> None:
        nested = ws / "vendor" / "lib"
        nested.mkdir(parents=True)
        env = {**os.environ, "GIT_DIR": str(nested / ".git"), "GIT_WORK_TREE": str(nested)}
        subprocess.run(["git", "init", "-q"], check=True, env=env)
        (nested / "x.c").write_text("int x;\n")
        subprocess.run(["git", "add", "x.c"], check=True, env=env, cwd=nested)
        subprocess.run(
            ["git", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "x"],
            check=True,
            env=env,
            cwd=nested,
        )

    result = _run(work, program)
    _refused(result, team, work, "vendor/lib (a nested repository (gitlink to ")
    tree = git(work, "ls-tree", "-r", result.task.commit_hash)
    assert "160000 commit" in tree  # what the agent left: a gitlink


def test_a_symlink_to_an_absolute_path(work: Path, team: Team) -> None:
    def program(ws: Path) -> None:
        os.symlink("/home/you/.ssh/id_ed25519", ws / "key")

    result = _run(work, program)
    _refused(result, team, work, "key (a symlink to '/home/you/.ssh/id_ed25519', outside")


def test_a_symlink_escaping_with_dots(work: Path, team: Team) -> None:
    def program(ws: Path) -> None:
        (ws / "docs").mkdir()
        os.symlink("../../../etc", ws / "docs" / "etc")

    result = _run(work, program)
    _refused(result, team, work, "docs/etc (a symlink to '../../../etc', outside")
    assert "not published:" in _show(work, result.task.id)


def test_a_symlink_escaping_through_another_symlink(work: Path, team: Team) -> None:
    """``sub/a -> d/..`` reads as staying in ``sub``, but ``sub/d -> ..`` is the top:
    ``sub/a`` is the folder above the worktree."""

    def program(ws: Path) -> None:
        (ws / "sub").mkdir()
        os.symlink("..", ws / "sub" / "d")
        os.symlink("d/..", ws / "sub" / "a")

    result = _run(work, program)
    _refused(result, team, work, "sub/a (a symlink to 'd/..', outside")


def test_symlinks_inside_the_worktree_and_small_files_are_pushed(work: Path, team: Team) -> None:
    def program(ws: Path) -> None:
        (ws / "sub").mkdir()
        os.symlink("../ok.txt", ws / "sub" / "ok")
        os.symlink("sub/../ok.txt", ws / "same")
        os.symlink("sub", ws / "alias")
        os.symlink("alias/ok", ws / "via-alias")

    result = _run(work, program)
    assert result.success, result.error
    assert team.remote_ref(f"refs/heads/{result.task.branch_name}") == result.task.commit_hash


def test_the_flag_pushes_them_and_says_so(work: Path, team: Team) -> None:
    def program(ws: Path) -> None:
        os.symlink("/etc/passwd", ws / "passwd")

    result = _run(work, program, allow=True)
    assert result.success, result.error
    assert team.remote_ref(f"refs/heads/{result.task.branch_name}") == result.task.commit_hash
    folder = open_database(work).logs_folder(result.task.id) / "run-001"
    assert "--allow-odd-files: passwd" in (folder / "execution.log").read_text()


@pytest.mark.parametrize(
    ("path", "links", "outside"),
    [
        ("a", {"a": "b"}, False),
        ("a", {"a": "/b"}, True),
        ("x/a", {"x/a": "../b"}, False),
        ("x/a", {"x/a": "../../b"}, True),
        ("x/a", {"x/a": "./../y/./../.."}, True),
        ("a", {"a": "a"}, True),  # a loop is no file of the worktree either
        ("x/a", {"x/a": "l/../..", "x/l": "y/z"}, False),  # x
        ("x/a", {"x/a": "l/..", "x/l": "/etc"}, True),
        ("x/a", {"x/a": "l/..", "x/l": "../.."}, True),
    ],
)
def test_how_a_symlink_is_resolved(path: str, links: dict[str, str], outside: bool) -> None:
    assert escapes(path, links) is outside


# -- the same through the CLI, with a real container ----------------------------------------


def test_the_cli_says_which_files_and_task_push_takes_the_flag(tmp_path: Path) -> None:
    from tests.run_support import Project, build_image, docker_available

    if not docker_available():
        pytest.skip("no Docker engine")
    project = Project(tmp_path / "p", build_image()).setup()
    project.configure(
        agent="command",
        agent_command="echo hi > hi.txt; ln -s /etc/shadow shadow; mkdir d; ln -s ../.. d/up",
    )
    proc = project.cli("task", "create", "-m", "Link things")
    assert proc.returncode == 1, proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("error: ")]
    assert "not pushed" in line and "--allow-odd-files" in line
    assert "shadow (a symlink to '/etc/shadow', outside the worktree)" in line
    assert "d/up (a symlink to '../..', outside the worktree)" in line
    task = project.tasks()[0]
    branch = project.show(task["id"])["branch_name"]
    assert project.remote_branch(branch) == ""
    shown = project.cli("task", "show", task["id"]).stdout
    assert "not published:" in shown and "odd files: " in shown and "shadow" in shown
    refused = project.cli("task", "push", task["id"])
    assert refused.returncode == 1 and "shadow" in refused.stderr
    assert "Traceback" not in refused.stderr and project.remote_branch(branch) == ""
    pushed = project.cli("task", "push", task["id"], "--allow-odd-files")
    assert pushed.returncode == 0, pushed.stderr
    assert project.remote_branch(branch) == project.show(task["id"])["commit_hash"]
    assert project.show(task["id"])["status"] == "created"
    assert project.containers() == []
