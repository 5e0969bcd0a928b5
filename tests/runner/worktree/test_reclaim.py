"""Agents that use git inside the container: their commits are kept, their reach is not.

The busybox test image plus the host's ``git`` binary: the agent can inspect,
stage and commit in ``/workspace``; it cannot change the repository's config,
hooks or refs, and nothing it leaves in the worktree makes the host run code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.run_support import (
    DEFAULT_BRANCH,
    SECRET,
    Project,
    build_git_image,
    build_image,
    docker_available,
    everything_git_holds,
    git,
)

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine")


@pytest.fixture(scope="module")
def git_image() -> str:
    image = build_git_image(build_image())
    if image is None:
        pytest.skip("cannot put the host's git into a test image")
    return image


@pytest.fixture
def project(tmp_path: Path, git_image: str) -> Iterator[Project]:
    proj = Project(tmp_path / "p", git_image).setup()
    proj.configure(agent="command")
    yield proj
    assert proj.containers() == [] and proj.leftovers() == []


def test_agent_commits_are_kept_and_leftovers_committed(project: Project) -> None:
    script = """
git status --short --branch
echo one > committed.txt
git add committed.txt
git commit -q -m "Agent's own commit"
echo two > left-over.txt
git config core.hooksPath /tmp/evil && echo CONFIG-WRITTEN
echo x > "$(git rev-parse --git-common-dir)/hooks/post-commit" && echo HOOK-WRITTEN
git branch evil 2>/dev/null && echo BRANCH-MADE
git update-ref refs/heads/develop HEAD 2>/dev/null && echo DEVELOP-MOVED
ls "$(git rev-parse --git-common-dir)/claude-tasks"
echo "remotes: [$(git remote)]"
git log --format=%s
true
"""
    project.configure(agent_command=script)
    develop = git(project.work, "rev-parse", DEFAULT_BRANCH)
    proc = project.cli("task", "create", "-m", "Commit things")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for forbidden in ("CONFIG-WRITTEN", "HOOK-WRITTEN", "BRANCH-MADE", "DEVELOP-MOVED"):
        assert forbidden not in out, out
    assert "remotes: []" in out  # the container's git config has no remote URLs
    assert "index.sqlite" not in out and "worktrees" not in out  # the tool's folder is hidden
    assert "Agent's own commit" in out and "initial" in out  # history readable inside

    task = project.show(proc.stdout.split()[-1])
    head = task["commit_hash"]
    subjects = git(project.work, "log", "--format=%s", f"{DEFAULT_BRANCH}..{head}").splitlines()
    assert subjects == ["Commit things", "Agent's own commit"]
    assert (
        task["commits"]
        == git(project.work, "rev-list", "--reverse", f"{DEFAULT_BRANCH}..{head}").split()
    )
    assert git(project.work, "show", f"{head}~1:committed.txt") == "one"
    assert git(project.work, "show", f"{head}:left-over.txt") == "two"
    for commit in task["commits"]:
        note = json.loads(git(project.work, "notes", "--ref=claude-tasks", "show", commit))
        assert note["task_id"] == task["id"]
    assert project.remote_branch(task["branch_name"]) == head
    git(project.work, "fsck", "--no-dangling")  # the imported objects are sound
    # the repository itself is as it was
    assert git(project.work, "config", "--get", "core.hooksPath", check=False) == ""
    assert not (project.common / "hooks" / "post-commit").exists()
    assert git(project.work, "rev-parse", DEFAULT_BRANCH) == develop
    assert git(project.work, "branch", "--list", "evil") == ""


def test_what_the_agent_leaves_in_git_cannot_steer_the_host(project: Project) -> None:
    marker = project.root / "host-ran-agent-code"
    script = f"""
