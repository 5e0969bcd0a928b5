"""The run loop against a real Docker engine: create, continue, detach, failures, cleanup.

Each test gets a bare ``origin`` (default branch ``develop``), a clone, and the
busybox test image whose scripted agent (``tests/docker_image/fake-claude``) is
driven by keywords in the prompt (AGENT:FAIL, AGENT:SLEEP=N, ...). The CLI runs
as a subprocess, exactly as a user runs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import isolated_folder
from tests.run_support import (
    DEFAULT_BRANCH,
    LEAKY_TRANSCRIPT,
    SECRET,
    Project,
    all_text_under,
    build_image,
    build_leaky_claude_image,
    docker_available,
    everything_git_holds,
    git,
    unprivileged_project,
)

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine")


@pytest.fixture(scope="session")
def image() -> str:
    return build_image()


@pytest.fixture
def project(tmp_path: Path, image: str) -> Iterator[Project]:
    proj = Project(tmp_path / "p", image).setup()
    yield proj
    # nothing a run started may survive it
    assert proj.containers() == [], "a container was left behind"
    assert proj.leftovers() == [], "a worktree, run folder or marker was left behind"


def one_error(proc: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return errors[0]


def create(project: Project, text: str, *extra: str, **kw: object) -> tuple[str, object]:
    proc = project.cli("task", "create", "-m", text, *extra, **kw)  # type: ignore[arg-type]
    return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "", proc


# -- the main path -----------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    """A task run once (or continued) on its own project, as the module's tests share it."""

    project: Project
    task_id: str
    out: subprocess.CompletedProcess[str]  # the last command's (create or continue)
    task: dict[str, Any]  # ``task show --json`` after it


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory, image: str) -> Iterator[Ran]:
    """``task create`` with the scripted agent reporting its environment: one run."""
    with isolated_folder(tmp_path_factory, "created") as root:
        project = Project(root / "p", image).setup()
        proc = project.cli("task", "create", "-m", "Add a greeting\n\nAGENT:ENV please")
        assert proc.returncode == 0, proc.stderr
        task_id = proc.stdout.strip().splitlines()[-1]
        yield Ran(project, task_id, proc, project.show(task_id))
        assert project.containers() == [], "a container was left behind"
        assert project.leftovers() == [], "a worktree, run folder or marker was left behind"


def test_create_shows_the_run_live_and_readable(created: Ran) -> None:
    out = created.out.stdout
    assert "Write agent_notes.md" in out
    assert "ANTHROPIC_API_KEY is set" in out  # the credential reached the container
    assert "$0.0123" in out and '"type"' not in out


def test_create_records_the_run_on_the_task(created: Ran) -> None:
    task = created.task
    assert task["status"] == "created" and task["error_message"] is None
    assert task["run_count"] == 1 and task["agent"] == "claude"
    assert task["base_branch"] == DEFAULT_BRANCH  # origin's default, not a guess
    assert task["session_id"] and task["cost_usd"] == pytest.approx(0.0123)
    assert task["input_tokens"] and task["output_tokens"] == 345
    assert task["completed_at"] and task["container_id"]
    assert task["commits"] == [task["commit_hash"]]


def test_create_pushes_one_commit_by_the_user_with_a_task_trailer(created: Ran) -> None:
    project, task_id, head = created.project, created.task_id, created.task["commit_hash"]
    assert project.remote_branch(created.task["branch_name"]) == head
    message = git(project.work, "log", "-1", "--format=%an%n%B", head)
    assert message.startswith("Task User\nAdd a greeting")
    assert f"Task-Id: {task_id}" in message
    assert git(project.work, "show", f"{head}:agent_notes.md") == "- # Task: Add a greeting"
    assert git(project.work, "rev-parse", f"{head}~1") == git(
        project.work, "rev-parse", f"origin/{DEFAULT_BRANCH}"
    )


def test_create_notes_the_commit_with_its_run(created: Ran) -> None:
    head = created.task["commit_hash"]
    note = json.loads(git(created.project.work, "notes", "--ref=claude-tasks", "show", head))
    assert note["task_id"] == created.task_id and note["run"] == 1 and note["agent"] == "claude"
    assert note["cost_usd"] == pytest.approx(0.0123) and note["feedback_id"] is None


