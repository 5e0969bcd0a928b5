"""Damaged derived state: ``doctor`` finds it, says what it did, and rebuilds it from git.

The threats: a crash (kill -9, a full disk) that leaves ``refs/claude-tasks.lock``
behind, so every later write fails; an index that is valid SQLite but lost
rows and their bookkeeping together (the cheap self-check cannot see that);
a working copy with files missing; refspecs unset by hand; worktrees and run
markers of runs that died. Everything derived is rebuilt; no record changes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from gittask.store import layout
from tests.conftest import Team, run_cli
from tests.hostile.support import git_out


def _tasks(clone: Path, count: int) -> list[str]:
    ids = []
    for number in range(count):
        proc = run_cli(clone, "task", "create", "--no-run", "-m", f"Task number {number}")
        assert proc.returncode == 0, proc.stderr
        ids.append(proc.stdout.strip().splitlines()[-1])
    return ids


def _listed(clone: Path) -> set[str]:
    proc = run_cli(clone, "task", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    return {row["id"] for row in json.loads(proc.stdout)}


def _doctor(clone: Path, *args: str) -> list[dict[str, object]]:
    proc = run_cli(clone, "doctor", "--json", *args)
    report = json.loads(proc.stdout)
    derived: list[dict[str, object]] = report["derived"]
    return derived


def _old_lock(path: Path) -> None:
    path.write_text("")
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))


def test_a_stale_ref_lock_is_named_with_the_fix_and_nothing_is_written(team: Team) -> None:
    clone = team.clone("alice")
    _tasks(clone, 1)
    tip = git_out(clone, "rev-parse", layout.DATA_REF)
    lock = clone / ".git" / "refs" / "claude-tasks.lock"
    _old_lock(lock)
    proc = run_cli(clone, "task", "create", "--no-run", "-m", "Blocked")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert str(lock) in lines[0] and f"rm {lock}" in lines[0] and "doctor" in lines[0]
    assert git_out(clone, "rev-parse", layout.DATA_REF) == tip

    found = _doctor(clone)
    assert {"what": "ref lock", "done": "removed it"}.items() <= found[0].items()
    assert not lock.exists()
    assert run_cli(clone, "task", "create", "--no-run", "-m", "Unblocked").returncode == 0


def test_doctor_rebuilds_an_index_that_lost_rows_with_their_bookkeeping(team: Team) -> None:
    clone = team.clone("alice")
    ids = set(_tasks(clone, 6))
    index = clone / ".git" / "claude-tasks" / "index.sqlite"
    with sqlite3.connect(index) as conn:  # rows and the counts the self-check compares
        fans = [row[0] for row in conn.execute("SELECT name FROM fans LIMIT 3")]
        for fan in fans:
            conn.execute("DELETE FROM tasks WHERE fan = ?", (fan,))
            conn.execute("DELETE FROM fans WHERE name = ?", (fan,))
    assert _listed(clone) < ids  # invisible to the cheap self-check: rows are missing

    reported = _doctor(clone, "--no-repair")
    assert [f["what"] for f in reported] == ["index"] and reported[0]["done"] is None
    assert "missing" in str(reported[0]["problem"])
    assert _listed(clone) < ids  # --no-repair changed nothing

    repaired = _doctor(clone)
    assert [f["what"] for f in repaired] == ["index"]
    assert "rebuilt it" in str(repaired[0]["done"]) and "(6 tasks)" in str(repaired[0]["done"])
    assert _listed(clone) == ids
    assert _doctor(clone) == []  # all well now: nothing found


def test_doctor_rewrites_the_working_copy_and_resets_refspecs(team: Team) -> None:
    clone = team.clone("alice")
    ids = _tasks(clone, 3)
    registry = clone / ".claude-container" / "tasks" / "registry"
    for shard in registry.glob("*.json"):
        shard.unlink()
    git_out(clone, "config", "--unset-all", "remote.origin.fetch", "refs/notes")

    found = {f["what"]: f for f in _doctor(clone)}
    assert set(found) == {"working copy", "refspecs"}
    assert "registry file(s) missing" in str(found["working copy"]["problem"])
    shards = [json.loads(p.read_text()) for p in registry.glob("*.json")]
    assert {task_id for shard in shards for task_id in shard} == set(ids)
    fetch = git_out(clone, "config", "--get-all", "remote.origin.fetch")
    assert "refs/notes/claude-tasks" in fetch


def test_doctor_removes_what_a_crashed_run_left(team: Team) -> None:
    from gittask.runner import live, naming
    from gittask.store.repo import GitRepo

    clone = team.clone("alice")
    (task_id,) = _tasks(clone, 1)
    repo = GitRepo.discover(clone)
    folder = naming.worktrees_dir(repo) / f"{task_id[:12]}-r1-dead"
    folder.mkdir(parents=True)
    (folder / "half-written.txt").write_text("left by a run killed with -9\n")
    dead = live.RunMarker(task_id=task_id, pid=2**22 + 12345, run=1, worktree=str(folder))
    live.marker_path(repo, task_id).parent.mkdir(parents=True, exist_ok=True)
    live.marker_path(repo, task_id).write_text(dead.to_json())

    found = _doctor(clone)
    assert [f["what"] for f in found] == ["leftovers"]
    assert "worktree" in str(found[0]["problem"]) and found[0]["done"]
    assert not folder.exists() and live.marker_for(repo, task_id) is None
    assert _doctor(clone) == []
