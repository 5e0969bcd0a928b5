"""A worker's run on the in-memory engine: real git, a bare remote, a lease taken over mid-run.

The run is the ordinary pipeline told its lease (as ``task _work`` runs it);
the "other worker" is a second clone writing on the remote by compare-and-swap
while the agent works.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gittask.config import ConfigFile
from gittask.model import TaskMetadata, TaskStatus
from gittask.model.clock import utcnow
from gittask.store import sync
from gittask.workflow import lease
from gittask.workflow.database import open_database
from gittask.workflow.records import record_task
from gittask.workflow.run import RunRequest, preflight, run_task
from gittask.workflow.worker import queue
from tests.conftest import Team, git, run_cli
from tests.memory_engine import MemoryContainer, MemoryEngine


@pytest.fixture
def clones(team: Team) -> tuple[Path, Path]:
    work, other = team.clone("work"), team.clone("other")
    config = ConfigFile.open(work)
    for key, value in {"agent": "command", "agent_command": "work", "image": "agent:test"}.items():
        config.set(key, value)
    config.save()
    return work, other


def _leased(work: Path) -> lease.Lease:
    db = open_database(work)
    task = record_task(db, "Leased work", None, None)
    queue.queue_task(db, task.id)
    sync.fetch(db.repo, "origin")
    db.refresh()
    taken = queue.take(db, "origin", "w1", utcnow, 60, 3)
    assert taken is not None
    return taken


def test_a_leased_run_publishes_under_its_lease(clones: tuple[Path, Path], team: Team) -> None:
    work, _ = clones
    held = _leased(work)

    def agent(c: MemoryContainer) -> int:
        (c.host("/workspace") / "done.txt").write_text("done\n")
        return 0

    db = open_database(work)
    request = RunRequest(task_id=held.task_id, lease=held)
    result = run_task(db, request, preflight(db, engine=MemoryEngine(agent)))

    assert result.success, result.error
    assert team.remote_ref(f"refs/heads/{result.task.branch_name}") == result.task.commit_hash
    assert (result.task.worker, result.task.lease, result.task.status) == (
        "w1",
        1,
        TaskStatus.CREATED,
    )


def test_a_run_whose_lease_was_taken_over_is_refused_and_set_aside(
    clones: tuple[Path, Path], team: Team
) -> None:
    work, other = clones
    held = _leased(work)
    assert run_cli(other, "task", "sync").returncode == 0
    other_db = open_database(other)
    later = utcnow() + timedelta(seconds=120)  # w1's lease (60 s) has expired by then

    def agent_while_w2_takes_over(c: MemoryContainer) -> int:
        (c.host("/workspace") / "late.txt").write_text("too late\n")
        sync.update_remote(
            other_db.repo,
            "origin",
            {held.task_id: lambda t: lease.claim(t, "w2", later, 60, 3)},
            "claim",
        )
        return 0

    db = open_database(work)
    request = RunRequest(task_id=held.task_id, lease=held)
    result = run_task(db, request, preflight(db, engine=MemoryEngine(agent_while_w2_takes_over)))

    assert not result.success
    assert result.error is not None
    assert "the result of run 1 was refused: worker w2 took the task over (lease 2)" in result.error
    late = held.late_ref()
    kept = team.remote_ref(late)
    assert kept and git(team.origin, "show", f"{kept}:late.txt") == "too late"
    branch = result.task.branch_name
    assert team.remote_ref(f"refs/heads/{branch}") == ""  # nothing published for w1
    assert git(work, "rev-parse", "--verify", "-q", f"refs/heads/{branch}", check=False) == ""
    on_remote = sync_task(other, held.task_id)
    assert (on_remote.worker, on_remote.lease, on_remote.status) == ("w2", 2, TaskStatus.QUEUED)
    db.refresh()  # w1's clone merged: the newer lease's record, whatever w1 wrote
    assert (db.task(held.task_id).worker, db.task(held.task_id).lease) == ("w2", 2)


def sync_task(clone: Path, task_id: str) -> TaskMetadata:
    db = open_database(clone)
    sync.fetch(db.repo, "origin")
    db.refresh()
    return db.task(task_id)