def test_create_keeps_the_raw_logs_per_run(created: Ran) -> None:
    logs = created.project.logs_root(created.task_id)
    raw = (logs / "run-001" / "claude_output.log").read_text()
    assert '"type":"result"' in raw and '"type":"system"' in raw
    assert "container removed" in (logs / "run-001" / "execution.log").read_text()
    assert (logs / "claude_output.log").resolve() == (logs / "run-001" / "claude_output.log")


def test_create_keeps_the_credential_in_the_container_only(created: Ran) -> None:
    project = created.project
    assert SECRET not in created.out.stdout + created.out.stderr
    assert SECRET not in all_text_under(project.work)  # logs, working copy, config
    assert SECRET not in all_text_under(project.state)  # index, markers, agent state
    assert SECRET not in everything_git_holds(project.work)  # commits, records, notes
    assert SECRET not in everything_git_holds(project.origin)


@dataclass(frozen=True)
class Continued(Ran):
    session: str  # the first run's session id


@pytest.fixture(scope="module")
def continued(tmp_path_factory: pytest.TempPathFactory, image: str) -> Iterator[Continued]:
    """``task continue`` after a colleague pushed to the task's branch, with the first
    run's session transcript at hand: two runs."""
    with isolated_folder(tmp_path_factory, "continued") as root:
        project = Project(root / "p", image).setup()
        proc = project.cli("task", "create", "-m", "Write the notes file")
        assert proc.returncode == 0, proc.stderr
        task_id = proc.stdout.split()[-1]
        first = project.show(task_id)
        branch, session = first["branch_name"], first["session_id"]

        # someone else pushed to the task's branch meanwhile: continue starts from it
        other = project.root / "other"
        git(project.root, "clone", "-q", "-b", branch, str(project.origin), str(other))
        git(other, "config", "user.name", "Other Person")
        git(other, "config", "user.email", "other@example.com")
        (other / "extra.txt").write_text("from a colleague\n")
        git(other, "add", "extra.txt")
        git(other, "commit", "-q", "-m", "Colleague's change")
        git(other, "push", "-q", "origin", branch)

        # the session transcript is available: the run resumes it
        transcripts = project.state / "agent-state" / task_id / "projects" / "-workspace"
        transcripts.mkdir(parents=True)
        (transcripts / f"{session}.jsonl").write_text("{}\n")

        proc = project.cli("task", "continue", task_id[:8], "--feedback", "Also say goodbye")
        assert proc.returncode == 0, proc.stderr
        yield Continued(project, task_id, proc, project.show(task_id), session)
        assert project.containers() == [], "a container was left behind"
        assert project.leftovers() == [], "a worktree, run folder or marker was left behind"


def test_continue_records_the_feedback_and_the_cost_of_both_runs(continued: Continued) -> None:
    task = continued.task
    assert task["status"] == "continued" and task["run_count"] == 2
    assert task["continuation_count"] == 1 and task["last_continued_at"]
    assert task["feedback_history"][0]["feedback"] == "Also say goodbye\n"
    assert task["feedback_history"][0]["claude_response_summary"]
    assert task["cost_usd"] == pytest.approx(0.0246)  # both runs


def test_continue_builds_on_the_branch_as_a_colleague_left_it(continued: Continued) -> None:
    project, task = continued.project, continued.task
    head = task["commit_hash"]
    assert project.remote_branch(task["branch_name"]) == head
    assert git(project.work, "show", f"{head}:extra.txt") == "from a colleague"
    assert len(task["commits"]) == 2
    note = json.loads(git(project.work, "notes", "--ref=claude-tasks", "show", head))
    assert note["run"] == 2 and note["feedback_id"] == task["feedback_history"][0]["id"]


def test_continue_resumes_the_session_with_the_history_in_the_prompt(
    continued: Continued,
) -> None:
    run2 = continued.project.logs_root(continued.task_id) / "run-002"
    resumed = f'"resumed_from":"{continued.session}"'
    assert resumed in (run2 / "claude_output.log").read_text()
    prompt = (run2 / "prompt.md").read_text()
    assert "Write the notes file" in prompt and "Also say goodbye" in prompt
    assert "Colleague's change" in prompt and "Write the notes file" in prompt.split("# The")[1]


