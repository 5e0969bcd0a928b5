"""Leases without Docker: the rules with an injected clock, and claims racing on a bare remote.

The rules (gittask/workflow/lease.py) are pure: every test gives ``now``. The
claims go through real clones of a bare remote, with the git executable: two
clones that both saw a task queued race for it, and the server's fast-forward
check lets exactly one win.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.model.outcome import NOTHING_CHANGED, STOPPED_PREFIX
from gittask.model.task import new_task_id
from gittask.store import sync
from gittask.workflow import lease
from gittask.workflow.database import open_database
from gittask.workflow.publish import after_change
from gittask.workflow.records import record_task
from gittask.workflow.worker import queue
from tests.conftest import Team, run_cli

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def queued(**fields: object) -> TaskMetadata:
    task = TaskMetadata(id=new_task_id(), description="Do it\n", status=TaskStatus.QUEUED)
    for key, value in fields.items():
        setattr(task, key, value)
    return task


def test_a_claim_takes_the_next_lease_until_it_expires() -> None:
    task = queued()
    assert lease.takeable(task, T0)
    lease.claim(task, "w1", T0, 60, max_attempts=3)
    assert (task.worker, task.lease, task.attempts) == ("w1", 1, 1)
    assert task.lease_expires == T0 + timedelta(seconds=60)
    assert not lease.takeable(task, T0 + timedelta(seconds=59))  # w1 holds it
    assert lease.takeable(task, T0 + timedelta(seconds=60))  # expired: any worker may
    with pytest.raises(lease.NotTakeable):
        lease.claim(task, "w2", T0 + timedelta(seconds=30), 60, max_attempts=3)


def test_a_takeover_of_a_silent_worker_s_run_fences_it_out() -> None:
    task = queued()
    lease.claim(task, "w1", T0, 60, max_attempts=3)
    task.set_status(TaskStatus.RUNNING)
    task.run_count = 1
    held = lease.Lease(task.id, 1, "w1")
    later = T0 + timedelta(seconds=61)

    lease.claim(task, "w2", later, 60, max_attempts=3)

    assert (task.status, task.worker, task.lease, task.attempts) == (
        TaskStatus.QUEUED,
        "w2",
        2,
        2,
    )
    assert "worker w1 stopped renewing lease 1 (run 1); taken over by w2" in str(task.error_message)
    with pytest.raises(lease.LeaseLost) as lost:
        lease.check(task, held)  # w1's late write is refused
    assert lost.value.why() == "worker w2 took the task over (lease 2)"
    with pytest.raises(lease.LeaseLost):
        lease.renew(task, held, later, 60)


def test_renewal_moves_the_expiry_of_the_holder_only() -> None:
    task = queued()
    lease.claim(task, "w1", T0, 60, max_attempts=3)
    held = lease.Lease(task.id, 1, "w1")
    lease.renew(task, held, T0 + timedelta(seconds=50), 60)
    assert task.lease_expires == T0 + timedelta(seconds=110)
    with pytest.raises(lease.LeaseLost):
        lease.renew(task, lease.Lease(task.id, 1, "w2"), T0, 60)


def test_a_failing_task_is_retried_then_left_failed() -> None:
    task = queued()
    for attempt in (1, 2, 3):
        lease.claim(task, "w1", T0, 60, max_attempts=3)
        held = lease.Lease(task.id, attempt, "w1")
        task.set_status(TaskStatus.RUNNING)
        task.set_status(TaskStatus.FAILED)
        task.error_message = "agent exited with code 3"
        said = lease.settle(task, held, max_attempts=3, died=None)
        if attempt < 3:
            assert task.status is TaskStatus.QUEUED, said
            assert task.error_message == f"attempt {attempt} failed: agent exited with code 3"
    assert task.status is TaskStatus.FAILED
    assert task.error_message == "agent exited with code 3 (gave up after 3 attempts)"
    assert not lease.takeable(task, T0 + timedelta(days=1))


def test_a_run_whose_process_died_is_retried_and_a_takeover_past_the_limit_gives_up() -> None:
    task = queued()
    lease.claim(task, "w1", T0, 60, max_attempts=2)
    lease.settle(task, lease.Lease(task.id, 1, "w1"), 2, died="the run's process ended")
    assert task.status is TaskStatus.QUEUED
    lease.claim(task, "w1", T0, 60, max_attempts=2)
    task.set_status(TaskStatus.RUNNING)
    lease.claim(task, "w2", T0 + timedelta(seconds=61), 60, max_attempts=2)  # w1 went silent
    assert task.status is TaskStatus.FAILED and task.worker == "w1"
    assert "(gave up after 2 attempts)" in str(task.error_message)


@pytest.mark.parametrize("message", [f"{STOPPED_PREFIX} by X", f"{NOTHING_CHANGED}: nothing"])
def test_stops_and_runs_that_changed_nothing_are_not_retried(message: str) -> None:
    task = queued()
    lease.claim(task, "w1", T0, 60, max_attempts=3)
    task.set_status(TaskStatus.FAILED)
    task.error_message = message
    lease.settle(task, lease.Lease(task.id, 1, "w1"), 3, died=None)
    assert task.status is TaskStatus.FAILED and task.error_message == message


def test_a_stop_request_names_the_lease_it_stops() -> None:
    task = queued()
    lease.claim(task, "w1", T0, 60, max_attempts=3)
    task.stop_requested = lease.stop_request(1, "Ann <ann@example.com>", T0)
    assert lease.stop_wanted(task) == (1, "Ann <ann@example.com>")
    assert not lease.takeable(task, T0 + timedelta(hours=1))  # nobody runs what was stopped
    task.set_status(TaskStatus.RUNNING)
    task.set_status(TaskStatus.FAILED)
    lease.settle(task, lease.Lease(task.id, 1, "w1"), 3, died=None)
    assert task.error_message == f"{STOPPED_PREFIX} by Ann <ann@example.com> during run 0"
    task.lease = 2  # a later lease is not stopped by an old request
    assert lease.stop_wanted(task) is None


def test_a_worker_takes_only_tasks_with_its_labels() -> None:
    task = queued(extra={"labels": ["gpu"]})
    assert lease.takeable(task, T0, ["gpu", "big"])
    assert not lease.takeable(task, T0, ["cpu"])
    assert lease.takeable(queued(), T0)


# -- on a bare remote ---------------------------------------------------------------------


def _queued_on_remote(team: Team) -> tuple[Path, Path, str]:
    a, b = team.clone("a"), team.clone("b")
    db = open_database(a)
    task = record_task(db, "Claim me", None, None)
    queue.queue_task(db, task.id)
    assert run_cli(b, "task", "sync").returncode == 0
    return a, b, task.id


def test_two_workers_that_saw_the_same_task_queued_cannot_both_claim_it(team: Team) -> None:
    a, b, task_id = _queued_on_remote(team)
    db_a, db_b = open_database(a), open_database(b)
    for db in (db_a, db_b):
        sync.fetch(db.repo, "origin")
        db.refresh()
    now = lambda: T0  # noqa: E731

    won = queue.take(db_a, "origin", "wa", now, 60, 3)
    lost = queue.take(db_b, "origin", "wb", now, 60, 3)  # from what b fetched before a won

    assert won == lease.Lease(task_id, 1, "wa") and lost is None
    db_b.refresh()
    assert db_b.task(task_id).worker == "wa"  # b merged the winner's claim, nothing else
    later = lambda: T0 + timedelta(seconds=61)  # noqa: E731
    assert queue.take(db_b, "origin", "wb", later, 60, 3) == lease.Lease(task_id, 2, "wb")


def test_a_remote_write_is_made_on_the_remote_tip_and_not_kept_when_refused(team: Team) -> None:
    a, b, task_id = _queued_on_remote(team)
    db_a = open_database(a)
    before = db_a.tip()

    def refuse(task: TaskMetadata) -> str:
        raise lease.NotTakeable(task.id)

    with pytest.raises(lease.NotTakeable):
        sync.update_remote(db_a.repo, "origin", {task_id: refuse}, "claim")
    assert db_a.tip() == before  # nothing to undo
    db_b = open_database(b)
    db_b.update(task_id, lambda t: "a local change", "label")
    after_change(db_b)
    sync.update_remote(db_a.repo, "origin", {task_id: lambda t: "ok"}, "touch")
    assert team.remote_ref("refs/heads/claude-tasks") == str(
        db_a.repo.pygit.references["refs/remotes/origin/claude-tasks"].target
    )


def test_queueing_refuses_a_task_already_queued(team: Team) -> None:
    a, _, task_id = _queued_on_remote(team)
    with pytest.raises(GittaskError, match="is queued: it cannot be queued"):
        queue.queue_task(open_database(a), task_id)
