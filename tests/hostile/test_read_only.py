"""Reading tasks needs no write access, and the repository is found as git finds it.

The threats: a read-only ``.git`` (a shared checkout, a read-only mount, another
user's clone) and a full disk made every read fail, because the index under
``.git/claude-tasks`` had to be written first; and ``GIT_DIR`` naming a folder
that is not a repository silently used the current folder's repository. Reads
now go on from the ref with one warning line, and a bad ``GIT_DIR`` is an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gittask.store import layout, runlogs
from gittask.store.repo import GitRepo
from tests.conftest import init_repo, run_cli
from tests.hostile.support import ANSWER_WITHIN, git_out
from tests.run_support import docker_available, unprivileged_project

RUN_OUTPUT = "the agent's output of run 1\n"

Run = Callable[..., subprocess.CompletedProcess[str]]


def _tasks(run: Run, count: int = 2) -> list[str]:
    ids = []
    for number in range(count):
        proc = run("task", "create", "--no-run", "-m", f"Readable task {number}")
        assert proc.returncode == 0, proc.stderr
        ids.append(proc.stdout.strip().splitlines()[-1])
    return ids


def _store_logs(work: Path, task_id: str) -> None:
    """Run 1's logs on the task's logs ref, as a run in any clone leaves them."""
    import pygit2

    owner = pygit2.enums.Option.GET_OWNER_VALIDATION
    checked = pygit2.option(owner)
    pygit2.option(pygit2.enums.Option.SET_OWNER_VALIDATION, 0)  # uid 1000's clone, as root
    try:
        repo = GitRepo(git_dir=work / ".git", workdir=work)
        info = {"run": 1, "agent": "", "completed_at": datetime.now(UTC).isoformat()}
        files = {runlogs.AGENT_LOG: RUN_OUTPUT.encode(), runlogs.EXECUTION_LOG: b"exec\n"}
        runlogs.store_run(repo, task_id, 1, info, files)
    finally:
        pygit2.option(pygit2.enums.Option.SET_OWNER_VALIDATION, checked)


def _runner(repo: Path) -> Run:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(repo, *args, timeout=60)

    return run


def _snapshot(git_dir: Path) -> dict[str, tuple[int, int]]:
    """Every file under .git with its size and modification time."""
    found = {}
    for dirpath, _, files in os.walk(git_dir):
        for name in files:
            path = Path(dirpath) / name
            stat = path.lstat()
            found[str(path.relative_to(git_dir))] = (stat.st_size, stat.st_mtime_ns)
    return found


def _assert_reads(run: Run, ids: list[str], reason: str) -> None:
    """list, show, search, history and logs answer from the ref, with one warning each."""
    checks = [
        (("task", "list"), "Readable task 0"),
        (("task", "show", ids[0][:8]), "Readable task 0"),
        (("task", "search", "readable"), "Readable task 1"),
        (("task", "history"), "Readable task 1"),
        (("task", "logs", ids[0][:8], "--raw"), RUN_OUTPUT.strip()),
    ]
    for args, expected in checks:
        proc = run(*args)
        assert proc.returncode == 0, f"{args}: {proc.stderr}"
        assert expected in proc.stdout, f"{args}: {proc.stdout}"
        lines = proc.stderr.splitlines()
        assert len(lines) == 1, f"{args}: {proc.stderr}"
        assert lines[0].startswith("warning: ") and reason in lines[0], lines[0]
        assert f"reading tasks from {layout.DATA_REF} directly" in lines[0]


def _assert_refused(proc: subprocess.CompletedProcess[str]) -> None:
    """A change is refused in one error line (the ref and the index stay as they were)."""
    assert proc.returncode == 1, proc.stdout
    assert proc.stderr.splitlines() == [proc.stderr.strip()], proc.stderr
    assert proc.stderr.startswith("error: ")
    assert "Traceback" not in proc.stderr


# -- a read-only .git -----------------------------------------------------------------------


@pytest.mark.skipif(not docker_available(), reason="the uid-1000 helper needs the docker socket")
@pytest.mark.parametrize("index", ["current", "absent"])
def test_reads_work_on_a_read_only_git_folder(tmp_path: Path, index: str) -> None:
    with unprivileged_project(tmp_path, "no-image-needed") as (uid, project):
        assert uid != 0, "root ignores file permissions: the reads must run as another user"

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return project.cli(*args, timeout=60)

        ids = _tasks(run)
        _store_logs(project.work, ids[0])
        subprocess.run(["chown", "-R", f"{uid}:{uid}", str(project.common)], check=True)
        if index == "absent":
            shutil.rmtree(project.state)
        tip = git_out(project.work, "rev-parse", layout.DATA_REF)
        subprocess.run(["chmod", "-R", "a-w", str(project.common)], check=True)
        try:
            before = _snapshot(project.common)
            reason = "attempt to write a readonly database" if index == "current" else ""
            _assert_reads(run, ids, reason)
            _assert_refused(run("task", "create", "--no-run", "-m", "Cannot be stored"))
            assert _snapshot(project.common) == before
            assert git_out(project.work, "rev-parse", layout.DATA_REF) == tip
        finally:
            subprocess.run(["chmod", "-R", "u+w", str(project.common)], check=True)


@contextmanager
def _mounted(*commands: list[str], target: Path) -> Iterator[None]:
    done = []
    try:
        for command in commands:
            proc = subprocess.run(command, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                pytest.skip(f"cannot mount here: {proc.stderr.strip()}")
            done.append(command)
        yield
    finally:
        if done:
            subprocess.run(["umount", "-l", str(target)], check=False)


@pytest.mark.skipif(os.getuid() != 0, reason="mounting needs root")
def test_reads_work_on_a_read_only_mount_even_for_root(tmp_path: Path) -> None:
    """root ignores permissions, not a read-only mount (EROFS)."""
    repo = init_repo(tmp_path / "repo")
    run = _runner(repo)
    ids = _tasks(run)
    _store_logs(repo, ids[0])
    git_dir = repo / ".git"
    with _mounted(
        ["mount", "--bind", str(git_dir), str(git_dir)],
        ["mount", "-o", "remount,bind,ro", str(git_dir)],
        target=git_dir,
    ):
        before = _snapshot(git_dir)
        _assert_reads(run, ids, "")
        assert _snapshot(git_dir) == before


# -- a full disk ------------------------------------------------------------------------


@pytest.mark.skipif(os.getuid() != 0, reason="mounting needs root")
@pytest.mark.parametrize("index", ["current", "absent"])
def test_reads_work_on_a_full_disk(tmp_path: Path, index: str) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    with _mounted(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], target=disk):
        repo = init_repo(disk / "repo")
        run = _runner(repo)
        ids = _tasks(run)
        _store_logs(repo, ids[0])
        assert run("task", "list").returncode == 0  # the index is current
        if index == "absent":
            shutil.rmtree(repo / ".git" / "claude-tasks")
        with open(disk / "filler", "wb") as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError:
                pass
        tip = git_out(repo, "rev-parse", layout.DATA_REF)
        _assert_reads(run, ids, "")
        _assert_refused(run("task", "create", "--no-run", "-m", "No room"))
        assert git_out(repo, "rev-parse", layout.DATA_REF) == tip


# -- GIT_DIR and GIT_WORK_TREE ------------------------------------------------------------


def _in_env(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, *args, env=env, timeout=ANSWER_WITHIN * 4)


@pytest.mark.parametrize("value", ["/nonexistent", "", "relative/missing", "."])
def test_a_git_dir_that_is_not_a_repository_is_an_error_not_the_current_one(
    tmp_path: Path, value: str
) -> None:
    repo = init_repo(tmp_path / "repo")
    _tasks(_runner(repo))
    tip = git_out(repo, "rev-parse", layout.DATA_REF)
    for args in (("task", "list"), ("task", "create", "--no-run", "-m", "Where to?")):
        proc = _in_env(repo, {"GIT_DIR": value}, *args)
        assert proc.returncode == 1, proc.stdout
        assert proc.stdout == ""
        assert proc.stderr.splitlines() == [proc.stderr.strip()]
        assert proc.stderr.startswith(f"error: GIT_DIR={value} does not name a git repository")
    assert git_out(repo, "rev-parse", layout.DATA_REF) == tip


def test_git_dir_and_work_tree_are_honoured_from_any_folder(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    elsewhere = init_repo(tmp_path / "elsewhere")  # the current folder's own repository
    ids = _tasks(_runner(repo))
    env = {"GIT_DIR": "../repo/.git", "GIT_WORK_TREE": "../repo"}

    listing = _in_env(elsewhere, env, "task", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    assert {ids[0], ids[1]} <= set(listing.stdout.split('"')), listing.stdout
    created = _in_env(elsewhere, env, "task", "create", "--no-run", "-m", "Through GIT_DIR")
    assert created.returncode == 0, created.stderr
    new = created.stdout.strip().splitlines()[-1]
    assert git_out(repo, "cat-file", "-t", f"{layout.DATA_REF}:{layout.task_dir(new)}") == "tree"
    assert (
        subprocess.run(
            ["git", "rev-parse", "--verify", "-q", layout.DATA_REF], cwd=elsewhere, check=False
        ).returncode
        != 0
    )  # the current folder's repository was never touched

    # a bare repository through GIT_DIR: its tasks list
    bare = tmp_path / "bare.git"
    git_out(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    git_out(bare, "update-ref", layout.DATA_REF, git_out(repo, "rev-parse", layout.DATA_REF))
    proc = _in_env(elsewhere, {"GIT_DIR": str(bare)}, "task", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    assert new in proc.stdout


def test_a_work_tree_that_is_not_a_folder_is_an_error(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    proc = _in_env(repo, {"GIT_WORK_TREE": str(tmp_path / "missing")}, "task", "list")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error: GIT_WORK_TREE={tmp_path / 'missing'}: the work tree {tmp_path / 'missing'} "
        "is not a folder (fix or unset the variable)"
    ]