def test_logs_show_each_run_with_the_feedback_it_answered(continued: Continued) -> None:
    project, task_id = continued.project, continued.task_id
    shown = project.cli("task", "logs", task_id, "--run", "1", "--feedback")
    assert shown.returncode == 0 and "the task description" in shown.stdout
    assert "Write agent_notes.md" in shown.stdout
    shown = project.cli("task", "logs", task_id, "--feedback")
    assert "feedback 1 (inline" in shown.stdout and "Also say goodbye" in shown.stdout
    assert "Edit agent_notes.md" in shown.stdout
    raw = project.cli("task", "logs", task_id, "--raw", "--run", "2")
    assert '"type":"result"' in raw.stdout
    missing = project.cli("task", "logs", task_id, "--run", "7")
    assert "no logs for run 7" in one_error(missing)


def _colleague_commit(project: Project, branch: str, name: str, text: str) -> None:
    other = project.root / f"other-{name}"
    git(project.root, "clone", "-q", "-b", branch, str(project.origin), str(other))
    git(other, "config", "user.name", "Other Person")
    git(other, "config", "user.email", "other@example.com")
    (other / name).write_text(text)
    git(other, "add", name)
    git(other, "commit", "-q", "-m", f"Colleague changes {name}")
    git(other, "push", "-q", "origin", branch)


def test_continue_merges_a_diverged_origin_copy_or_explains(project: Project) -> None:
    proc = project.cli("task", "create", "-m", "Diverge")
    assert proc.returncode == 0, proc.stderr
    task_id = proc.stdout.split()[-1]
    branch = project.show(task_id)["branch_name"]
    # a failed (unpushed) run left local work; a colleague pushed meanwhile
    project.configure(agent="command", agent_command="echo local > local.txt; exit 5")
    failed = project.cli("task", "continue", task_id, "--feedback", "local only")
    assert "unfinished work is on the local branch" in one_error(failed)
    _colleague_commit(project, branch, "theirs.txt", "theirs\n")
    project.configure(agent="claude")
    proc = project.cli("task", "continue", task_id, "--feedback", "merge please")
    assert proc.returncode == 0, proc.stderr
    head = project.show(task_id)["commit_hash"]
    assert project.remote_branch(branch) == head
    for name in ("local.txt", "theirs.txt", "agent_notes.md"):
        git(project.work, "cat-file", "-e", f"{head}:{name}")
    # a conflicting copy on origin: the run refuses before starting, the record is kept
    project.configure(agent="command", agent_command="echo mine >> agent_notes.md; exit 5")
    project.cli("task", "continue", task_id, "--feedback", "conflict locally")
    _colleague_commit(project, branch, "agent_notes.md", "conflict\n")
    project.configure(agent="claude")
    proc = project.cli("task", "continue", task_id, "--feedback", "and now?")
    line = one_error(proc)
    assert "have diverged and do not merge cleanly" in line and "task start" in line
    assert project.show(task_id)["status"] == "failed"


def test_continue_with_empty_feedback_stores_nothing(project: Project) -> None:
    proc = project.cli("task", "create", "-m", "Something")
    assert proc.returncode == 0, proc.stderr
    task_id = proc.stdout.split()[-1]
    before = git(project.work, "rev-parse", "refs/claude-tasks")
    proc = project.cli("task", "continue", task_id, env={"EDITOR": "true"})
    assert "empty" in one_error(proc, 2)
    proc = project.cli("task", "continue", task_id, "--feedback", "   ")
    assert "empty" in one_error(proc, 2)
    assert git(project.work, "rev-parse", "refs/claude-tasks") == before


def test_command_agent_gets_prompt_on_stdin_and_file_and_task_env(project: Project) -> None:
    project.configure(
        agent="command",
        agent_command='cat > from_stdin.md; cp "$TASK_PROMPT_FILE" from_file.md; '
        'echo "$TASK_ID $TASK_BRANCH" > task_env.txt; id -u > uid.txt; fake-agent',
    )
    proc = project.cli("task", "create", "-m", "Copy the prompt")
    assert proc.returncode == 0, proc.stderr
    task_id = proc.stdout.split()[-1]
    task = project.show(task_id)
    head = task["commit_hash"]
    stdin_copy = git(project.work, "show", f"{head}:from_stdin.md")
    assert stdin_copy == git(project.work, "show", f"{head}:from_file.md")
    assert stdin_copy.startswith("# Task: Copy the prompt")
    assert git(project.work, "show", f"{head}:task_env.txt") == f"{task_id} {task['branch_name']}"
    # the agent ran as the host user: its files are the user's
    assert git(project.work, "show", f"{head}:uid.txt") == str(os.getuid())
    assert "fake-agent: starting task" in proc.stdout
    assert task["session_id"] is None and task["agent"] == "command"


