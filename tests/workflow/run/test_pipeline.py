"""The run pipeline end to end on an in-memory engine: real git, a bare remote, no Docker.

What only Docker shows (the image, the hardening at work, real Claude Code)
stays in tests/workflow/test_run.py and tests/runner/agents/test_claude_container.py;
here the container is a Python function (tests/memory_engine.py) that writes
through the mounts the sandbox policy gave it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from gittask.config import ConfigFile
from gittask.runner import credentials, live, naming
from gittask.runner.logs import AGENT_LOG
from gittask.store.repo import GitRepo
from gittask.workflow.database import open_database
from gittask.workflow.records import record_task
from gittask.workflow.run import RunRequest, RunResult, preflight, run_task
from tests.conftest import Team, git
from tests.memory_engine import MemoryContainer, MemoryEngine, Program

TOKEN = "tok-0123456789abcdef-secret"


@pytest.fixture
def work(team: Team, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = team.clone("work")
    config = ConfigFile.open(path)
    for key, value in {
        "agent": "command",
        "agent_command": "do-the-task",
        "image": "agent:test",
        "env": "GITTASK_TEST_TOKEN",
    }.items():
        config.set(key, value)
    config.save()
    monkeypatch.setenv("GITTASK_TEST_TOKEN", TOKEN)
    return path


def run(work: Path, program: Program, **config: str) -> tuple[RunResult, MemoryEngine]:
    if config:
        settings = ConfigFile.open(work)
        for key, value in config.items():
            settings.set(key, value)
        settings.save()
    db = open_database(work)
    task = record_task(db, "Add a greeting\n\nSay hello.", None, None)
    engine = MemoryEngine(program)
    said: list[str] = []
    result = run_task(
        db, RunRequest(task_id=task.id, say=said.append), preflight(db, engine=engine)
    )
    return result, engine


def writes(name: str, text: str) -> Program:
    def program(c: MemoryContainer) -> int:
        (c.host("/workspace") / name).write_text(text)
        c.print(f"wrote {name}\n")
        return 0

    return program


def nothing_left(work: Path, engine: MemoryEngine) -> None:
    repo = GitRepo.discover(work)
    assert engine.live == [], "a container was left"
    assert list(naming.worktrees_dir(repo).glob("*")) == [], "a worktree was left"
    assert live.all_markers(repo) == [], "the live-run marker was left"


def test_a_run_commits_pushes_and_records(work: Path, team: Team) -> None:
    seen: dict[str, str] = {}

    def program(c: MemoryContainer) -> int:
        seen.update(c.env())
        return writes("hello.txt", "hello\n")(c)

    result, engine = run(work, program)
    assert seen["GITTASK_TEST_TOKEN"] == TOKEN  # the credential reached the agent
    assert result.success, result.error
    task = result.task
    assert task.status.value == "created" and task.run_count == 1
    assert len(result.commits) == 1 and task.commit_hash == result.commits[0]
    message = git(work, "log", "-1", "--format=%B", task.branch_name)
    assert f"Task-Id: {task.id}" in message and "Task-Run: 1" in message
    assert git(work, "show", f"{task.branch_name}:hello.txt") == "hello"
    assert team.remote_ref(f"refs/heads/{task.branch_name}") == task.commit_hash
    assert not (work / "hello.txt").exists()  # the user's checkout is untouched
    nothing_left(work, engine)
    (spec,) = [c.spec for c in engine.created.values()]
    assert spec.cap_drop == ("ALL",) and spec.security_opt == ("no-new-privileges",)
    assert spec.user == f"{os.getuid()}:{os.getgid()}"
    assert spec.credential_names == ("GITTASK_TEST_TOKEN",)
    assert TOKEN not in str(dict(spec.environment)) and TOKEN not in repr(spec)
    (folder,) = [b.source for b in spec.binds if b.target == credentials.IN_CONTAINER]
    assert not Path(folder).exists()  # the credential files are gone with the run
    folder = open_database(work).logs_folder(task.id) / "run-001"
    execution = (folder / "execution.log").read_text()
    assert "container removed" in execution and "worktree removed" in execution
    assert "wrote hello.txt" in (folder / AGENT_LOG).read_text()


def test_work_holding_a_credential_is_refused(work: Path, team: Team) -> None:
    result, engine = run(work, writes("config.txt", f"token = {TOKEN}\n"))
    assert not result.success
    assert result.error is not None and "refused the agent's work" in result.error
    assert "GITTASK_TEST_TOKEN" in result.error and TOKEN not in result.error
    branch = result.task.branch_name
    assert git(work, "rev-parse", "--verify", "-q", f"refs/heads/{branch}", check=False) == ""
    assert team.remote_ref(f"refs/heads/{branch}") == ""
    assert result.task.status.value == "failed" and result.task.commits == []
    nothing_left(work, engine)


def test_an_agent_that_changes_nothing_fails(work: Path) -> None:
    def talks(c: MemoryContainer) -> int:
        c.print("all good already\n")
        return 0

    result, engine = run(work, talks)
    assert not result.success and result.error is not None
    assert "changed nothing" in result.error and "all good already" in result.error
    nothing_left(work, engine)


def test_nothing_is_taken_while_the_container_may_still_run(work: Path) -> None:
    engine_box: list[MemoryEngine] = []

    def then_engine_hangs(c: MemoryContainer) -> int:
        (c.host("/workspace") / "late.txt").write_text("late\n")
        engine_box[0].refuse_remove = True
        return 0

    db = open_database(work)
    task = record_task(db, "Write late", None, None)
    engine = MemoryEngine(then_engine_hangs)
    engine_box.append(engine)
    result = run_task(db, RunRequest(task_id=task.id), preflight(db, engine=engine))
    assert not result.success and result.error is not None
    assert "could not remove the container" in result.error
    assert result.commits == []
    assert git(work, "branch", "--list", task.branch_name) == ""  # nothing harvested


def test_a_run_past_its_time_is_stopped(work: Path) -> None:
    def waits(c: MemoryContainer) -> int:
        (c.host("/workspace") / "partial.txt").write_text("half\n")
        c.print("working\n")
        c.killed.wait(30)
        return 0

    result, engine = run(work, waits, timeout_seconds="1")
    assert not result.success and result.error is not None
    assert result.error.startswith("agent timed out after 1s")
    assert "unfinished work is on the local branch" in result.error
    subject = git(work, "log", "-1", "--format=%s", result.task.branch_name)
    assert subject.startswith("WIP: ")
    nothing_left(work, engine)


def test_ctrl_c_stops_the_container_and_records_the_run(work: Path, team: Team) -> None:
    def interrupted(c: MemoryContainer) -> int:
        (c.host("/workspace") / "draft.txt").write_text("draft\n")
        c.print("drafting\n")
        while not c.chunks.empty():  # read: the run is following the container now
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)
        c.killed.wait(30)
        return 0

    before = signal.getsignal(signal.SIGINT)
    result, engine = run(work, interrupted)
    assert signal.getsignal(signal.SIGINT) is before  # the caller's handler is back
    assert result.interrupted and not result.success, result.error
    assert result.error is not None and result.error.startswith("interrupted (SIGINT)")
    assert result.task.status.value == "failed"
    branch = result.task.branch_name
    assert git(work, "show", f"{branch}:draft.txt") == "draft"  # kept on the local branch
    assert team.remote_ref(f"refs/heads/{branch}") == ""  # never pushed
    nothing_left(work, engine)


def test_a_crashing_stage_never_leaves_the_record_running(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gittask.workflow.run import harvest

    def broken(*args: object) -> None:
        raise RuntimeError("a bug in the harvest")

    monkeypatch.setattr(harvest, "harvest", broken)
    db = open_database(work)
    task = record_task(db, "Crash", None, None)
    engine = MemoryEngine(writes("x.txt", "x\n"))
    with pytest.raises(RuntimeError):
        run_task(db, RunRequest(task_id=task.id), preflight(db, engine=engine))
    stored = open_database(work).get(task.id)
    assert stored.status.value == "failed"
    assert stored.error_message == "the run crashed: RuntimeError: a bug in the harvest"
    nothing_left(work, engine)
