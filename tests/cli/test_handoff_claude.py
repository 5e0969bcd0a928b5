"""The hand-off with the real Claude Code: clone A creates a task, clone B (a fresh
clone) continues it by id and resumes A's agent session; the scripted Messages-API
server sees the earlier turns. Then A sees B's run with plain ``git pull``.

Real parts only: a bare ``origin``, two clones, the real image built by ``build``,
the real ``claude`` against ``tests/fake_anthropic`` on 127.0.0.1.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_anthropic import FakeAnthropic, text, write
from tests.fake_anthropic.fixture import TEST_API_KEY
from tests.real_image import CLAUDE_PROJECT_SETTINGS
from tests.run_support import Project, docker_available, everything_git_holds, git

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine")


@pytest.fixture
def clones(
    tmp_path: Path, claude_image: str, fake_anthropic: FakeAnthropic
) -> Iterator[tuple[Project, Project]]:
    env = {"ANTHROPIC_API_KEY": TEST_API_KEY, "ANTHROPIC_BASE_URL": fake_anthropic.base_url}
    a = Project(tmp_path / "team", claude_image).setup()
    a.configure(**CLAUDE_PROJECT_SETTINGS)
    a.env.update(env)
    # B: a fresh clone of the same origin, a teammate with the same project settings
    b_work = tmp_path / "team" / "b"
    git(tmp_path, "clone", "-q", str(a.origin), str(b_work))
    git(b_work, "config", "user.name", "Bea Teammate")
    git(b_work, "config", "user.email", "bea@example.com")
    shutil.copytree(a.work / ".claude-container", b_work / ".claude-container")
    yield a, _Clone.at(a, b_work)


class _Clone(Project):
    """A Project whose working clone is not ``root/work``."""

    _path: Path

    @classmethod
    def at(cls, project: Project, work: Path) -> _Clone:
        clone = cls(project.root, project.image, env=dict(project.env))
        clone._path = work
        return clone

    @property
    def work(self) -> Path:
        return self._path


def test_a_teammate_continues_the_task_and_resumes_the_agent_session(
    clones: tuple[Project, Project], fake_anthropic: FakeAnthropic
) -> None:
    a, b = clones
    fake_anthropic.turn(write("{cwd}/plan.md", "# Plan\n"))
    fake_anthropic.turn(text("Wrote the plan."))
    proc = a.cli("task", "create", "-m", "Write plan.md", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    task_id = proc.stdout.strip().splitlines()[-1]
    first = a.show(task_id)

    # B has never fetched anything since cloning: it finds the task by id prefix
    fake_anthropic.turn(write("{cwd}/plan.md", "# Plan\n\n- step one\n"))
    fake_anthropic.turn(text("Added step one."))
    proc = b.cli("task", "continue", task_id[:8], "--feedback", "Add step one", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # the scripted model saw A's turns in B's request: the session was resumed
    resumed = fake_anthropic.message_requests[2]
    assert resumed.session_id == first["session_id"]
    assert "Wrote the plan." in resumed.texts("assistant")
    assert "Add step one" in resumed.texts("user")[-1]

    # A: plain git pull, then the tool sees B's run, its logs and the summed cost
    git(a.work, "pull", "-q")
    task = a.show(task_id)
    assert task["run_count"] == 2 and task["status"] == "continued"
    assert task["cost_usd"] > first["cost_usd"]
    logs = a.cli("task", "logs", task_id, "--run", "2")
    assert logs.returncode == 0, logs.stderr
    assert "Added step one." in logs.stdout
    assert git(a.work, "show", f"{task['commit_hash']}:plan.md").endswith("- step one")
    assert TEST_API_KEY not in everything_git_holds(a.origin)
