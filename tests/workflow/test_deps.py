"""Dependencies: waiting and blocked tasks, runs in order, stacked branches, cycles.

The runs go through the real pipeline on the in-memory engine (real git, a bare
remote, the stand-in agent writing a file); the CLI runs in a subprocess.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from gittask.config import ConfigFile
from gittask.model import TaskMetadata, TaskStatus
from gittask.model.deps import BLOCKED, READY, WAITING, Node, states
from gittask.store.database import TaskDatabase
from gittask.workflow import deps
from gittask.workflow.database import open_database
from gittask.workflow.records import record_task
from gittask.workflow.run import RunRequest, preflight, run_task
from tests.conftest import CliResult, Team, git, run_cli
from tests.memory_engine import MemoryContainer, MemoryEngine

# -- the rules ---------------------------------------------------------------------------


def node(task_id: str, status: str, *deps: str, created: str = "") -> Node:
    return Node(task_id, status, tuple(deps), created or task_id)


def test_waiting_ready_and_blocked_follow_the_dependencies() -> None:
    graph = {
        n.id: n
        for n in [
            node("a1", "created"),
            node("b1", "pending", "a1"),
            node("c1", "failed"),
            node("d1", "pending", "a1", "c1"),
            node("e1", "closed"),
            node("f1", "pending", "e1", "gone"),
            node("g1", "pending", "b1"),
            node("h1", "merged"),
            node("i1", "pending", "h1"),
        ]
    }
    merged = states(graph, "merged")
    assert merged["b1"].state == WAITING and "a1 (not merged yet)" in merged["b1"].reason
    assert merged["d1"].state == BLOCKED and "c1 failed" in merged["d1"].reason
    assert merged["f1"].reason == "dependency e1 was closed; gone was deleted"
    assert merged["g1"].state == WAITING and merged["i1"].state == READY
    finished = states(graph, "finished")
    assert finished["b1"].state == READY and finished["g1"].state == WAITING


def test_a_cycle_blocks_one_task_chosen_the_same_whatever_the_order() -> None:
    nodes = [
        node("aa", "pending", "bb", created="2024-01-01"),
        node("bb", "pending", "cc", created="2024-01-03"),
        node("cc", "pending", "aa", created="2024-01-02"),
        node("dd", "pending", "aa", created="2024-01-04"),
        node("ee", "created", "ff"),  # started tasks wait on nobody: no cycle
        node("ff", "pending", "ee"),
    ]
    seen = set()
    for _ in range(5):
        random.shuffle(nodes)
        found = states({n.id: n for n in nodes}, "finished")
        blocked = sorted(t for t, s in found.items() if s.state == BLOCKED)
        seen.add((tuple(blocked), found["bb"].reason))
    assert seen == {(("bb",), "dependency cycle: bb -> cc -> aa -> bb")}
    found = states({n.id: n for n in nodes}, "finished")
    assert found["aa"].state == found["cc"].state == found["dd"].state == WAITING
    assert found["ff"].state == READY


# -- runs in order -----------------------------------------------------------------------


@pytest.fixture
def work(team: Team) -> Path:
    path = team.clone("work")
    config = ConfigFile.open(path)
    for key, value in {
        "agent": "command",
        "agent_command": "do-the-task",
        "image": "agent:test",
        "dependencies.success": "finished",
    }.items():
        config.set(key, value)
    config.save()
    return path


def writes(c: MemoryContainer) -> int:
    workspace = c.host("/workspace")
    (workspace / f"work-{len(list(workspace.iterdir()))}.txt").write_text("done\n")
    return 0


def run(db: TaskDatabase, task_id: str, program: object = writes) -> TaskMetadata:
    engine = MemoryEngine(program)  # type: ignore[arg-type]
    result = run_task(db, RunRequest(task_id=task_id), preflight(db, engine=engine))
    return result.task


def new(db: TaskDatabase, title: str, *on: TaskMetadata, **extra: object) -> TaskMetadata:
    return record_task(db, title, None, None, depends_on=[t.id for t in on], extra=dict(extra))


def run_ready_until_idle(db: TaskDatabase) -> list[list[str]]:
    """What the scheduler does with waiting tasks, round after round: start the ready ones."""
    rounds = []
    while ready := deps.ready_to_start(db):
        rounds.append([t.title for t in ready])
        for task in ready:
            assert run(db, task.id).status is TaskStatus.CREATED
    return rounds


def test_a_chain_runs_in_order_each_on_the_branch_before(work: Path) -> None:
    db = open_database(work)
    a = new(db, "Step A")
    b = new(db, "Step B", a)
    c = new(db, "Step C", b)
    kept = new(db, "Step K", b, keep_base=True)
    assert deps.ready_to_start(db) == []  # a has no dependencies: it is not a waiting task
    assert run(db, a.id).status is TaskStatus.CREATED
    assert run_ready_until_idle(db) == [["Step B"], ["Step C", "Step K"]]
    a, b, c, kept = (db.task(t.id) for t in (a, b, c, kept))
    assert b.base_branch == a.branch_name and c.base_branch == b.branch_name
    assert kept.base_branch == "trunk"  # --keep-base: the repository's base
    assert a.started_at and b.started_at and c.started_at
    assert a.completed_at and b.completed_at
    assert a.completed_at <= b.started_at and b.completed_at <= c.started_at  # type: ignore[operator]
    # stacked work: C's branch holds A's and B's commits
    for earlier in (a, b):
        commit = earlier.commit_hash or ""
        assert git(work, "merge-base", "--is-ancestor", commit, c.branch_name) == ""


def test_a_diamond_runs_in_order(work: Path) -> None:
    db = open_database(work)
    a = new(db, "Top")
    left, right = new(db, "Left", a), new(db, "Right", a)
    bottom = new(db, "Bottom", left, right)
    run(db, a.id)
    assert run_ready_until_idle(db) == [["Left", "Right"], ["Bottom"]]
    bottom = db.task(bottom.id)
    assert bottom.status is TaskStatus.CREATED
    assert bottom.base_branch == db.task(left.id).branch_name  # the first unmerged dependency
    assert db.task(right.id).completed_at <= bottom.started_at  # type: ignore[operator]


def test_merged_mode_waits_for_the_merge(work: Path) -> None:
    config = ConfigFile.open(work)
    config.set("dependencies.success", "merged")
    config.save()
    db = open_database(work)
    a = new(db, "Base work")
    b = new(db, "On top", a)
    run(db, a.id)
    assert deps.ready_to_start(db) == []
    word = json.loads(ok(run_cli(work, "task", "show", b.id, "--json")))
    assert word["outcome"] == "waiting" and "not merged yet" in word["dependency"]["reason"]

    def merged(t: TaskMetadata) -> str:
        t.set_status(TaskStatus.MERGED)
        return "merged"

    db.update(a.id, merged)
    assert [t.id for t in deps.ready_to_start(db)] == [b.id]
    b = run(db, b.id)
    assert b.base_branch == "trunk"  # a merged dependency: no stacking


def ok(result: CliResult) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_failed_dependency_blocks_and_start_runs_it_anyway(work: Path) -> None:
    db = open_database(work)
    a = new(db, "Will fail")
    b = new(db, "Needs it", a)
    assert run(db, a.id, lambda c: 1).status is TaskStatus.FAILED
    assert deps.ready_to_start(db) == []
    listed = {t["id"]: t for t in json.loads(ok(run_cli(work, "task", "list", "--json")))}
    assert listed[b.id]["outcome"] == "blocked"
    assert listed[b.id]["dependency"]["reason"] == f"dependency {a.id[:8]} failed"
    blocked = json.loads(ok(run_cli(work, "task", "list", "--status", "blocked", "--json")))
    assert [t["id"] for t in blocked] == [b.id]
    shown = ok(run_cli(work, "task", "show", b.id))
    assert "status:" in shown and "blocked" in shown and f"{a.id[:8]} failed" in shown
    # a blocked task starts when asked (here: the run cannot start, as there is no Docker
    # image; the note comes first)
    started = run_cli(work, "task", "start", b.id)
    assert f"note: task {b.id[:8]} is blocked (dependency {a.id[:8]} failed)" in started.stderr
    assert run(db, b.id).status is TaskStatus.CREATED  # and it runs
    assert deps.stacked_base(db, db.task(b.id)) is None


def test_cycles_are_refused_when_written(work: Path) -> None:
    db = open_database(work)
    a = new(db, "A")
    b = new(db, "B", a)
    c = new(db, "C", b)
    refused = run_cli(work, "task", "deps", a.id, "--add", c.id)
    assert refused.returncode == 2
    assert f"would make a cycle: {a.id[:8]} -> {c.id[:8]} -> {b.id[:8]} -> {a.id[:8]}" in (
        refused.stderr
    )
    assert run_cli(work, "task", "deps", a.id, "--add", a.id).returncode == 2
    assert db.task(a.id).depends_on == []
    tree = ok(run_cli(work, "task", "list", "--tree"))
    lines = [line for line in tree.splitlines() if line.strip()]
    assert [line.split()[0] for line in lines] == [a.id[:8], b.id[:8], c.id[:8]]
    assert [len(line) - len(line.lstrip()) for line in lines] == [0, 2, 4]
    shown = json.loads(ok(run_cli(work, "task", "deps", b.id, "--json")))
    assert [d["id"] for d in shown["depends_on"]] == [a.id]
    assert [d["id"] for d in shown["dependents"]] == [c.id]


def test_a_cycle_made_by_two_clones_blocks_the_same_task_on_both(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    first = ok(run_cli(a, "task", "create", "--no-run", "-m", "First")).strip()
    second = ok(run_cli(a, "task", "create", "--no-run", "-m", "Second")).strip()
    ok(run_cli(b, "task", "sync"))
    for clone in (a, b):
        ok(run_cli(clone, "config", "set", "sync.auto", "false"))
    # each clone adds half of the cycle; neither sees a cycle on its own
    ok(run_cli(a, "task", "deps", first, "--add", second))
    ok(run_cli(b, "task", "deps", second, "--add", first))
    ok(run_cli(a, "task", "sync"))
    synced = run_cli(b, "task", "sync")  # the merge closes the cycle: it says so
    ok(synced)
    ok(run_cli(a, "task", "sync"))
    cycle = f"{second[:8]} -> {first[:8]} -> {second[:8]}"  # second was created last
    assert f"warning: dependency cycle: {cycle}: task {second[:8]} is blocked" in synced.stderr
    seen = []
    for clone in (a, b):
        listed = {t["id"]: t for t in json.loads(ok(run_cli(clone, "task", "list", "--json")))}
        seen.append((listed[first]["outcome"], listed[second]["outcome"]))
        assert listed[second]["dependency"]["reason"] == f"dependency cycle: {cycle}"
    assert seen == [("waiting", "blocked"), ("waiting", "blocked")]
