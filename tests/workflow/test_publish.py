"""Every change reaches the remote at once (``sync.auto``), and an unreachable remote
never fails a command. Real clones, a real bare origin, the CLI as a process."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from gittask.store import layout
from gittask.store.repo import GitRepo
from gittask.store.sync import PushRejected, publish
from tests.conftest import Team, git, run_cli

REMOTE_TASKS = "refs/heads/claude-tasks"
UNREACHABLE = (
    "origin is unreachable: the change is saved locally and goes with the next `task sync`"
)


def ok(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = run_cli(cwd, *args)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return result


def create(cwd: Path, text: str) -> str:
    return ok(cwd, "task", "create", "--no-run", "-m", text).stdout.strip().splitlines()[-1]


def rev(cwd: Path, ref: str) -> str:
    return git(cwd, "rev-parse", "--verify", "-q", ref, check=False)


def test_create_delete_and_status_changes_are_published_at_once(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    first = create(a, "Published at once")
    assert team.remote_ref(REMOTE_TASKS) == rev(a, layout.DATA_REF)
    second = create(b, "From b, on top")  # b was behind: fetch, merge, push
    assert team.remote_ref(REMOTE_TASKS) == rev(b, layout.DATA_REF)
    git(a, "fetch", "-q")
    listed = json.loads(ok(a, "task", "list", "--json").stdout)
    assert {row["id"] for row in listed} == {first, second}
    ok(a, "task", "delete", second, "--yes")
    assert team.remote_ref(REMOTE_TASKS) == rev(a, layout.DATA_REF)
    git(b, "pull", "-q")
    gone = run_cli(b, "task", "show", second)
    assert gone.returncode == 1 and "was deleted" in gone.stderr


def test_sync_auto_false_keeps_changes_local_until_task_sync(team: Team) -> None:
    a = team.clone("a")
    ok(a, "config", "set", "sync.auto", "false")
    assert ok(a, "config", "get", "sync.auto").stdout.strip() == "false"
    create(a, "Offline")
    assert team.remote_ref(REMOTE_TASKS) == ""
    ok(a, "task", "sync")
    assert team.remote_ref(REMOTE_TASKS) == rev(a, layout.DATA_REF)


def test_an_unreachable_remote_saves_locally_and_says_so_once(team: Team) -> None:
    a = team.clone("a")
    git(a, "remote", "set-url", "origin", str(team.root / "gone.git"))
    result = ok(a, "task", "create", "--no-run", "-m", "Written on a plane")
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and UNREACHABLE in lines
    assert f"recorded task {result.stdout.strip()[:8]}" in result.stderr
    ids = [create(a, f"More {i}") for i in range(2)]
    deleted = ok(a, "task", "delete", *ids, "--yes")
    assert deleted.stderr.count("unreachable") == 1  # two deletes, one line
    # back online: the next sync carries everything
    git(a, "remote", "set-url", "origin", str(team.origin))
    ok(a, "task", "sync")
    assert team.remote_ref(REMOTE_TASKS) == rev(a, layout.DATA_REF)


def test_without_a_remote_nothing_is_said(tmp_path: Path) -> None:
    from tests.conftest import init_repo

    alone = init_repo(tmp_path / "alone")
    result = ok(alone, "task", "create", "--no-run", "-m", "Solo")
    assert len(result.stderr.strip().splitlines()) == 1  # just "recorded task ..."


def test_publish_is_one_atomic_push_and_retries_on_a_moved_remote(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    create(a, "Shared")
    git(b, "fetch", "-q")
    git(b, "checkout", "-q", "-b", "feature/x")
    (b / "f.txt").write_text("f\n")
    git(b, "add", "f.txt")
    git(b, "commit", "-q", "-m", "f")
    create(a, "Moves the remote on")
    ok(b, "config", "set", "sync.auto", "false")
    create(b, "Local on b")
    repo = GitRepo.discover(b)
    result = publish(repo, "origin", branches=["feature/x"])
    assert result.attempts == 2 and len(result.merges) == 1
    assert team.remote_ref("refs/heads/feature/x") == rev(b, "feature/x")
    assert team.remote_ref(REMOTE_TASKS) == rev(b, layout.DATA_REF)

    # a hook refusing the push: nothing moves (atomic), the server's words are kept
    hook = team.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'frozen today' >&2\nexit 1\n")
    hook.chmod(0o755)
    (b / "g.txt").write_text("g\n")
    git(b, "add", "g.txt")
    git(b, "commit", "-q", "-m", "g")
    create(b, "Another")
    before = (team.remote_ref("refs/heads/feature/x"), team.remote_ref(REMOTE_TASKS))
    try:
        publish(repo, "origin", branches=["feature/x"])
    except PushRejected as exc:
        assert "pre-receive hook declined" in exc.reasons and "frozen today" in exc.reasons
    else:
        raise AssertionError("the hook did not refuse")
    assert (team.remote_ref("refs/heads/feature/x"), team.remote_ref(REMOTE_TASKS)) == before
    os.unlink(hook)


# -- a run's claim: compare-and-swap on the remote, the loser refused --------------------


def _claim(db: object, task_id: str, run: int) -> None:
    from gittask.model import TaskStatus
    from gittask.model.clock import utcnow
    from gittask.store.database import TaskDatabase
    from gittask.workflow.claims import identity

    assert isinstance(db, TaskDatabase)

    def to_running(t: object) -> str:
        from gittask.model import TaskMetadata

        assert isinstance(t, TaskMetadata)
        t.set_status(TaskStatus.RUNNING)
        t.run_count = run
        t.started_at = utcnow()
        t.claimed_by = identity(db.repo)
        return f"run {run}"

    db.update(task_id, to_running, "running")


def test_the_second_claim_of_a_run_number_loses_and_is_rolled_back(team: Team) -> None:
    from gittask.model import TaskStatus
    from gittask.store.database import TaskDatabase
    from gittask.workflow import claims

    a, b = team.clone("a"), team.clone("b")
    task_id = create(a, "Claimed twice")
    ok(b, "task", "sync")
    db_a, db_b = TaskDatabase.open(a), TaskDatabase.open(b)
    _claim(db_a, task_id, 1)
    claims.publish_claim(db_a, "origin", task_id, 1)  # first: accepted
    assert team.remote_ref(REMOTE_TASKS) == rev(a, layout.DATA_REF)

    before_task = db_b.store.get(task_id)
    before_tip = db_b.store.tip()
    _claim(db_b, task_id, 1)  # b never saw a's claim
    claimed = db_b.store.get(task_id)
    try:
        claims.publish_claim(db_b, "origin", task_id, 1)
    except claims.ClaimLost as lost:
        claims.roll_back(db_b, "origin", before_task, claimed, before_tip)
        refusal = lost.refusal(db_b)
    else:
        raise AssertionError("the second claim won")
    assert refusal.message.startswith(f"task {task_id[:8]} is being run by A Dev <a@example.com>")
    assert "(run 1)" in refusal.message and "wait for it" in str(refusal)
    held = db_b.store.get(task_id)  # the remote's claim, merged; b's own is gone
    assert (
        held.status is TaskStatus.RUNNING and held.claimed_by == db_a.store.get(task_id).claimed_by
    )
    subjects = git(b, "log", "--format=%s", layout.DATA_REF).splitlines()
    assert sum(1 for s in subjects if s.startswith("running")) == 1
    assert team.remote_ref(REMOTE_TASKS) == rev(a, layout.DATA_REF)  # nothing of b's claim


def test_a_claim_behind_an_unrelated_change_merges_and_wins(team: Team) -> None:
    from gittask.store.database import TaskDatabase
    from gittask.workflow import claims

    a, b = team.clone("a"), team.clone("b")
    task_id = create(a, "Claimed once")
    ok(b, "task", "sync")
    other = create(a, "Another task moves the remote on")
    db_b = TaskDatabase.open(b)
    _claim(db_b, task_id, 1)
    claims.publish_claim(db_b, "origin", task_id, 1)
    assert team.remote_ref(REMOTE_TASKS) == rev(b, layout.DATA_REF)
    assert db_b.store.exists(other)


def test_a_claim_another_command_of_this_clone_already_pushed_is_still_ours(
    team: Team,
) -> None:
    """Two tasks run at once in one clone: the other run's push carries this claim
    (the data ref is shared), then a teammate moves the remote on. The claim's push
    is rejected, and the remote copy it fetches is its own claim: it must win."""
    from gittask.store.database import TaskDatabase
    from gittask.workflow import claims

    a, b = team.clone("a"), team.clone("b")
    task_id = create(a, "Run next to another task")
    db_a = TaskDatabase.open(a)
    _claim(db_a, task_id, 1)
    claimed = db_a.store.get(task_id)
    ok(a, "task", "sync")  # another command of this clone pushes the data ref, claim and all
    ok(b, "task", "sync")
    create(b, "A teammate's task moves the remote on")

    claims.publish_claim(db_a, "origin", task_id, 1, claimed.started_at)  # no ClaimLost
    assert db_a.store.get(task_id).claimed_by == claimed.claimed_by
    assert team.remote_ref(REMOTE_TASKS) == rev(a, layout.DATA_REF)