def test_detach_then_logs_follow(project: Project) -> None:
    proc = project.cli("task", "create", "--detach", "-m", "In the background AGENT:SLEEP=8")
    assert proc.returncode == 0, proc.stderr
    task_id = proc.stdout.strip()
    assert len(task_id) == 32 and "Thinking" not in proc.stdout
    # it returned while the agent still works: the run is recorded, not finished
    assert project.show(task_id)["status"] == "running", "--detach waited for the run"
    listed = project.cli("task", "list")
    assert "running" in listed.stdout and "Task containers:" in listed.stdout
    assert "run live" in listed.stdout
    follow = project.cli("task", "logs", task_id, "--follow", timeout=60)
    assert follow.returncode == 0, follow.stderr
    assert "Thinking for 8s" in follow.stdout and "done in" in follow.stdout
    assert project.show(task_id)["status"] == "created"
    assert "Task containers:" not in project.cli("task", "list").stdout


def test_two_tasks_run_at_once(project: Project) -> None:
    procs = [project.popen("task", "create", "-m", f"Parallel {n} AGENT:SLEEP=3") for n in (1, 2)]
    outs = [p.communicate(timeout=60) for p in procs]
    for proc, (_out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
    tasks = [project.show(out.split()[-1]) for out, _ in outs]
    for task in tasks:
        assert task["status"] == "created"
        assert project.remote_branch(task["branch_name"]) == task["commit_hash"]
    # the two runs overlapped: each started before the other one finished
    latest_start = max(t["started_at"] for t in tasks)
    earliest_end = min(t["completed_at"] for t in tasks)
    assert latest_start < earliest_end, "the runs did not overlap"


def test_users_dirty_checkout_is_untouched(project: Project) -> None:
    work = project.work
    (work / "app.txt").write_text("line 1\nuncommitted edit\n")
    (work / "scratch.txt").write_text("untracked\n")
    (work / "README.md").write_text("# staged change\n")
    git(work, "add", "README.md")
    status = git(work, "status", "--porcelain")
    head = git(work, "rev-parse", "HEAD")
    index = (work / ".git" / "index").read_bytes()

    proc = project.cli("task", "create", "-m", "Work elsewhere")
    assert proc.returncode == 0, proc.stderr
    task = project.show(proc.stdout.split()[-1])
    assert git(work, "status", "--porcelain") == status
    assert git(work, "rev-parse", "HEAD") == head
    assert git(work, "symbolic-ref", "HEAD") == f"refs/heads/{DEFAULT_BRANCH}"
    assert (work / ".git" / "index").read_bytes() == index
    assert (work / "app.txt").read_text() == "line 1\nuncommitted edit\n"
    # and none of the dirty state went into the task's branch
    branch_files = git(work, "ls-tree", "--name-only", task["commit_hash"]).split()
    assert "scratch.txt" not in branch_files
    assert git(work, "show", f"{task['commit_hash']}:README.md") == "# sample project"


# -- credentials -----------------------------------------------------------------------


def _no_secret_anywhere(project: Project, *outputs: str) -> None:
    for text in outputs:
        assert SECRET not in text
    assert SECRET not in all_text_under(project.work)  # logs, working copy, config
    assert SECRET not in all_text_under(project.state)  # index, markers, agent state
    assert SECRET not in everything_git_holds(project.work)
    assert SECRET not in everything_git_holds(project.origin)
    assert SECRET not in git(project.origin, "log", "-p", "--all", "--format=%H%n%B")


def test_agent_writing_a_credential_into_the_worktree_is_refused(project: Project) -> None:
    """``env > debug.txt``: the run fails naming the file (never the value); the
    branch is not moved and nothing is pushed."""
    project.configure(
        agent="command",
        env=["ANTHROPIC_API_KEY"],
        agent_command="echo fine > ok.txt; mkdir -p notes; env > notes/debug.txt",
    )
    proc = project.cli("task", "create", "-m", "Dump the environment")
    line = one_error(proc)
    assert "notes/debug.txt" in line and "ANTHROPIC_API_KEY" in line
    assert "not moved" in line and "nothing was pushed" in line
    record = project.show(project.tasks()[0]["id"])
    assert record["status"] == "failed" and "notes/debug.txt" in record["error_message"]
    assert record["commits"] == [] and record["commit_hash"] is None
    branch = record["branch_name"]
    assert project.remote_branch(branch) == ""
    assert (
        git(project.work, "rev-parse", "-q", "--verify", f"refs/heads/{branch}", check=False) == ""
    )
    _no_secret_anywhere(project, proc.stdout, proc.stderr, json.dumps(record))


def test_credentials_in_the_agents_transcripts_are_masked(project: Project, image: str) -> None:
    """Claude's transcripts (the task's agent-state folder) hold what tools printed:
    credential values there are masked after the run, the lines still JSON."""
    project.configure(image=build_leaky_claude_image(image))
    proc = project.cli("task", "create", "-m", "Print the environment")
    assert proc.returncode == 0, proc.stderr
    task_id = proc.stdout.split()[-1]
    transcript = project.state / "agent-state" / task_id / LEAKY_TRANSCRIPT
    lines = [json.loads(x) for x in transcript.read_text().splitlines()]
    assert lines == [{"type": "user", "message": {"content": "env: ANTHROPIC_API_KEY=***"}}]
    _no_secret_anywhere(project, proc.stdout, proc.stderr)


# -- failures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("AGENT:FAIL", "agent exited with code 3"),
        ("AGENT:IS_ERROR", "Claude reported an error"),
    ],
)
def test_agent_failure_is_recorded(project: Project, keyword: str, expected: str) -> None:
    proc = project.cli("task", "create", "-m", f"Doomed {keyword}")
    line = one_error(proc)
    assert expected in line
    task = project.tasks()[0]
    record = project.show(task["id"])
    assert record["status"] == "failed" and expected in record["error_message"]
    assert record["completed_at"] and record["run_count"] == 1
    assert project.remote_branch(record["branch_name"]) == ""  # nothing pushed