echo change > file.txt
printf 'ref: refs/heads/{DEFAULT_BRANCH}\\n' > "$(git rev-parse --git-dir)/HEAD"
rm -f .git && git init -q . && git config core.fsmonitor "touch {marker}"
git config core.hooksPath /nonexistent
true
"""
    project.configure(agent_command=script)
    develop = git(project.work, "rev-parse", DEFAULT_BRANCH)
    proc = project.cli("task", "create", "-m", "Try to escape")
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists(), "host git ran a command the agent configured"
    task = project.show(proc.stdout.split()[-1])
    head = task["commit_hash"]
    assert git(project.work, "show", f"{head}:file.txt") == "change"
    files = git(project.work, "ls-tree", "-r", "--name-only", head).split()
    assert not any(f.startswith(".git/") for f in files)
    # HEAD pointed at develop: develop did not move, locally or on origin
    assert git(project.work, "rev-parse", DEFAULT_BRANCH) == develop
    assert project.remote_branch(DEFAULT_BRANCH) == develop
    assert task["branch_name"] != DEFAULT_BRANCH


def test_agent_rewriting_history_is_refused_without_losing_the_branch(project: Project) -> None:
    project.configure(agent_command="echo a > a.txt")
    proc = project.cli("task", "create", "-m", "First")
    assert proc.returncode == 0, proc.stderr
    task_id = proc.stdout.split()[-1]
    before = project.show(task_id)["commit_hash"]
    # the agent resets to an unrelated root commit
    project.configure(
        agent_command="echo b > b.txt && git add b.txt "
        "&& c=$(git commit-tree $(git write-tree) -m rewritten) && git checkout -q --detach $c"
    )
    proc = project.cli("task", "continue", task_id, "--feedback", "rewrite everything")
    assert proc.returncode == 1
    assert "does not descend" in proc.stderr
    record = project.show(task_id)
    assert record["status"] == "failed" and record["commit_hash"] == before
    assert project.remote_branch(record["branch_name"]) == before


def test_agent_written_worktree_config_never_runs_on_the_host(project: Project) -> None:
    """With ``extensions.worktreeConfig`` on, host git would read the worktree's own
    ``config.worktree``, in the admin folder the agent can write: it is removed first,
    with anything else git did not put there (symlinks included, never followed)."""
    marker = project.root / "host-ran-agent-filter"
    victim = project.common / "description"
    before = victim.read_bytes()
    git(project.work, "config", "core.repositoryformatversion", "1")
    git(project.work, "config", "extensions.worktreeConfig", "true")
    script = f"""
d=$(sed -n 's/^gitdir: //p' .git)
printf '[filter "x"]\\n\\tclean = "touch {marker}; cat"\\n' > "$d/config.worktree"
mkdir -p "$d/info" && echo '/*' > "$d/info/sparse-checkout"
ln -sf ../../../description "$d/logs/HEAD"
ln -s /nonexistent "$d/config.worktree.lock"
echo '* filter=x' > .gitattributes
echo change > file.txt
"""
    project.configure(agent_command=script)
    proc = project.cli("task", "create", "-m", "Plant a filter")
    assert proc.returncode == 0, proc.stderr
    assert victim.read_bytes() == before, "host git wrote through the agent's symlink"
    assert not marker.exists(), "host git ran a filter the agent configured"
    task = project.show(proc.stdout.split()[-1])
    head = task["commit_hash"]
    # the agent's ordinary changes are still committed (and pushed)
    assert git(project.work, "show", f"{head}:file.txt") == "change"
    assert git(project.work, "show", f"{head}:.gitattributes") == "* filter=x"
    assert project.remote_branch(task["branch_name"]) == head


@pytest.mark.parametrize(
    ("script", "where"),
    [
        (
            'echo a > a.txt && git add a.txt && git commit -q -m "token $ANTHROPIC_API_KEY"',
            "message",
        ),
        (
            'echo a > "key-$ANTHROPIC_API_KEY.txt" && git add . && git commit -q -m "Add a key"',
            "name",
        ),
        (
            # a merge whose resolution adds the file (in neither parent)
            "b=$(git rev-parse HEAD) && echo s > s.txt && git add s.txt && git commit -qm s "
            "&& s=$(git rev-parse HEAD) && git reset -q --hard $b && echo m > m.txt "
            "&& git add m.txt && git commit -qm m && git merge -q --no-ff --no-commit $s "
            '&& echo "$ANTHROPIC_API_KEY" > k.txt && git add k.txt && git commit -qm Merge',
            "k.txt",
        ),
    ],
    ids=["message", "file-name", "merge-resolution"],
)
def test_agent_commits_holding_a_credential_are_refused(
    project: Project, script: str, where: str
) -> None:
    """The agent's own commits are checked too: their messages, file names and files."""
    project.configure(env=["ANTHROPIC_API_KEY"], agent_command=f"{script}; echo ok > ok.txt")
    proc = project.cli("task", "create", "-m", "Leak in a commit")
    assert proc.returncode == 1 and "refused the agent's work" in proc.stderr, proc.stderr
    assert where in proc.stderr and SECRET not in proc.stderr + proc.stdout
    record = project.show(project.tasks()[0]["id"])
    assert record["status"] == "failed" and SECRET not in record["error_message"]
    assert project.remote_branch(record["branch_name"]) == ""
    assert SECRET not in everything_git_holds(project.work)
    assert SECRET not in everything_git_holds(project.origin)
