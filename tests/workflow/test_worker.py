"""Workers on several clones of one bare remote: each queued task runs exactly once.

Real parts only: clones of a bare ``origin.git``, ``claude-container worker``
processes, the Docker engine and the busybox stand-in agent. Leases are 3 s
and workers look at the remote every 0.3 s (``GITTASK_LEASE_SECONDS``,
``GITTASK_WORKER_POLL_SECONDS``), so a takeover takes seconds.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gittask.model import TaskStatus
from gittask.model.outcome import STOPPED_PREFIX
from gittask.workflow.lease import LATE_REF_PREFIX
from tests.run_support import build_image, docker_available, git
from tests.worker_support import Fleet, alive, runs_folder

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine")


@pytest.fixture(scope="session")
def image() -> str:
    return build_image()


@pytest.fixture
def fleet(tmp_path: Path, image: str) -> Iterator[Fleet]:
    made = Fleet.create(tmp_path / "team", image)
    try:
        yield made
    finally:
        made.stop_all()


def test_three_workers_run_thirty_queued_tasks_each_exactly_once(fleet: Fleet) -> None:
    fleet.env["GITTASK_LEASE_SECONDS"] = "30"  # no takeover here: fewer renewals
    starts = fleet.container_starts()
    ids = fleet.queue(fleet.project.work, [f"Task {n:02d}: note it down" for n in range(30)])
    clones = [fleet.clone(name) for name in ("w1", "w2", "w3")]
    workers = [fleet.worker(c, "--once", "--name", c.name) for c in clones]
    outputs = [w.communicate(timeout=900) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err

    started = starts.counts(set(ids))
    odd = {t[:8]: _state(fleet, t) for t in ids if started.get(t) != 1}
    assert odd == {}, f"each task's agent runs exactly once: {odd}; {outputs}"
    ran_on: dict[str, int] = {}
    for task_id in ids:
        task = fleet.remote_task(task_id)
        assert task.status is TaskStatus.CREATED, (task_id, task.error_message)
        assert (task.run_count, task.lease, task.attempts) == (1, 1, 1)
        assert fleet.remote_ref(f"refs/heads/{task.branch_name}") == task.commit_hash
        ran_on[task.worker or "?"] = ran_on.get(task.worker or "?", 0) + 1
    assert set(ran_on) == {"w1", "w2", "w3"}, ran_on  # all three took a share
    # the team sees the results from any clone
    assert fleet.cli(fleet.project.work, "task", "sync").returncode == 0
    listed = json.loads(fleet.cli(fleet.project.work, "task", "list", "--json").stdout)
    assert {row["id"]: row["status"] for row in listed} == dict.fromkeys(ids, "created")
    status = fleet.cli(fleet.project.work, "worker", "--status", "--json")
    seen = {w["name"]: w for w in json.loads(status.stdout)}
    assert {n: seen[n]["state"] for n in ("w1", "w2", "w3")} == dict.fromkeys(
        ("w1", "w2", "w3"), "exited"
    )
    assert sum(seen[n]["done"] for n in ("w1", "w2", "w3")) == 30


def _state(fleet: Fleet, task_id: str) -> str:
    task = fleet.remote_task(task_id)
    return f"{task.status.value} lease {task.lease} by {task.worker}: {task.error_message}"


def test_a_killed_worker_s_task_is_taken_over_and_its_late_result_refused(fleet: Fleet) -> None:
    starts = fleet.container_starts()
    [task_id] = fleet.queue(fleet.project.work, ["Slow one AGENT:SLEEP=15"])
    first, second = fleet.clone("first"), fleet.clone("second")
    dying = fleet.worker(first, "--name", "first")

    def running_on_first() -> bool:
        task = fleet.remote_task(task_id)
        return task.status is TaskStatus.RUNNING and task.worker == "first"

    fleet.wait_for("the first worker's run", running_on_first, timeout=180)
    assert fleet.cli(fleet.project.work, "task", "sync").returncode == 0
    listed = fleet.cli(fleet.project.work, "task", "list", "--no-pager")
    assert "[first]" in listed.stdout, listed.stdout  # `task list` names the worker
    os.kill(dying.pid, signal.SIGKILL)  # the worker only: its run's process goes on
    dying.wait()
    expires = fleet.remote_task(task_id).lease_expires
    assert expires is not None
    fleet.wait_for("the lease to expire", lambda: time.time() > expires.timestamp() + 0.5)

    taker = fleet.worker(second, "--once", "--name", "second")
    _, err = taker.communicate(timeout=300)
    assert taker.returncode == 0, err
    assert "taken (lease 2" in err, err

    task = fleet.remote_task(task_id)
    assert (task.status, task.worker, task.lease, task.run_count) == (
        TaskStatus.CREATED,
        "second",
        2,
        2,
    )
    head = fleet.remote_ref(f"refs/heads/{task.branch_name}")
    assert "Task-Run: 2" in git(fleet.origin, "log", "-1", "--format=%B", head)
    # the dead worker's run went on, finished, and its result was refused and set aside
    late = f"{LATE_REF_PREFIX}{task_id}/lease-1"
    fleet.wait_for("the late result set aside", lambda: fleet.remote_ref(late) != "", timeout=120)
    kept = fleet.remote_ref(late)
    assert kept != head and "Task-Run: 1" in git(fleet.origin, "log", "-1", "--format=%B", kept)
    log = (runs_folder(first) / f"{task_id}.lease-1.log").read_text()
    assert "the result of run 1 was refused: worker second took the task over" in log, log
    assert fleet.remote_task(task_id).commit_hash == head  # refused: nothing merged over
    assert starts.counts({task_id}) == {task_id: 2}


def test_task_stop_from_another_clone_stops_a_worker_s_run(fleet: Fleet) -> None:
    [task_id] = fleet.queue(fleet.project.work, ["Long one AGENT:SLEEP=120"])
    machine, desk = fleet.clone("machine"), fleet.clone("desk")
    worker = fleet.worker(machine, "--name", "machine")

    def running() -> bool:
        return fleet.remote_task(task_id).status is TaskStatus.RUNNING

    fleet.wait_for("the run", running, timeout=180)
    started = time.monotonic()
    stopped = fleet.cli(desk, "task", "stop", task_id[:8])
    took = time.monotonic() - started

    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped task {task_id[:8]} on worker machine" in stopped.stderr, stopped.stderr
    task = fleet.remote_task(task_id)
    assert task.status is TaskStatus.FAILED
    assert (task.error_message or "").startswith(f"{STOPPED_PREFIX} by Desk Machine"), task
    assert took < 100, "the worker did not answer: the stop waited for the agent to end"
    shown = json.loads(fleet.cli(desk, "task", "show", task_id[:8], "--json").stdout)
    assert shown["outcome"] == "stopped"
    assert worker.poll() is None and alive(worker.pid)  # the worker goes on with others


def test_a_task_that_keeps_failing_is_retried_then_left_failed(fleet: Fleet) -> None:
    starts = fleet.container_starts()
    [task_id] = fleet.queue(fleet.project.work, ["Broken one AGENT:FAIL"])
    machine = fleet.clone("machine")
    settings = machine / ".claude-container" / "container_config.json"
    settings.write_text(json.dumps({**json.loads(settings.read_text()), "worker.max_attempts": 2}))

    worker = fleet.worker(machine, "--once", "--name", "machine")
    _, err = worker.communicate(timeout=300)

    assert worker.returncode == 0, err
    assert "queued again: attempt 1 failed" in err, err
    task = fleet.remote_task(task_id)
    assert (task.status, task.attempts, task.run_count) == (TaskStatus.FAILED, 2, 2)
    assert (task.error_message or "").endswith("(gave up after 2 attempts)"), task.error_message
    assert starts.counts({task_id}) == {task_id: 2}


def test_feedback_queued_from_another_clone_is_answered_by_a_worker(fleet: Fleet) -> None:
    [task_id] = fleet.queue(fleet.project.work, ["First version"])
    machine, desk = fleet.clone("machine"), fleet.clone("desk")
    first = fleet.worker(machine, "--once", "--name", "machine")
    assert first.wait(timeout=300) == 0
    assert fleet.cli(desk, "task", "sync").returncode == 0

    queued = fleet.cli(desk, "task", "continue", task_id[:8], "-m", "Also the second", "--queue")
    assert queued.returncode == 0, queued.stderr
    assert fleet.remote_task(task_id).status is TaskStatus.QUEUED
    second = fleet.worker(machine, "--once", "--name", "machine")
    assert second.wait(timeout=300) == 0

    task = fleet.remote_task(task_id)
    assert (task.status, task.run_count, task.lease) == (TaskStatus.CONTINUED, 2, 2)
    notes = git(fleet.origin, "show", f"{task.commit_hash}:agent_notes.md")
    assert notes.count("\n") == 1, notes  # two lines: the first run's and the continue's