def test_a_run_that_changes_nothing_is_its_own_outcome(project: Project) -> None:
    proc = project.cli("task", "create", "-m", "Look only AGENT:NOCHANGE")
    assert proc.returncode == 0, proc.stderr
    task_id = proc.stdout.strip().splitlines()[-1]
    record = project.show(task_id)
    assert record["outcome"] == "no changes" and "changed nothing" in record["error_message"]
    assert f"task {task_id[:8]}: no changes" in proc.stderr
    assert f"task continue {task_id[:8]}" in proc.stderr
    assert project.remote_branch(record["branch_name"]) == ""  # nothing pushed


def test_a_failure_names_the_command_that_retries_it(project: Project) -> None:
    proc = project.cli("task", "create", "-m", "Doomed AGENT:FAIL")
    line = one_error(proc)
    task_id = project.tasks()[0]["id"]
    assert f"retry with 'claude-container task start {task_id[:8]}'" in line


def test_finished_run_says_done_and_follow_ends_with_the_outcome(project: Project) -> None:
    proc = project.cli("task", "create", "-m", "Finish me")
    assert proc.returncode == 0, proc.stderr
    task_id = proc.stdout.strip().splitlines()[-1]
    branch = project.show(task_id)["branch_name"]
    assert f"task {task_id[:8]} is done: branch {branch}" in proc.stderr
    assert "no pull request: no pull request" not in proc.stderr
    assert project.show(task_id)["outcome"] == "done"
    # why there is no pull request went out with the result: one push, no "pr" commit
    subjects = git(project.origin, "log", "--format=%s", "claude-tasks").splitlines()
    assert [s.split()[0] for s in subjects] == ["created", "running", "create"]
    remote_record = git(project.origin, "grep", "-h", "pr_note", "claude-tasks")
    assert "origin is not a GitHub repository" in remote_record
    detached = project.cli("task", "continue", task_id, "-m", "more AGENT:SLEEP=2", "--detach")
    assert detached.returncode == 0, detached.stderr
    follow = project.cli("task", "logs", task_id, "--follow", timeout=60)
    assert follow.returncode == 0, follow.stderr
    assert f"task {task_id[:8]} is done: branch {branch}" in follow.stderr


def test_timeout_stops_the_agent(project: Project) -> None:
    project.configure(timeout_seconds=2)
    started = time.monotonic()
    proc = project.cli("task", "create", "-m", "Too slow AGENT:SLEEP=30")
    assert "timed out after 2s" in one_error(proc)
    # stopped, not waited for: the agent would have slept 30 s
    assert time.monotonic() - started < 28
    record = project.show(project.tasks()[0]["id"])
    assert record["status"] == "failed" and "timed out" in record["error_message"]


