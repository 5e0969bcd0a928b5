"""``task diff --json`` and ``task checkout --json``: the work as data, for scripts.

The work branch is made with git here (as a run would leave it), on a real
bare origin and two clones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult, Team, git

Cli = Callable[..., CliResult]


def task_with_work(cli: Cli, clone: Path) -> tuple[str, str]:
    """A task on base ``trunk`` and its branch with two commits (a rename, a binary file)."""
    made = cli(clone, "task", "create", "--no-run", "--base", "trunk", "-m", "Review me")
    assert made.returncode == 0, made.stderr
    task_id = made.stdout.strip()
    branch = json.loads(cli(clone, "task", "show", task_id, "--json").stdout)["branch_name"]
    git(clone, "switch", "-q", "-c", branch, "origin/trunk")
    (clone / "app.py").write_text("print('hello')\nprint('again')\n")
    (clone / "new.txt").write_text("one\ntwo\nthree\n")
    git(clone, "add", ".")
    git(clone, "commit", "-q", "-m", "First change")
    git(clone, "mv", "README.md", "READ.md")
    (clone / "blob.bin").write_bytes(bytes(range(256)))
    git(clone, "add", ".")
    git(clone, "commit", "-q", "-m", "Second change")
    git(clone, "switch", "-q", "trunk")
    return task_id, branch


def test_diff_json_lists_commits_files_and_the_patch(cli: Cli, team: Team) -> None:
    clone = team.clone("alice")
    task_id, branch = task_with_work(cli, clone)
    result = cli(clone, "task", "diff", task_id[:8], "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["task"] == task_id and data["branch"] == branch and data["base"] == "trunk"
    assert data["base_ref"] == "origin/trunk" and data["branch_ref"] == branch
    assert [c["subject"] for c in data["commits"]] == ["First change", "Second change"]
    assert all(len(c["sha"]) == 40 for c in data["commits"])
    files = {f["path"]: f for f in data["files"]}
    assert files["app.py"] == {"path": "app.py", "additions": 1, "deletions": 0, "binary": False}
    assert files["new.txt"]["additions"] == 3
    assert files["READ.md"]["old_path"] == "README.md"
    assert files["blob.bin"]["binary"] is True and files["blob.bin"]["additions"] is None
    assert data["additions"] == 4 and data["deletions"] == 0
    assert "+print('again')" in data["patch"] and "diff --git a/new.txt b/new.txt" in data["patch"]
    # --stat: the files, no patch; it matches what git says
    stat = json.loads(cli(clone, "task", "diff", task_id, "--json", "--stat").stdout)
    assert "patch" not in stat and stat["files"] == data["files"]
    names = git(clone, "diff", "--name-only", f"origin/trunk...{branch}").split()
    assert sorted(files) == sorted(names)


def test_diff_json_refuses_a_task_without_work(cli: Cli, team: Team) -> None:
    clone = team.clone("alice")
    pending = cli(clone, "task", "create", "--no-run", "-m", "Nothing yet").stdout.strip()
    refused = cli(clone, "task", "diff", pending, "--json")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "has no branch" in refused.stderr and f"task start {pending[:8]}" in refused.stderr
    helped = cli(clone, "task", "diff", "--help")
    assert "--json" in helped.stdout


def test_checkout_json_creates_then_fast_forwards(cli: Cli, team: Team) -> None:
    alice = team.clone("alice")
    task_id, branch = task_with_work(cli, alice)
    git(alice, "push", "-q", "origin", branch)
    assert cli(alice, "task", "sync").returncode == 0
    bob = team.clone("bob")
    assert cli(bob, "task", "sync").returncode == 0
    # bob has no local branch: created, tracking origin's
    first = cli(bob, "task", "checkout", task_id[:8], "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    head = git(alice, "rev-parse", branch)
    assert data == {
        "task": task_id,
        "branch": branch,
        "head": head,
        "created": True,
        "updated": False,
        "tracking": f"origin/{branch}",
    }
    assert git(bob, "symbolic-ref", "--short", "HEAD") == branch
    # alice adds a commit; bob's local branch is behind: checkout fast-forwards it
    git(alice, "switch", "-q", branch)
    (alice / "later.txt").write_text("later\n")
    git(alice, "add", ".")
    git(alice, "commit", "-q", "-m", "Later")
    git(alice, "push", "-q", "origin", branch)
    git(bob, "switch", "-q", "trunk")
    git(bob, "fetch", "-q", "origin")
    again = cli(bob, "task", "checkout", task_id, "--json")
    assert again.returncode == 0, again.stderr
    moved = json.loads(again.stdout)
    assert moved["created"] is False and moved["updated"] is True
    assert moved["head"] == git(alice, "rev-parse", branch) == git(bob, "rev-parse", "HEAD")
    assert f"fast-forwarded {branch}" in again.stderr
    # nothing new: switched only
    git(bob, "switch", "-q", "trunk")
    same = json.loads(cli(bob, "task", "checkout", task_id, "--json").stdout)
    assert same["created"] is False and same["updated"] is False
    missing = cli(bob, "task", "checkout", "ffffffff", "--json")
    assert missing.returncode == 1 and missing.stdout == ""
