"""The real Claude Code in the real image, driven through the product's CLI.

The image is the one ``claude-container build --base-from-debian`` makes
(``tests/real_image.py``); the model is the scripted Messages-API server of
``tests/fake_anthropic`` on 127.0.0.1, reached as a user's run reaches the real
API: the default network ``allowlist``, so the container has no network and the
run's egress proxy lets through the API alone. The image sets
``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``, and each test checks that every
request the CLI made reached the scripted server and was a scripted call: with
no network in the container, nothing can have gone elsewhere.

Each test runs ``task create`` / ``task continue`` exactly as a user does and
checks what the user would: the commit on the task branch and on origin, the
task record (status, cost, tokens, turns, error and hint), the live stream, the
logs, and what the model was sent.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_anthropic import FakeAnthropic, Usage, bash, edit, text, write
from tests.fake_anthropic.fixture import TEST_API_KEY
from tests.real_image import CLAUDE_PROJECT_SETTINGS
from tests.run_support import (
    DEFAULT_BRANCH,
    Project,
    all_text_under,
    docker_available,
    everything_git_holds,
    git,
    unprivileged_project,
)

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine")


def _project_env(server: FakeAnthropic) -> dict[str, str]:
    return {"ANTHROPIC_API_KEY": TEST_API_KEY, "ANTHROPIC_BASE_URL": server.base_url}


def _project(root: Path, image: str, server: FakeAnthropic) -> Project:
    proj = Project(root, image).setup()
    proj.configure(**CLAUDE_PROJECT_SETTINGS)
    proj.env.update(_project_env(server))
    return proj


@pytest.fixture
def project(tmp_path: Path, claude_image: str, fake_anthropic: FakeAnthropic) -> Iterator[Project]:
    proj = _project(tmp_path / "p", claude_image, fake_anthropic)
    yield proj
    assert proj.containers() == [], "a container was left behind"
    assert proj.leftovers() == [], "a worktree, run folder or marker was left behind"


def _only_scripted_calls(server: FakeAnthropic) -> None:
    """Every request reached this server and was a Messages call: nothing else was asked."""
    assert server.requests
    for request in server.requests:
        assert (request.method, request.path) == ("POST", "/v1/messages"), request
    assert server.remaining == 0, "the model's script was not played to the end"


def _task_id(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_create_commits_what_the_real_claude_wrote_and_records_its_result(
    project: Project, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.turn(
        text("I'll write hello.py."),
        write("{cwd}/hello.py", "print('hello')\n"),
        usage=Usage(120, 40),
    )
    fake_anthropic.turn(bash("git status --short"), usage=Usage(200, 10))
    fake_anthropic.turn(text("Added hello.py, which prints hello."), usage=Usage(300, 25))
    proc = project.cli("task", "create", "-m", "Add hello.py that prints hello", timeout=300)
    task_id = _task_id(proc)

    # the live stream shows the tool calls as they happen
    assert "→ Write hello.py" in proc.stdout
    assert "→ Bash: git status --short" in proc.stdout
    # the agent saw its own change through git inside the container
    status = fake_anthropic.message_requests[2].tool_results()[0]
    assert "?? hello.py" in str(status["content"])
    assert fake_anthropic.message_requests[0].cwd == "/workspace"

    task = project.show(task_id)
    assert task["status"] == "created" and task["error_message"] is None, task
    head = task["commit_hash"]
    assert git(project.work, "show", f"{head}:hello.py") == "print('hello')"
    assert project.remote_branch(task["branch_name"]) == head  # pushed
    assert git(project.work, "rev-parse", f"{head}~1") == git(
        project.work, "rev-parse", f"origin/{DEFAULT_BRANCH}"
    )
    # from the real result line: cost, turns; usage summed by message id, not by line
    raw = (project.logs_root(task_id) / "run-001" / "claude_output.log").read_text()
    events = [json.loads(line) for line in raw.splitlines() if line.startswith("{")]
    result = [e for e in events if e.get("type") == "result"][-1]
    assert task["cost_usd"] == pytest.approx(result["total_cost_usd"]) and task["cost_usd"] > 0
    assert (task["input_tokens"], task["output_tokens"]) == (620, 75)
    assert task["session_id"] == result["session_id"]
    note = json.loads(git(project.work, "notes", "--ref=claude-tasks", "show", head))
    assert note["num_turns"] == result["num_turns"] == task["num_turns"] == 3
    shown = project.cli("task", "show", task_id)
    assert "turns:" in shown.stdout and "620 in, 75 out" in shown.stdout
    assistant_ids = [e["message"]["id"] for e in events if e.get("type") == "assistant"]
    assert len(assistant_ids) == 4 and len(set(assistant_ids)) == 3
    _only_scripted_calls(fake_anthropic)
    # the key went to the container only
    assert TEST_API_KEY not in proc.stdout + proc.stderr
    assert TEST_API_KEY not in all_text_under(project.work)
    assert TEST_API_KEY not in everything_git_holds(project.origin)


def test_continue_resumes_the_same_session_on_the_same_branch(
    project: Project, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.turn(write("{cwd}/notes.md", "# Notes\n"), usage=Usage(100, 20))
    fake_anthropic.turn(text("Wrote notes.md."), usage=Usage(100, 20))
    task_id = _task_id(project.cli("task", "create", "-m", "Start notes.md", timeout=300))
    first = project.show(task_id)

    fake_anthropic.turn(
        edit("{cwd}/notes.md", "# Notes", "# Notes\n\n- second point"), usage=Usage(1000, 200)
    )
    fake_anthropic.turn(text("Added the second point."), usage=Usage(1000, 200))
    proc = project.cli(
        "task", "continue", task_id[:8], "--feedback", "Add a second point", timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    task = project.show(task_id)
    assert task["status"] == "continued" and task["run_count"] == 2
    assert task["session_id"] == first["session_id"]  # --resume kept the session
    # the server saw the earlier turns: the first run's request and answer
    resumed = fake_anthropic.message_requests[2]
    assert resumed.session_id == first["session_id"]
    assert "Wrote notes.md." in resumed.texts("assistant")
    assert any("Start notes.md" in t for t in resumed.texts("user"))
    assert "Add a second point" in resumed.texts("user")[-1]
    # a new commit on the same branch, pushed
    head = task["commit_hash"]
    assert task["branch_name"] == first["branch_name"] and len(task["commits"]) == 2
    assert git(project.work, "rev-parse", f"{head}~1") == first["commit_hash"]
    assert git(project.work, "show", f"{head}:notes.md") == "# Notes\n\n- second point"
    assert project.remote_branch(task["branch_name"]) == head
    # the cost grows by this run's share, not by the session total the CLI prints
    raw = (project.logs_root(task_id) / "run-002" / "claude_output.log").read_text()
    result = [json.loads(x) for x in raw.splitlines() if '"type":"result"' in x][-1]
    cumulative = result["total_cost_usd"]
    assert cumulative > first["cost_usd"]
    assert task["cost_usd"] == pytest.approx(cumulative)  # first + second share == session
    assert (task["input_tokens"], task["output_tokens"]) == (2200, 440)
    _only_scripted_calls(fake_anthropic)


def test_a_rejected_key_fails_the_task_with_the_api_message_and_no_commit(
    project: Project, fake_anthropic: FakeAnthropic
) -> None:
    proc = project.cli(
        "task",
        "create",
        "-m",
        "Anything",
        env={"ANTHROPIC_API_KEY": "sk-ant-wrong-key-000"},
        timeout=300,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    tasks = project.tasks()
    assert len(tasks) == 1
    task = project.show(tasks[0]["id"])
    assert task["status"] == "failed"
    assert "Invalid API key" in task["error_message"]
    assert "check ANTHROPIC_API_KEY" in task["error_message"]  # the hint
    assert task["commit_hash"] is None and task["commits"] == []
    assert project.remote_branch(task["branch_name"]) == ""  # nothing pushed
    logs = project.cli("task", "logs", task["id"])
    assert "Invalid API key" in logs.stdout
    assert all(r.reply == "bad key" for r in fake_anthropic.requests)
    assert len(fake_anthropic.requests) == 2  # max_retries 1: bounded, no hang


def test_an_overloaded_api_shows_retries_then_exhausts_them_into_a_failure(
    project: Project, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.error(529, times=2)
    proc = project.cli("task", "create", "-m", "Anything", timeout=300)
    assert proc.returncode != 0
    assert "… API error 529" in proc.stdout  # api_retry events shown as progress
    task = project.show(project.tasks()[0]["id"])
    assert task["status"] == "failed" and task["commits"] == []
    assert "after 1 retry" in task["error_message"]
    _only_scripted_calls(fake_anthropic)


def test_a_model_that_writes_nothing_says_so_with_its_final_text(
    project: Project, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.turn(text("The README is already complete; nothing to change."))
    proc = project.cli("task", "create", "-m", "Polish the README if needed", timeout=300)
    # its own outcome, not a failure (the stored status stays failed: `task start` retries)
    assert proc.returncode == 0, proc.stderr
    assert "error:" not in proc.stderr
    task = project.show(project.tasks()[0]["id"])
    assert task["outcome"] == "no changes" and task["commits"] == []
    assert task["status"] == "failed"
    assert f"task {task['id'][:8]}: no changes" in proc.stderr
    # the user learns why from the model itself, in the record and on screen
    assert "changed nothing" in task["error_message"]
    assert "The README is already complete" in task["error_message"]
    assert "The README is already complete" in proc.stderr
    assert project.remote_branch(task["branch_name"]) == ""
    _only_scripted_calls(fake_anthropic)


def test_a_key_the_model_writes_into_a_file_is_never_committed(
    project: Project, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.turn(write("{cwd}/config.txt", "token={api_key}\n"))
    fake_anthropic.turn(text("Saved the config."))
    proc = project.cli("task", "create", "-m", "Save the config", timeout=300)
    assert proc.returncode != 0
    task = project.show(project.tasks()[0]["id"])
    assert task["status"] == "failed" and task["commits"] == []
    assert "credential" in task["error_message"]
    assert TEST_API_KEY not in everything_git_holds(project.work)
    assert TEST_API_KEY not in everything_git_holds(project.origin)
    assert TEST_API_KEY not in proc.stdout + proc.stderr


def test_a_write_outside_the_workspace_never_reaches_the_host_or_the_commit(
    project: Project, fake_anthropic: FakeAnthropic
) -> None:
    escape = project.root / "escaped.txt"
    fake_anthropic.turn(write(str(escape), "x\n"), write("{cwd}/inside.txt", "ok\n"))
    fake_anthropic.turn(text("Wrote what I could."))
    proc = project.cli("task", "create", "-m", "Write two files", timeout=300)
    task_id = _task_id(proc)
    assert not escape.exists()  # the host's folders are not the container's
    head = project.show(task_id)["commit_hash"]
    files = git(project.work, "diff-tree", "--no-commit-id", "--name-only", "-r", head)
    assert files.split() == ["inside.txt"]
    _only_scripted_calls(fake_anthropic)


def test_the_run_works_as_uid_1000_too(
    tmp_path: Path, claude_image: str, fake_anthropic: FakeAnthropic
) -> None:
    """Root runs are covered above (IS_SANDBOX=1); here the CLI runs as uid 1000."""
    with unprivileged_project(tmp_path, claude_image) as (uid, proj):
        proj.configure(**CLAUDE_PROJECT_SETTINGS)
        proj.env.update(_project_env(fake_anthropic))
        proj.env["GITTASK_CACHE_DIR"] = str(tmp_path / "cache")
        subprocess.run(["chown", "-R", f"{uid}:{uid}", str(proj.work)], check=True)

        fake_anthropic.turn(write("{cwd}/mine.txt", "uid 1000\n"))
        fake_anthropic.turn(text("Wrote mine.txt."))
        proc = proj.cli("task", "create", "-m", "Write mine.txt", timeout=300)
        task_id = _task_id(proc)
        task = proj.show(task_id)
        assert task["status"] == "created", task
        assert git(proj.work, "show", f"{task['commit_hash']}:mine.txt") == "uid 1000"
        execution = (proj.logs_root(task_id) / "run-001" / "execution.log").read_text()
        assert f"user {uid}:{uid}" in execution and "IS_SANDBOX" not in execution
        _only_scripted_calls(fake_anthropic)
