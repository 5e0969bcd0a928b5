"""The real Codex CLI in the real image, driven through the product's CLI.

The image is the one ``claude-container build --base-from-debian`` makes with
``agent = codex`` (``tests/real_image.py``); the model is the scripted
Responses-API server of ``tests/fake_openai`` on 127.0.0.1, reached with host
networking and the ``OPENAI_BASE_URL`` pass-through (config ``env``), which the
product turns into Codex's ``openai_base_url``.  The key is given as
``OPENAI_API_KEY``, which the container script hands to Codex as
``CODEX_API_KEY``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI, Usage, shell, text, write
from tests.fake_openai.fixture import TEST_OPENAI_KEY
from tests.run_support import Project, docker_available, git

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine")

#: A catalog model of Codex 0.171 with plain exec_command/apply_patch tools.
MODEL = "gpt-5.5"


@pytest.fixture
def project(tmp_path: Path, codex_image: str, fake_openai: FakeOpenAI) -> Iterator[Project]:
    proj = Project(tmp_path / "p", codex_image).setup()
    proj.configure(
        agent="codex",
        model=MODEL,
        network="host",  # the scripted API listens on the host's loopback
        allow_host_network=True,
        env=["OPENAI_BASE_URL"],
        memory="2g",
        timeout_seconds=240,
        silence_timeout_seconds=180,
    )
    proj.env.update({"OPENAI_API_KEY": TEST_OPENAI_KEY, "OPENAI_BASE_URL": fake_openai.base_url})
    yield proj
    assert proj.containers() == [], "a container was left behind"
    assert proj.leftovers() == [], "a worktree, run folder or marker was left behind"


def _task_id(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_create_then_continue_with_the_real_codex(
    project: Project, fake_openai: FakeOpenAI
) -> None:
    fake_openai.turn(text("Writing hello.py."), write("hello.py", "print('hello')\n"))
    fake_openai.turn(shell("git status --short"), usage=Usage(200, 10))
    fake_openai.turn(text("Added hello.py, which prints hello."), usage=Usage(300, 25))
    proc = project.cli("task", "create", "-m", "Add hello.py that prints hello", timeout=400)
    task_id = _task_id(proc)

    assert "→ apply_patch: add hello.py" in proc.stdout
    assert "→ shell: git status --short" in proc.stdout
    requests = fake_openai.response_requests
    assert requests[0].cwd == "/workspace" and requests[0].model == MODEL
    assert "?? hello.py" in requests[-1].tool_outputs()[-1]
    task = project.show(task_id)
    assert task["status"] == "created" and task["error_message"] is None, task
    head = task["commit_hash"]
    assert git(project.work, "show", f"{head}:hello.py") == "print('hello')"
    assert project.remote_branch(task["branch_name"]) == head  # pushed
    assert (task["input_tokens"], task["output_tokens"]) == (100 + 200 + 300, 20 + 10 + 25)
    assert task["cost_usd"] is None  # Codex reports no cost
    session = task["session_id"]
    assert session

    fake_openai.turn(shell("echo '# hello' >> hello.py"), usage=Usage(1000, 100))
    fake_openai.turn(text("Added a comment."), usage=Usage(1000, 100))
    proc = project.cli("task", "continue", task_id[:8], "--feedback", "Add a comment", timeout=400)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    task = project.show(task_id)
    assert task["status"] == "continued" and task["run_count"] == 2, task
    assert task["session_id"] == session  # the same Codex thread, resumed
    resumed = fake_openai.response_requests[3]
    assert "Added hello.py, which prints hello." in resumed.texts("assistant")
    assert git(project.work, "show", f"{task['commit_hash']}:hello.py").endswith("# hello")
    # this run's share only, though Codex printed the thread's running total
    assert (task["input_tokens"], task["output_tokens"]) == (600 + 2000, 55 + 200)
    for request in fake_openai.requests:
        assert request.reply == "websocket refused" or request.method == "POST", request
    assert fake_openai.remaining == 0


def test_doctor_checks_the_codex_image(project: Project) -> None:
    proc = project.cli("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["codex"]["ok"], checks
    assert checks["codex"]["detail"].startswith("Codex 0.")
    assert checks["git"]["ok"] and checks["user"]["ok"]
    assert "claude" not in checks
