"""Handing a task to a teammate, end to end: two clones of one repository, a real bare
origin, the GitHub-compatible server on 127.0.0.1, real Docker runs of the scripted
agent (``tests/docker_image``), and the CLI as a process in each clone.

Clone A creates a task (its PR opens); B, a fresh clone, continues it by PR URL; A runs
plain ``git pull`` and sees both runs and their summed cost. Once with ``sync.auto``
on in both clones, once with it off and explicit ``task sync``. Then the races and
failures: two clones continuing at once, a refused push published later.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gittask.config import CONFIG_DIR, CONFIG_FILE
from tests.fake_github.fixture import github_server  # noqa: F401  (fixture)
from tests.fake_github.server import FakeGitHub
from tests.run_support import DEFAULT_BRANCH, Project, build_image, docker_available, git

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine")

TOKEN = "ghp_handoff_token_0123456789"
URL = "https://github.com/octo/widgets"
COST = 0.0123  # what the scripted agent reports per run


@pytest.fixture(scope="module")
def image() -> str:
    return build_image()


@dataclass
class Clone(Project):
    """Another clone of the same ``origin.git``, in ``root/<name>``."""

    name: str = "work"

    @property
    def work(self) -> Path:
        return self.root / self.name


class Team:
    def __init__(self, a: Project, server: FakeGitHub) -> None:
        self.a = a
        self.server = server

    def clone(self, name: str, **config: Any) -> Clone:
        """A fresh clone, set up as a teammate would: identity, GitHub URL, the
        project's committed config (here copied: A's is not committed)."""
        b = Clone(self.a.root, self.a.image, env=dict(self.a.env), name=name)
        git(self.a.root, "clone", "-q", str(self.a.origin), name)
        git(b.work, "config", "user.name", f"{name.title()} Teammate")
        git(b.work, "config", "user.email", f"{name}@example.com")
        git(b.work, "remote", "set-url", "origin", f"{URL}.git")
        git(b.work, "config", f"url.{self.a.origin}.insteadOf", f"{URL}.git")
        folder = b.work / CONFIG_DIR
        folder.mkdir(exist_ok=True)
        shutil.copy(self.a.work / CONFIG_DIR / CONFIG_FILE, folder / CONFIG_FILE)
        b.configure(**config)
        return b

    def pulls(self) -> list[dict[str, Any]]:
        return self.server.pulls("octo", "widgets")


@pytest.fixture
def team(github_server: FakeGitHub, tmp_path: Path, image: str) -> Iterator[Team]:  # noqa: F811
    a = Project(tmp_path / "p", image).setup()
    github_server.add_token(TOKEN, "octo")
    github_server.create_repo("octo", "widgets", default_branch=DEFAULT_BRANCH, bare_path=a.origin)
    git(a.work, "remote", "set-url", "origin", f"{URL}.git")
    git(a.work, "config", f"url.{a.origin}.insteadOf", f"{URL}.git")
    a.configure(github_api_url=github_server.base_url)
    a.env.update({"GH_TOKEN": TOKEN, "GITHUB_TOKEN": None})  # type: ignore[dict-item]
    yield Team(a, github_server)
    assert a.containers() == []


def ok(clone: Project, *args: str) -> subprocess.CompletedProcess[str]:
    proc = clone.cli(*args)
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc


def no_conflict_reported(*procs: subprocess.CompletedProcess[str]) -> None:
    for proc in procs:
        assert "conflict" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("auto", [True, False], ids=["sync.auto", "explicit-sync"])
def test_hand_a_task_to_a_fresh_clone_by_pr_url_and_back(team: Team, auto: bool) -> None:
    a = team.a
    a.configure(**{"sync.auto": auto})
    created = ok(a, "task", "create", "-m", "Write the notes file\n\nKeep it short.")
    task_id = created.stdout.strip().splitlines()[-1]
    [pull] = team.pulls()
    assert f"<!-- claude-container-task: {task_id} -->" in pull["body"]
    steps = [created]
    if not auto:
        assert a.remote_branch("claude-tasks") == ""  # nothing went without being asked
        steps.append(ok(a, "task", "sync"))
    assert a.remote_branch("claude-tasks") != ""

    b = team.clone("b", **{"sync.auto": auto})
    if not auto:
        steps.append(ok(b, "task", "sync"))
    cont = ok(b, "task", "continue", pull["html_url"], "--feedback", "Add a second line")
    steps.append(cont)
    assert task_id in cont.stdout
    if not auto:
        steps.append(ok(b, "task", "sync"))
    record_b = b.show(task_id)
    assert record_b["run_count"] == 2 and record_b["status"] == "continued"

    # A: nothing but plain git, then any command sees B's run
    pulled = subprocess.run(
        ["git", "pull", "-q", "--ff-only"], cwd=a.work, capture_output=True, text=True
    )
    assert pulled.returncode == 0, pulled.stderr
    record = a.show(task_id)
    assert record["run_count"] == 2 and record["status"] == "continued"
    assert record["cost_usd"] == pytest.approx(2 * COST)
    assert record["output_tokens"] == 2 * 345
    assert record["continuation_count"] == 1
    assert record["feedback_history"][0]["author"].startswith("B Teammate")
    assert record["commit_hash"] == a.remote_branch(record["branch_name"])
    assert len(record["commits"]) == 2
    history = json.loads(ok(a, "task", "history", "--json").stdout)
    assert [e["action"] for e in history if e["task_id"] == task_id][:2] in (
        ["continued", "running"],
        ["pr", "continued"],
    )
    comments = team.server.issue_comments("octo", "widgets", pull["number"])
    assert len(comments) == 1 and "run 2" in comments[0]["body"]
    no_conflict_reported(*steps)
    assert len(team.pulls()) == 1


def test_continue_by_id_prefix_or_short_pr_in_a_fresh_clone(team: Team) -> None:
    a = team.a
    task_id = ok(a, "task", "create", "-m", "First task").stdout.strip().splitlines()[-1]
    b = team.clone("b", **{"sync.auto": False})  # only the unknown id makes it fetch
    git(b.work, "update-ref", "-d", "refs/remotes/origin/claude-tasks")  # truly fresh
    assert b.tasks() == []
    proc = ok(b, "task", "continue", task_id[:8], "--feedback", "by prefix")
    assert b.show(task_id)["run_count"] == 2
    ok(b, "task", "sync")
    c = team.clone("c")
    git(c.work, "update-ref", "-d", "refs/remotes/origin/claude-tasks")
    proc = ok(c, "task", "continue", "octo/widgets#1", "--feedback", "by short form")
    assert task_id in proc.stdout
    assert c.show(task_id)["run_count"] == 3


def test_a_pr_whose_task_was_never_published_says_so(team: Team) -> None:
    a = team.a
    a.configure(**{"sync.auto": False})
    task_id = ok(a, "task", "create", "-m", "Kept local").stdout.strip().splitlines()[-1]
    b = team.clone("b")
    proc = b.cli("task", "continue", f"{URL}/pull/1", "--feedback", "hello")
    assert proc.returncode == 1
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("error: ")]
    assert f"names task {task_id[:8]}" in line and "no clone has published it" in line
    assert "`task push`" in line
    # a PR without any marker keeps its own message
    branch = a.show(task_id)["branch_name"]
    git(a.work, "push", "-q", "origin", f"{branch}:refs/heads/human-copy")
    team.server.create_pull("octo", "widgets", login="octo", title="manual", head="human-copy")
    proc = b.cli("task", "continue", f"{URL}/pull/2", "--feedback", "hello")
    assert proc.returncode == 1 and "has no claude-container marker" in proc.stderr


def test_two_clones_continuing_at_once_one_runs_the_other_is_refused(team: Team) -> None:
    a = team.a
    task_id = ok(a, "task", "create", "-m", "Contended task").stdout.strip().splitlines()[-1]
    b = team.clone("b")
    c = team.clone("c")
    ok(b, "task", "sync")
    ok(c, "task", "sync")
    procs = {
        clone.name: clone.popen(
            "task", "continue", task_id[:8], "--feedback", f"from {clone.name} AGENT:SLEEP=3"
        )
        for clone in (b, c)
    }
    results = {name: (p.wait(timeout=180), *p.communicate()) for name, p in procs.items()}
    codes = sorted(code for code, _, _ in results.values())
    assert codes == [0, 1], results
    loser = next(name for name, (code, _, _) in results.items() if code == 1)
    winner = "b" if loser == "c" else "c"
    [line] = [x for x in results[loser][2].splitlines() if x.startswith("error: ")]
    assert f"task {task_id[:8]} is being run by {winner.title()} Teammate" in line or (
        f"task {task_id[:8]} was run meanwhile by {winner.title()} Teammate" in line
    ), line
    assert "(run 2" in line
    # no duplicate run number anywhere
    ok(a, "task", "sync")
    record = a.show(task_id)
    assert record["run_count"] == 2 and record["status"] == "continued"
    assert record["claimed_by"].startswith(f"{winner.title()} Teammate")
    running = git(a.work, "log", "--format=%s", "refs/claude-tasks").splitlines()
    assert sum(1 for s in running if s.startswith(f"running {task_id[:8]}")) == 2, running
    loser_clone = b if loser == "b" else c
    assert not (loser_clone.logs_root(task_id) / "run-002").exists()
    assert loser_clone.containers() == []
    notes = git(a.work, "notes", "--ref=claude-tasks", "list").splitlines()
    runs = []
    for line_ in notes:
        blob = line_.split()[0]
        for entry in git(a.work, "cat-file", "-p", blob).splitlines():
            runs.append(json.loads(entry)["run"])
    assert sorted(runs) == [1, 2]
    # the loser's feedback is kept and published: the next continue answers it
    assert record["continuation_count"] == 2


def test_a_refused_push_is_recorded_and_published_later_without_a_new_run(team: Team) -> None:
    a = team.a
    hook = a.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'read-only for maintenance' >&2\nexit 1\n")
    hook.chmod(0o755)
    proc = a.cli("task", "create", "-m", "Blocked for now")
    assert proc.returncode == 1
    task_id = a.tasks()[0]["id"]
    record = a.show(task_id)
    assert record["status"] == "failed"
    assert "read-only for maintenance" in record["publish_error"]
    assert f"task push {task_id[:8]}" in record["error_message"]
    shown = ok(a, "task", "show", task_id).stdout
    assert "not published:" in shown
    assert team.pulls() == [] and a.remote_branch(record["branch_name"]) == ""
    runs_before = record["run_count"]

    hook.unlink()
    time.sleep(0.1)
    pushed = ok(a, "task", "push", task_id[:8])
    assert f"pushed {record['branch_name']}" in pushed.stderr
    assert "opened pull request" in pushed.stderr
    after = a.show(task_id)
    assert after["status"] == "created" and after["publish_error"] is None
    assert after["error_message"] is None and after["run_count"] == runs_before
    assert after["pr_number"] == 1
    assert a.remote_branch(record["branch_name"]) == record["commit_hash"]
    assert a.remote_branch("claude-tasks") == git(a.work, "rev-parse", "refs/claude-tasks")
    [pull] = team.pulls()
    assert pull["head"]["sha"] == record["commit_hash"]
    again = ok(a, "task", "start", task_id[:8], "--publish-only")
    assert "already on origin" in again.stderr