def test_agent_hanging_after_its_result_is_stopped_and_succeeds(project: Project) -> None:
    proc = project.cli(
        "task",
        "create",
        "-m",
        "Finish then hang AGENT:HANG_AFTER_RESULT",
        env={"GITTASK_RESULT_GRACE_SECONDS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    record = project.show(proc.stdout.split()[-1])
    assert record["status"] == "created"
    execution = (project.logs_root(record["id"]) / "run-001" / "execution.log").read_text()
    assert "after_result" in execution


def test_sigint_stops_container_records_failure_and_cleans_up(project: Project) -> None:
    proc = project.popen("task", "create", "-m", "Interrupt me AGENT:SLEEP=30")
    marker = project.wait_for_marker("running")
    assert marker["container_id"] and marker["pid"] == proc.pid
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted (SIGINT)" in err and "Traceback" not in err
    record = project.show(marker["task_id"])
    assert record["status"] == "failed" and record["error_message"] == "interrupted (SIGINT)"


def _run_in_process(
    project: Project, text: str, request: dict[str, Any], wrap_update: str | None = None
) -> tuple[Any, list[str]]:
    """Record a task, then run it in this process (the main thread, so the run's
    signal handlers are installed), sending SIGINT to this process at a chosen point:
    from ``request``'s callbacks, or while the record is updated to ``wrap_update``.
    Returns the RunResult and the after-push hook's calls."""
    from gittask.store.database import TaskDatabase
    from gittask.workflow import hooks
    from gittask.workflow.run import RunRequest, run_task

    proc = project.cli("task", "create", "--no-run", "-m", text)
    assert proc.returncode == 0, proc.stderr
    task_id = proc.stdout.strip()
    db = TaskDatabase.open(project.work)
    if wrap_update is not None:
        real = db.update

        def update(task: str, change: Any, verb: str = "update") -> Any:
            if verb == wrap_update:
                os.kill(os.getpid(), signal.SIGINT)
            return real(task, change, verb)

        db.update = update  # type: ignore[method-assign]
    hook_calls: list[str] = []
    hooks.register_after_push(lambda db, task, info: hook_calls.append(info.task_id) or None)
    before = signal.getsignal(signal.SIGINT)
    try:
        result = run_task(db, RunRequest(task_id=task_id, **request))
    finally:
        hooks.register_after_push(None)
    assert signal.getsignal(signal.SIGINT) == before  # the run's handlers are gone
    return result, hook_calls


def _sigint_at(line: str) -> Any:
    def callback(seen: str) -> None:
        if seen == line:
            os.kill(os.getpid(), signal.SIGINT)

    return callback


def test_sigint_after_the_agent_ended_keeps_its_work(project: Project) -> None:
    """A signal between the end of the agent's output and the harvest (here while
    the last, unterminated line is shown) no longer loses the agent's work: it is
    committed on the local branch, the record says interrupted, nothing is pushed."""
    project.configure(agent="command", agent_command="echo done > work.txt; printf LAST-LINE")
    result, hook_calls = _run_in_process(
        project, "Interrupted at the end", {"show": _sigint_at("LAST-LINE")}
    )
    assert result.interrupted and not result.success
    record = result.task
    assert record.status.value == "failed"
    assert record.error_message.startswith("interrupted (SIGINT)")
    local = git(project.work, "rev-parse", f"refs/heads/{record.branch_name}")
    assert record.commit_hash == local and record.commits == [local]
    assert git(project.work, "show", f"{local}:work.txt") == "done"
    assert project.remote_branch(record.branch_name) == ""
    assert hook_calls == []


def test_sigint_while_pushing_lets_the_push_finish_then_says_so(project: Project) -> None:
    project.configure(agent="command", agent_command="echo done > work.txt")
    result, hook_calls = _run_in_process(
        project, "Interrupted at the push", {"say": lambda line: _sigint_on_push(line)}
    )
    assert result.success and result.interrupted  # the CLI exits 130
    record = result.task
    assert record.status.value == "created" and record.commit_hash
    assert project.remote_branch(record.branch_name) == record.commit_hash
    assert hook_calls == []  # no pull request after an interrupt


def _sigint_on_push(line: str) -> None:
    if line.startswith("pushing "):
        os.kill(os.getpid(), signal.SIGINT)


def test_sigint_while_recording_success_is_not_forgotten(project: Project) -> None:
    project.configure(agent="command", agent_command="echo done > work.txt")
    result, hook_calls = _run_in_process(project, "Interrupted at the record", {}, "created")
    assert result.success and result.interrupted
    assert any("interrupted (SIGINT) after the push" in note for note in result.notes)
    assert hook_calls == []
    record = project.show(result.task.id)
    assert record["status"] == "created"
    assert project.remote_branch(record["branch_name"]) == record["commit_hash"]


def test_an_unexpected_failure_after_the_push_keeps_the_run(project: Project) -> None:
    from gittask.store.database import TaskDatabase
    from gittask.workflow import hooks
    from gittask.workflow.run import RunRequest, run_task

    project.configure(agent="command", agent_command="echo done > work.txt")
    proc = project.cli("task", "create", "--no-run", "-m", "Pushed, then the PR step breaks")
    assert proc.returncode == 0, proc.stderr
    task_id = proc.stdout.strip()

    def broken(db: Any, task: Any, info: Any) -> str:
        raise AttributeError("'NoneType' object has no attribute 'login'")

    hooks.register_after_push(broken)
    try:
        result = run_task(TaskDatabase.open(project.work), RunRequest(task_id=task_id))
    finally:
        hooks.register_after_push(None)
    assert result.success
    assert any("unexpected AttributeError" in note for note in result.notes)
    record = project.show(task_id)
    assert record["status"] == "created"
    assert project.remote_branch(record["branch_name"]) == record["commit_hash"]
    execution = project.cli("task", "logs", task_id[:8], "--execution")
    assert "Traceback" in execution.stdout and "broken" in execution.stdout


def _crash(project: Project) -> dict[str, object]:
    project.configure(agent="claude")
    proc = project.popen("task", "create", "-m", "Killed AGENT:SLEEP=30")
    marker = project.wait_for_marker("running")
    proc.kill()  # SIGKILL: no cleanup possible
    proc.wait()
    project.configure(agent="command", agent_command="echo quick > quick.txt")  # fast rerun
    return marker


def test_crashed_run_is_shown_orphaned_then_cleaned_or_taken_over(project: Project) -> None:
    from gittask.runner import container as ctr
    from gittask.runner import leftovers
    from gittask.store.repo import GitRepo

    repo = GitRepo.discover(project.work)
    client = ctr.connect()
    marker = _crash(project)
    listed = project.cli("task", "list")
    assert "ORPHANED" in listed.stdout and "clean" in listed.stderr
    found = leftovers.find(repo, client)
    assert [c.task_id for c in found.containers] == [marker["task_id"]]
    assert [p.name for p in found.worktrees] == [Path(str(marker["worktree"])).name]
    assert [m.task_id for m in found.markers] == [marker["task_id"]]
    cleaned = project.cli("clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"recorded task {str(marker['task_id'])[:8]} as failed" in cleaned.stdout
    assert project.containers() == [] and project.leftovers() == []
    record = project.show(str(marker["task_id"]))
    assert record["status"] == "failed"
    assert "process died" in record["error_message"]
    again = project.cli("task", "start", str(marker["task_id"])[:8])
    assert again.returncode == 0, again.stderr
    assert project.show(str(marker["task_id"]))["status"] == "created"

    # a rerun also takes over what a crash left, by itself
    marker = _crash(project)
    assert project.containers()
    again = project.cli("task", "start", str(marker["task_id"])[:8])
    assert again.returncode == 0, again.stderr
    record = project.show(str(marker["task_id"]))
    assert record["status"] == "created" and record["run_count"] == 2
    assert not leftovers.find(repo, client)


# -- bad input -------------------------------------------------------------------------


def test_no_docker_engine(project: Project) -> None:
    proc = project.cli(
        "task", "create", "-m", "x", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    )
    line = one_error(proc)
    # the endpoint tried, how it was chosen, and what to do
    assert "cannot reach the Docker engine at unix:///nonexistent/docker.sock (DOCKER_HOST)" in line
    assert "start that engine" in line
    assert project.tasks() == []  # nothing recorded


def test_image_missing(project: Project) -> None:
    project.configure(image="gittask-test-no-such-image:latest")
    line = one_error(project.cli("task", "create", "-m", "x"))
    assert "image gittask-test-no-such-image:latest not found" in line
    assert "claude-container build" in line
    assert project.tasks() == []


def test_claude_without_credentials_refuses_before_any_container(project: Project) -> None:
    proc = project.cli(
        "task", "create", "-m", "x", env={"ANTHROPIC_API_KEY": "", "CLAUDE_CODE_OAUTH_TOKEN": ""}
    )
    line = one_error(proc)
    assert "ANTHROPIC_API_KEY" in line and "CLAUDE_CODE_OAUTH_TOKEN" in line
    assert project.tasks() == [] and project.containers() == []
    # the OAuth token alone is enough
    ok = project.cli(
        "task", "create", "-m", "ok", env={"ANTHROPIC_API_KEY": "", "CLAUDE_CODE_OAUTH_TOKEN": "t"}
    )
    assert ok.returncode == 0, ok.stderr


def test_agent_command_missing_from_image(project: Project) -> None:
    project.configure(agent="command", agent_command="no-such-agent --go")
    line = one_error(project.cli("task", "create", "-m", "x"))
    assert "`no-such-agent` not found" in line and "exit 127" in line
    assert project.show(project.tasks()[0]["id"])["status"] == "failed"


def test_base_branch_missing(project: Project) -> None:
    line = one_error(project.cli("task", "create", "-m", "x", "--base", "nope"), 2)
    assert "'nope'" in line
    project.configure(base_branch="gone-branch")
    line = one_error(project.cli("task", "create", "-m", "y"))
    assert "'gone-branch'" in line and "does not exist" in line
    assert project.tasks() == [] or project.tasks()[0]["status"] == "pending"


def test_branch_taken(project: Project) -> None:
    line = one_error(project.cli("task", "create", "-m", "x", "--branch", DEFAULT_BRANCH), 2)
    assert "already exists" in line
    # taken on origin after the task was recorded: the run refuses, the task stays pending
    proc = project.cli("task", "create", "--no-run", "-m", "later", "--branch", "feature/later")
    task_id = proc.stdout.strip()
    git(project.work, "push", "-q", "origin", f"{DEFAULT_BRANCH}:refs/heads/feature/later")
    git(project.work, "fetch", "-q", "origin")
    line = one_error(project.cli("task", "start", task_id))
    assert "'feature/later' already exists on origin" in line
    assert project.show(task_id)["status"] == "pending"


def test_push_rejected_keeps_work_on_local_branch(project: Project) -> None:
    hook = project.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'policy: pushes are frozen today' >&2\nexit 1\n")
    hook.chmod(0o755)
    line = one_error(project.cli("task", "create", "-m", "Blocked push"))
    assert "push to origin failed" in line and "pre-receive hook declined" in line
    assert "pushes are frozen today" in line
    record = project.show(project.tasks()[0]["id"])
    assert record["status"] == "failed" and "local branch" in record["error_message"]
    local = git(project.work, "rev-parse", f"refs/heads/{record['branch_name']}")
    assert local == record["commit_hash"]
    assert project.remote_branch(record["branch_name"]) == ""
    assert "Blocked push" in git(project.work, "log", "-1", "--format=%s", local)


@pytest.fixture
def user_project(tmp_path: Path, image: str) -> Iterator[tuple[int, Project]]:
    """A project run by an unprivileged user: uid 1000 when the tests run as root."""
    with unprivileged_project(tmp_path, image) as pair:
        yield pair


def test_files_are_owned_by_the_user(user_project: tuple[int, Project]) -> None:
    """The agent runs as the host user: what it writes is theirs, not root's."""
    uid, project = user_project
    project.configure(
        agent="command",
        agent_command="mkdir -p made/deep && echo hi > made/deep/file.txt && id -u > uid.txt "
        "&& sleep 2",
    )
    proc = project.popen("task", "create", "-m", "Make files")
    project.wait_for_marker("running")
    deadline = time.monotonic() + 10
    made: list[Path] = []
    while time.monotonic() < deadline and not made:
        made = list((project.state / "worktrees").glob("*/made/deep/file.txt"))
        time.sleep(0.05)
    assert made, "the agent's file did not appear in the worktree"
    assert made[0].stat().st_uid == uid and made[0].parent.stat().st_uid == uid
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    head = project.show(out.split()[-1])["commit_hash"]
    assert git(project.work, "show", f"{head}:uid.txt") == str(uid)
    assert git(project.work, "show", f"{head}:made/deep/file.txt") == "hi"
    strangers = [
        str(p) for p in project.root.rglob("*") if not p.is_symlink() and p.stat().st_uid != uid
    ]
    assert strangers == [], strangers[:5]
    assert project.containers() == [] and project.leftovers() == []
