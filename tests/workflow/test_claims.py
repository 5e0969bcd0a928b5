"""Two runs of one clone start at once: neither mistakes the other's push of its claim
for another clone's claim (``task create`` twice in parallel refused one of them)."""

from __future__ import annotations

from gittask.model import TaskMetadata, TaskStatus
from gittask.model.clock import utcnow
from gittask.store import layout
from gittask.store.database import TaskDatabase
from gittask.store.sync import publish
from gittask.workflow import claims
from tests.conftest import Team, git, run_cli


def _create(cwd: object, text: str) -> str:
    result = run_cli(cwd, "task", "create", "--no-run", "-m", text)  # type: ignore[arg-type]
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_our_own_claim_pushed_by_a_sibling_process_is_not_a_lost_claim(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    task_id = _create(a, "Run me")
    db = TaskDatabase.open(a)

    def to_running(t: TaskMetadata) -> str:
        t.set_status(TaskStatus.RUNNING)
        t.run_count = 1
        t.started_at = utcnow()
        t.container_id = "c0ffee" * 10
        t.claimed_by = claims.identity(db.repo)
        return "run 1"

    db.update(task_id, to_running, "running")
    publish(db.repo, "origin")  # a sibling process of this clone pushed it with its own change
    _create(b, "Another clone moves the remote on")  # so this push is behind: rejected
    claims.publish_claim(db, "origin", task_id, 1, db.task(task_id).started_at)  # no ClaimLost
    assert team.remote_ref("refs/heads/claude-tasks") == git(a, "rev-parse", layout.DATA_REF)
    assert db.task(task_id).status is TaskStatus.RUNNING


def test_another_clone_s_claim_of_the_same_run_still_wins(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    task_id = _create(a, "Claimed twice")
    assert run_cli(b, "task", "sync").returncode == 0

    def claim(db: TaskDatabase, container: str) -> None:
        def to_running(t: TaskMetadata) -> str:
            t.set_status(TaskStatus.RUNNING)
            t.run_count = 1
            t.started_at = utcnow()
            t.container_id = container
            t.claimed_by = claims.identity(db.repo)
            return "run 1"

        db.update(task_id, to_running, "running")

    db_a, db_b = TaskDatabase.open(a), TaskDatabase.open(b)
    claim(db_a, "a" * 64)
    claims.publish_claim(db_a, "origin", task_id, 1, db_a.task(task_id).started_at)
    git(b, "config", "user.name", "A Dev")  # the same person, on another clone
    git(b, "config", "user.email", "a@example.com")
    claim(db_b, "b" * 64)
    try:
        claims.publish_claim(db_b, "origin", task_id, 1, db_b.task(task_id).started_at)
    except claims.ClaimLost:
        pass
    else:
        raise AssertionError("two clones both own run 1")
