"""Plain git stays plain: after ``init``, a bare ``git push``/``fetch``/``pull`` behave as
before for the user's branches, whatever state the task data is in; ``uninit`` and
``clean --task-data`` take back every setting.

Real clones of a real bare origin; every git command is the git executable.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gittask.store import layout
from gittask.store.notes import add_note
from gittask.store.repo import GitRepo
from gittask.store.sync import NOTES_GLOB, NOTES_PUSH_REFSPEC, data_push_refspec
from tests.conftest import Team, git, run_cli

REMOTE_TASKS = "refs/heads/claude-tasks"


def ok(cwd: Path, *args: str) -> str:
    result = run_cli(cwd, *args)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return result.stdout


def create(cwd: Path, text: str) -> str:
    return ok(cwd, "task", "create", "--no-run", "-m", text).strip().splitlines()[-1]


def manual(cwd: Path) -> None:
    """Task data moves only when asked (the states below are made by hand)."""
    ok(cwd, "config", "set", "sync.auto", "false")


def plain(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def commit_file(cwd: Path, name: str) -> str:
    (cwd / name).write_text(name + "\n")
    git(cwd, "add", name)
    git(cwd, "commit", "-q", "-m", f"add {name}")
    return git(cwd, "rev-parse", "HEAD")


def assert_quiet_success(proc: subprocess.CompletedProcess[str], what: str) -> None:
    assert proc.returncode == 0, f"{what}: {proc.stderr}"
    text = (proc.stdout + proc.stderr).lower()
    for word in ("rejected", "error", "fatal", "hint:", "warning"):
        assert word not in text, f"{what} printed {word!r}: {proc.stderr}"


def garbage_on_origin(team: Team) -> None:
    """An unrelated history with a README, pushed as the branch claude-tasks."""
    junk = team.root / "junk"
    git(team.root, "init", "-q", str(junk))
    git(junk, "config", "user.name", "Junk")
    git(junk, "config", "user.email", "junk@example.com")
    commit_file(junk, "README")
    git(junk, "push", "-q", "--force", str(team.origin), "HEAD:refs/heads/claude-tasks")


STATES = ["missing", "ahead", "behind", "diverged", "garbage"]


def make_state(team: Team, a: Path, b: Path, state: str) -> None:
    """Task data of ``a`` against origin in ``state``; ``b`` is a teammate."""
    manual(a)
    manual(b)
    create(a, "A task of a")
    if state == "missing":
        assert team.remote_ref(REMOTE_TASKS) == ""
        return
    ok(a, "task", "sync")
    if state in ("ahead", "diverged"):
        create(a, "Only on a")
    if state in ("behind", "diverged"):
        ok(b, "task", "sync")
        create(b, "Only on b")
        ok(b, "task", "sync")
    if state == "garbage":
        garbage_on_origin(team)


@pytest.mark.parametrize("state", STATES)
def test_bare_push_fetch_pull_succeed_quietly_in_every_state(team: Team, state: str) -> None:
    a, b = team.clone("a"), team.clone("b")
    ok(a, "init")
    ok(b, "init")
    make_state(team, a, b, state)
    tasks_before = team.remote_ref(REMOTE_TASKS)

    head = commit_file(a, f"work-{state}.txt")
    assert_quiet_success(plain(a, "push", "-q"), "git push")
    assert team.remote_ref("refs/heads/trunk") == head
    assert team.remote_ref(REMOTE_TASKS) == tasks_before  # plain push never touches tasks

    theirs = commit_file(b, "from-b.txt")
    git(b, "pull", "-q", "--rebase")
    git(b, "push", "-q")
    assert_quiet_success(plain(a, "fetch", "-q"), "git fetch")
    assert_quiet_success(plain(a, "pull", "-q", "--ff-only"), "git pull")
    assert git(a, "log", "-1", "--format=%s") == "add from-b.txt"
    assert theirs != head
    # and once more with the default, non-quiet output: no hint, no rejected line
    assert_quiet_success(plain(a, "push"), "git push (nothing to push)")
    # plain fetch brought the remote's task data (whatever it is) to its tracking ref
    tracking = git(a, "rev-parse", "--verify", "-q", "origin/claude-tasks", check=False)
    assert tracking == team.remote_ref(REMOTE_TASKS)


def test_a_garbage_remote_branch_can_be_browsed_with_plain_git(team: Team) -> None:
    a = team.clone("a")
    ok(a, "init")
    garbage_on_origin(team)
    assert_quiet_success(plain(a, "fetch", "-q"), "git fetch")
    assert git(a, "log", "-1", "--format=%s", "origin/claude-tasks") == "add README"


def test_git_log_shows_each_task_note_once(team: Team) -> None:
    a = team.clone("a")
    ok(a, "init")
    task_id = create(a, "Noted")
    head = git(a, "rev-parse", "HEAD")
    add_note(GitRepo.discover(a), head, {"task_id": task_id, "run": 1})
    shown = git(a, "log", "-1", "--notes=claude-tasks", head)
    assert shown.count(task_id) == 1
    assert shown.count("Notes (claude-tasks)") == 1
    assert git(a, "log", "-1", "--notes", head).count(task_id) <= 1


def test_init_says_what_it_configured_and_adds_no_push_line(team: Team) -> None:
    a = team.clone("a")
    out = ok(a, "init")
    assert "added remote.origin.fetch = +refs/notes/claude-tasks*" in out
    assert f"set notes.rewriteRef = {NOTES_GLOB}" in out
    assert "set notes.rewriteMode = cat_sort_uniq" in out
    assert git(a, "config", "--get-all", "remote.origin.push", check=False) == ""
    assert git(a, "config", "--get-all", "notes.displayRef", check=False) == ""
    again = ok(a, "init")
    assert "already initialised: nothing to change" in again
    assert "added" not in again and "set " not in again


def test_init_removes_what_older_versions_configured(team: Team) -> None:
    a = team.clone("a")
    create(a, "Old")
    for value in ("HEAD", NOTES_PUSH_REFSPEC, data_push_refspec()):
        git(a, "config", "--add", "remote.origin.push", value)
    git(a, "config", "--add", "notes.displayRef", NOTES_GLOB)
    out = ok(a, "init")
    assert f"removed remote.origin.push = {data_push_refspec()}" in out
    assert "removed remote.origin.push = HEAD" in out
    assert f"removed notes.displayRef = {NOTES_GLOB}" in out
    assert git(a, "config", "--get-all", "remote.origin.push", check=False) == ""
    assert git(a, "config", "--get-all", "notes.displayRef", check=False) == ""


def test_a_users_own_push_line_is_kept(team: Team) -> None:
    a = team.clone("a")
    git(a, "config", "--add", "remote.origin.push", "HEAD")
    git(a, "config", "--add", "remote.origin.push", "refs/heads/trunk:refs/heads/trunk")
    git(a, "config", "--add", "remote.origin.push", NOTES_PUSH_REFSPEC)
    ok(a, "init")
    assert git(a, "config", "--get-all", "remote.origin.push").splitlines() == [
        "HEAD",
        "refs/heads/trunk:refs/heads/trunk",
    ]


def _settings(cwd: Path) -> list[str]:
    listed = git(cwd, "config", "--local", "--list").splitlines()
    return [line for line in listed if "claude-tasks" in line or line.startswith("notes.")]


def test_uninit_removes_every_setting_init_added(team: Team) -> None:
    a = team.clone("a")
    before = git(a, "config", "--local", "--list")
    ok(a, "init")
    create(a, "Some task")  # a write configures again: idempotent
    assert _settings(a)
    out = ok(a, "uninit")
    assert "removed remote.origin.fetch = +refs/notes/claude-tasks*" in out
    assert "removed notes.rewriteRef" in out
    assert _settings(a) == []
    assert git(a, "config", "--local", "--list") == before
    assert "no claude-container git settings to remove" in ok(a, "uninit")
    assert git(a, "rev-parse", "--verify", "-q", layout.DATA_REF)  # the data stays


def test_clean_task_data_removes_the_settings_too(team: Team) -> None:
    a = team.clone("a")
    ok(a, "init")
    create(a, "Gone soon")
    result = run_cli(a, "clean", "--task-data", "--yes", env={"DOCKER_HOST": "unix:///no.sock"})
    assert result.returncode == 0, result.stderr
    assert "removed notes.rewriteRef" in result.stdout
    assert _settings(a) == []


# -- a broken remote never blocks local work ------------------------------------------


def _one_warning(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: origin's claude-tasks is not"), lines
    return lines[0]


def _hostile_history(team: Team, a: Path) -> None:
    """A real task history with a record whose folder escapes the layout."""
    import os

    scratch = {**os.environ, "GIT_INDEX_FILE": str(team.root / "hostile-index")}
    subprocess.run(["git", "read-tree", layout.DATA_REF], cwd=a, env=scratch, check=True)
    blob = git(a, "hash-object", "-w", "app.py")
    subprocess.run(
        ["git", "update-index", "--add", "--cacheinfo", f"100644,{blob},tasks/zz/../../x.yaml"],
        cwd=a,
        env=scratch,
        check=False,
    )
    subprocess.run(
        ["git", "update-index", "--add", "--cacheinfo", f"100644,{blob},tasks/zz/not-an-id"],
        cwd=a,
        env=scratch,
        check=True,
    )
    tree = subprocess.run(
        ["git", "write-tree"], cwd=a, env=scratch, capture_output=True, text=True, check=True
    ).stdout.strip()
    top = git(a, "commit-tree", tree, "-p", layout.DATA_REF, "-m", "hostile")
    git(a, "push", "-q", "--force", "origin", f"{top}:refs/heads/claude-tasks")


@pytest.mark.parametrize("kind", ["garbage", "unrelated", "hostile"])
def test_a_broken_remote_branch_warns_once_and_sync_says_how_to_repair(
    team: Team, kind: str
) -> None:
    a, b = team.clone("a"), team.clone("b")
    manual(b)
    task_id = create(b, "Precious local work")
    before = git(b, "rev-parse", layout.DATA_REF)
    if kind == "garbage":
        garbage_on_origin(team)
    elif kind == "unrelated":
        git(a, "push", "-q", "--force", "origin", "trunk:refs/heads/claude-tasks")
    else:
        create(a, "A's task")
        ok(a, "task", "sync")
        _hostile_history(team, a)
    git(b, "fetch", "-q")

    _one_warning(run_cli(b, "task", "list"))
    assert task_id[:8] in run_cli(b, "task", "list").stdout
    shown = run_cli(b, "task", "show", task_id)
    _one_warning(shown)
    assert "Precious local work" in shown.stdout
    _one_warning(run_cli(b, "task", "search", "precious"))
    logs = run_cli(b, "task", "logs", task_id)
    assert logs.returncode == 1 and logs.stderr.count("warning:") == 1
    assert "has no run logs yet" in logs.stderr

    refused = run_cli(b, "task", "sync")
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("error: origin's claude-tasks is not task data (")
    assert "`git log origin/claude-tasks`" in line
    assert "`git push --force origin refs/claude-tasks:refs/heads/claude-tasks`" in line
    assert git(b, "rev-parse", layout.DATA_REF) == before  # nothing merged

    # the repair it names works: afterwards sync is clean again
    git(b, "push", "-q", "--force", "origin", "refs/claude-tasks:refs/heads/claude-tasks")
    ok(b, "task", "sync")
    clean = run_cli(b, "task", "list")
    assert clean.returncode == 0 and clean.stderr == ""
