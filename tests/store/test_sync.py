"""Team sync end to end: a bare origin and clones, every transfer by the git executable.

The CLI runs as a real process (``python -m gittask``) in each clone; the store
API stands in for what another engineer's commands do (continue = add feedback).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gittask.model import FeedbackEntry, TaskStatus
from gittask.store import layout
from gittask.store.database import TaskDatabase
from gittask.store.notes import add_note
from gittask.store.repo import GitRepo
from gittask.store.sync import (
    NOTES_GLOB,
    configure_remote,
    notes_fetch_refspec,
)
from tests.conftest import ROOT, Team, git, init_repo, run_cli

REMOTE_TASKS = "refs/heads/claude-tasks"
TRACKING = "refs/remotes/origin/claude-tasks"


def ok(cwd: Path, *args: str) -> str:
    result = run_cli(cwd, *args)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return result.stdout


def create(cwd: Path, text: str) -> str:
    return ok(cwd, "task", "create", "--no-run", "-m", text).strip().splitlines()[-1]


def listed(cwd: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in json.loads(ok(cwd, "task", "list", "--json"))}


def shown(cwd: Path, task_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ok(cwd, "task", "show", task_id, "--json"))
    return data


def said(cwd: Path, *args: str) -> str:
    """The one-line summary a sync command prints on stderr (stdout stays empty)."""
    result = run_cli(cwd, *args)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    assert result.stdout == ""
    return result.stderr.strip().splitlines()[-1]


def manual(*clones: Path) -> None:
    """These clones move task data only when asked (`config sync.auto false`)."""
    for clone in clones:
        ok(clone, "config", "set", "sync.auto", "false")


def sync(cwd: Path, *extra: str) -> str:
    return said(cwd, "task", "sync", *extra)


def rev(cwd: Path, ref: str) -> str:
    return git(cwd, "rev-parse", "--verify", "-q", ref, check=False)


def merges(cwd: Path, ref: str = layout.DATA_REF) -> list[str]:
    return git(cwd, "rev-list", "--merges", ref).split()


def tasks_on_origin(team: Team) -> set[str]:
    names = git(team.origin, "ls-tree", "-r", "--name-only", REMOTE_TASKS).splitlines()
    return {n.split("/")[2] for n in names if n.endswith("/" + layout.METADATA_FILE)}


# -- the everyday round trip ------------------------------------------------------------


def test_create_on_a_then_list_show_and_continue_on_b(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    manual(a, b)
    task_id = create(a, "Fix the login page\n\nIt rejects valid passwords.")

    assert sync(a) == "pushed tasks to origin"
    assert team.remote_ref(REMOTE_TASKS) == rev(a, layout.DATA_REF)

    assert sync(b) == "fast-forwarded 1 task from origin"
    assert rev(b, layout.DATA_REF) == rev(a, layout.DATA_REF)  # no merge commit
    assert list(listed(b)) == [task_id]
    record = shown(b, task_id[:8])
    assert record["title"] == "Fix the login page"
    assert record["continuation_count"] == 0

    entry = FeedbackEntry("also the logout page", author="B Dev <b@example.com>")
    TaskDatabase.open(b).add_feedback(task_id, entry)
    assert sync(b) == "pushed tasks to origin"
    assert sync(a) == "fast-forwarded 1 task from origin"

    record = shown(a, task_id[:8])
    assert record["continuation_count"] == 1
    assert record["feedback_history"][0]["feedback"] == "also the logout page"
    assert merges(a) == []


def test_pull_and_push_each_do_one_half(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    manual(a, b)
    task_id = create(a, "Halves")
    assert said(a, "task", "pull") == "tasks up to date with origin"
    assert team.remote_ref(REMOTE_TASKS) == ""
    data = json.loads(ok(a, "task", "push", "--json"))
    assert data["pushed"] == ["tasks"] and data["push_attempts"] == 1
    assert team.remote_ref(REMOTE_TASKS) == rev(a, layout.DATA_REF)
    assert said(b, "task", "pull") == "fast-forwarded 1 task from origin"
    assert task_id in listed(b)


def test_both_sides_add_feedback_to_the_same_task(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    task_id = create(a, "Shared task")
    sync(a)
    sync(b)
    TaskDatabase.open(a).add_feedback(task_id, FeedbackEntry("from a, first"))
    TaskDatabase.open(b).add_feedback(task_id, FeedbackEntry("from b, second"))
    TaskDatabase.open(a).add_feedback(task_id, FeedbackEntry("from a, third"))

    sync(a)
    assert sync(b) == "merged 1 task from origin; pushed tasks to origin"
    sync(a)

    for clone in (a, b):
        record = shown(clone, task_id)
        assert [f["feedback"] for f in record["feedback_history"]] == [
            "from a, first",
            "from b, second",
            "from a, third",
        ]
        assert record["continuation_count"] == 3
    assert rev(a, layout.DATA_REF) == rev(b, layout.DATA_REF) == team.remote_ref(REMOTE_TASKS)


def test_concurrent_status_changes_take_the_later_change(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    task_id = create(a, "Racy status")
    sync(a)
    sync(b)
    TaskDatabase.open(a).update(task_id, lambda t: t.set_status(TaskStatus.CLOSED))
    time.sleep(1.1)  # commit times have one-second resolution
    TaskDatabase.open(b).update(task_id, lambda t: t.set_status(TaskStatus.RUNNING))
    sync(a)

    summary = sync(b)

    assert summary == "merged 1 task from origin (1 conflict resolved); pushed tasks to origin"
    message = git(b, "log", "-1", "--format=%B", layout.DATA_REF)
    assert message.startswith("merge: 1 task from origin (1 conflict resolved)")
    assert f"conflict task {task_id[:8]} status: local won (running); origin had closed" in message
    assert message.rstrip().endswith("Task-Action: merge")
    sync(a)
    assert shown(a, task_id)["status"] == shown(b, task_id)["status"] == "running"


def test_delete_against_edit_keeps_the_delete_with_a_trace(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    task_id = create(a, "Short-lived")
    keep_id = create(a, "Survivor")
    sync(a)
    sync(b)
    ok(a, "task", "delete", task_id, "--yes")
    TaskDatabase.open(b).update(task_id, lambda t: setattr(t, "pr_note", "edited on b") or None)
    sync(a)

    result = run_cli(b, "task", "sync")

    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "1 delete kept" in lines[-1]
    assert any(line.startswith(f"delete kept task {task_id[:8]}") for line in lines)
    assert set(listed(b)) == {keep_id}
    gone = run_cli(b, "task", "show", task_id)
    assert gone.returncode == 1 and "was deleted" in gone.stderr
    history = json.loads(ok(b, "task", "history", "--json"))
    assert history[0]["action"] == "merge"
    assert f"dropped the edit on local: update {task_id[:8]}" in history[0]["detail"]
    sync(a)
    assert set(listed(a)) == {keep_id}


def test_teammates_syncing_at_the_same_moment_all_land(team: Team) -> None:
    clones = [team.clone(name) for name in ("a", "b", "c")]
    for clone in clones:
        sync(clone)  # configured; nothing there yet
    made = {clone: [create(clone, f"{clone.name} task {i}") for i in range(2)] for clone in clones}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gittask", "task", "sync"],
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for clone in clones
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    everything = {task_id for ids in made.values() for task_id in ids}
    assert tasks_on_origin(team) == everything
    for clone in clones:
        sync(clone)
        assert set(listed(clone)) == everything
    tips = {rev(clone, layout.DATA_REF) for clone in clones}
    assert tips == {team.remote_ref(REMOTE_TASKS)}


def test_independent_merges_on_two_clones_build_the_same_tree(team: Team) -> None:
    """A merges B's tasks and B merges A's, each on its own: same tree."""
    a, b = team.clone("a"), team.clone("b")
    manual(a, b)
    shared = create(a, "Edited on both")
    sync(a)
    sync(b)
    TaskDatabase.open(a).update(shared, lambda t: setattr(t, "pr_note", "a") or None)
    TaskDatabase.open(b).update(shared, lambda t: setattr(t, "pr_note", "b") or None)
    TaskDatabase.open(b).update(shared, lambda t: setattr(t, "agent", "claude") or None)
    create(a, "Only on a")
    create(b, "Only on b")
    for name, clone in (("peer-a", a), ("peer-b", b)):
        bare = team.root / f"{name}.git"
        git(team.root, "init", "-q", "--bare", str(bare))
        git(clone, "remote", "add", name, str(bare))
        ok(clone, "task", "push", "--remote", name)
    git(a, "remote", "add", "peer-b", str(team.root / "peer-b.git"))
    git(b, "remote", "add", "peer-a", str(team.root / "peer-a.git"))

    assert "merged 2 tasks from peer-b" in said(a, "task", "pull", "--remote", "peer-b")
    assert "merged 2 tasks from peer-a" in said(b, "task", "pull", "--remote", "peer-a")

    tree_a = rev(a, f"{layout.DATA_REF}^{{tree}}")
    assert tree_a == rev(b, f"{layout.DATA_REF}^{{tree}}")
    assert rev(a, layout.DATA_REF) != rev(b, layout.DATA_REF)  # two merge commits, one tree


# -- plain git keeps working -------------------------------------------------------------


def test_plain_fetch_and_push_work_before_there_are_any_tasks(team: Team) -> None:
    a = team.clone("a")
    configure_remote(GitRepo.discover(a))
    assert subprocess.run(["git", "fetch"], cwd=a, capture_output=True).returncode == 0
    (a / "new.txt").write_text("x\n")
    git(a, "add", "new.txt")
    git(a, "commit", "-q", "-m", "new file")
    push = subprocess.run(["git", "push"], cwd=a, capture_output=True, text=True)
    assert push.returncode == 0, push.stderr
    assert team.remote_ref("refs/heads/trunk") == rev(a, "HEAD")
    assert team.remote_ref(REMOTE_TASKS) == ""
    assert "notes ref" not in git(a, "log", "-1") + push.stderr


def test_plain_git_push_carries_the_user_branch_only(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    manual(a, b)
    create(a, "First")  # the first write configures the clone: no push line
    assert git(a, "config", "--get-all", "remote.origin.push", check=False) == ""
    sync(a)
    (a / "one.txt").write_text("1\n")
    git(a, "add", "one.txt")
    git(a, "commit", "-q", "-m", "one")
    git(a, "push", "-q")
    assert team.remote_ref("refs/heads/trunk") == rev(a, "HEAD")

    # diverged task data: a bare `git push` does not care
    create(b, "On b")
    sync(b)
    create(a, "Second on a")
    (a / "two.txt").write_text("2\n")
    git(a, "add", "two.txt")
    git(a, "commit", "-q", "-m", "two")
    push = subprocess.run(["git", "push"], cwd=a, capture_output=True, text=True)
    assert push.returncode == 0, push.stderr
    assert "rejected" not in push.stderr and "claude-tasks" not in push.stderr
    assert team.remote_ref("refs/heads/trunk") == rev(a, "HEAD")

    # the next command that reads tasks merges what `git fetch` brought
    before = rev(a, layout.DATA_REF)
    git(a, "fetch", "-q")
    assert len(listed(a)) == 3
    parents = git(a, "log", "-1", "--format=%P", layout.DATA_REF).split()
    assert parents == [before, rev(a, TRACKING)]
    sync(a)
    assert team.remote_ref(REMOTE_TASKS) == rev(a, layout.DATA_REF)


def test_state_from_a_plain_git_fetch_is_never_stale(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    first = create(a, "First")
    sync(a)
    sync(b)
    assert set(listed(b)) == {first}  # the index is now current on b
    second = create(a, "Second")
    sync(a)

    git(b, "fetch", "-q")
    assert set(listed(b)) == {first, second}  # the fast path noticed the tracking ref

    local = create(b, "Local on b")
    third = create(a, "Third")
    sync(a)
    git(b, "fetch", "-q")
    assert set(listed(b)) == {first, second, local, third}
    assert len(merges(b)) == 1


def test_a_plain_fetch_from_the_configured_remote_is_picked_up(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    first = create(a, "First")
    sync(a)
    git(b, "remote", "rename", "origin", "upstream")
    ok(b, "config", "set", "remote", "upstream")
    sync(b)  # the configured remote: no --remote needed
    assert set(listed(b)) == {first}
    second = create(a, "Second")
    sync(a)
    git(b, "fetch", "-q", "upstream")
    assert set(listed(b)) == {first, second}


def test_a_plain_clone_lists_tasks_at_once(team: Team) -> None:
    a = team.clone("a")
    ids = {create(a, "One"), create(a, "Two")}
    sync(a)
    fresh = team.clone("fresh")
    assert rev(fresh, TRACKING) != ""
    assert set(listed(fresh)) == ids
    assert rev(fresh, layout.DATA_REF) == rev(a, layout.DATA_REF)


def test_notes_travel_and_show_in_git_log(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    task_id = create(a, "Noted")
    head = rev(a, "HEAD")
    add_note(GitRepo.discover(a), head, {"task_id": task_id, "run": 1})
    sync(a)
    sync(b)
    shown_b = git(b, "log", "-1", "--notes=claude-tasks", head)
    assert shown_b.count(f'"task_id":"{task_id}"') == 1  # once: no notes.displayRef
    assert "Notes (claude-tasks)" not in git(b, "log", "-1", head)

    # both annotate the same commit; plain git fetch + the next command merges them
    add_note(GitRepo.discover(a), head, {"task_id": task_id, "run": 2})
    add_note(GitRepo.discover(b), head, {"task_id": task_id, "run": 3})
    sync(a)
    git(b, "fetch", "-q")
    shown(b, task_id)  # any command that reads through the database merges them
    note = git(b, "notes", "--ref=claude-tasks", "show", head).splitlines()
    assert sorted(json.loads(line)["run"] for line in note) == [1, 2, 3]


def test_amend_and_rebase_keep_the_task_notes(team: Team) -> None:
    a = team.clone("a")
    configure_remote(GitRepo.discover(a))
    (a / "x.txt").write_text("x\n")
    git(a, "add", "x.txt")
    git(a, "commit", "-q", "-m", "x")
    add_note(GitRepo.discover(a), rev(a, "HEAD"), {"task_id": "abc", "run": 1})
    git(a, "commit", "-q", "--amend", "-m", "x, amended")
    assert '"run":1' in git(a, "notes", "--ref=claude-tasks", "show", "HEAD")
    git(a, "rebase", "-q", "--force-rebase", "HEAD~1")
    assert '"run":1' in git(a, "notes", "--ref=claude-tasks", "show", "HEAD")


def test_push_behind_the_remote_fetches_merges_and_lands(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    manual(a, b)
    on_a = create(a, "On a")
    sync(a)
    on_b = create(b, "On b")  # b never fetched: its push is not a fast-forward

    data = json.loads(ok(b, "task", "push", "--json"))

    assert data["push_attempts"] == 2 and data["pushed"] == ["tasks"]
    assert [m["action"] for m in data["merges"]] == ["merge"]
    assert team.remote_ref(REMOTE_TASKS) == rev(b, layout.DATA_REF)
    assert len(merges(b)) == 1
    sync(a)
    assert set(listed(a)) == set(listed(b)) == {on_a, on_b}


# -- what goes wrong ---------------------------------------------------------------------


def test_a_corrupted_remote_ref_is_a_clear_error_and_local_data_stays(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    task_id = create(a, "Precious")
    sync(a)
    sync(b)
    local = create(b, "Local only")
    before = rev(b, layout.DATA_REF)
    git(a, "push", "-q", "--force", "origin", "trunk:claude-tasks")  # a slip of the hand

    result = run_cli(b, "task", "sync")

    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "error: origin's claude-tasks is not task data (its tree has no tasks/ or tombstones/"
    )
    assert "local tasks are unchanged" in last
    assert "git push --force origin refs/claude-tasks:refs/heads/claude-tasks" in last
    assert rev(b, layout.DATA_REF) == before
    db = TaskDatabase(GitRepo.discover(b))
    assert {db.store.get(task_id).title, db.store.get(local).title} == {"Precious", "Local only"}

    # a real task history with a stray file committed on top of it
    index_env = {**os.environ, "GIT_INDEX_FILE": str(team.root / "scratch-index")}
    subprocess.run(["git", "read-tree", layout.DATA_REF], cwd=a, env=index_env, check=True)
    blob_id = git(a, "hash-object", "-w", "app.py")
    subprocess.run(
        ["git", "update-index", "--add", "--cacheinfo", f"100644,{blob_id},src/app.py"],
        cwd=a,
        env=index_env,
        check=True,
    )
    tree = subprocess.run(
        ["git", "write-tree"], cwd=a, env=index_env, capture_output=True, text=True, check=True
    ).stdout.strip()
    stray = git(a, "commit-tree", tree, "-p", rev(a, layout.DATA_REF), "-m", "oops")
    git(a, "push", "-q", "--force", "origin", f"{stray}:refs/heads/claude-tasks")
    result = run_cli(b, "task", "pull")
    assert result.returncode == 1
    assert "error: origin's claude-tasks is not task data (src: unexpected" in result.stderr
    assert rev(b, layout.DATA_REF) == before

    # a tracking ref pointing at a blob: every reading command says so, in one
    # warning line, and goes on with the local tasks (`task sync` refuses it)
    blob = git(b, "hash-object", "-w", "--stdin")
    git(b, "update-ref", TRACKING, blob)
    listing = run_cli(b, "task", "list", "--json")
    assert listing.returncode == 0
    assert listing.stderr.strip().splitlines() == [
        f"warning: origin's claude-tasks is not task data (it points at a blob "
        f"({blob[:12]}), not a commit): showing local tasks only; "
        "`task sync` says how to repair it"
    ]
    assert {row["id"] for row in json.loads(listing.stdout)} == {task_id, local}
    assert run_cli(b, "task", "sync").returncode == 1
    git(b, "update-ref", "-d", TRACKING)
    assert set(listed(b)) == {task_id, local}
    assert rev(b, layout.DATA_REF) == before


def test_a_server_refuses_the_one_level_ref_itself(team: Team) -> None:
    """Why the remote name is a branch: receive-pack rejects refs/claude-tasks."""
    a = team.clone("a")
    create(a, "Anything")
    push = subprocess.run(
        ["git", "push", "origin", "refs/claude-tasks:refs/claude-tasks"],
        cwd=a,
        capture_output=True,
        text=True,
    )
    assert push.returncode != 0 and "funny refname" in push.stderr


def test_sync_without_the_remote_says_so(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "alone")
    result = run_cli(repo, "task", "sync")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: there is no git remote 'origin' (add one with: git remote add origin <url>)"
    )


def test_configure_remote_is_idempotent(team: Team) -> None:
    a = team.clone("a")
    repo = GitRepo.discover(a)
    configure_remote(repo)
    first = git(a, "config", "--list", "--local")
    configure_remote(repo)
    assert git(a, "config", "--list", "--local") == first
    assert git(a, "config", "--get-all", "remote.origin.fetch").splitlines() == [
        "+refs/heads/*:refs/remotes/origin/*",
        notes_fetch_refspec("origin"),
    ]
    # a bare `git push` stays as it was; the tool publishes task data itself
    assert git(a, "config", "--get-all", "remote.origin.push", check=False) == ""
    assert git(a, "config", "--get-all", "notes.displayRef", check=False) == ""
    assert git(a, "config", "notes.rewriteRef") == NOTES_GLOB
    assert git(a, "config", "notes.rewriteMode") == "cat_sort_uniq"


@pytest.mark.parametrize("narrow", [True, False])
def test_a_single_branch_clone_still_fetches_the_tasks(team: Team, narrow: bool) -> None:
    a = team.clone("a")
    task_id = create(a, "Found anyway")
    sync(a)
    args = ["clone", "-q", "--single-branch"] if narrow else ["clone", "-q"]
    git(team.root, *args, str(team.origin), "thin")
    thin = team.root / "thin"
    git(thin, "config", "user.name", "Thin")
    git(thin, "config", "user.email", "thin@example.com")
    sync(thin)
    assert task_id in listed(thin)
