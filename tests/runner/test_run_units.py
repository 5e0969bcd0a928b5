"""Pieces of the run loop that need no Docker: base branch, branch plan, prompt, logs, markers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gittask.errors import GittaskError
from gittask.model import FeedbackEntry, TaskMetadata
from gittask.runner import live
from gittask.runner import logs as runlogs
from gittask.runner import worktree as wt
from gittask.runner.prompt import BranchState, build_prompt
from gittask.store.repo import GitRepo
from gittask.workflow import hooks
from tests.run_support import git


def clone_with_origin(tmp_path: Path, default: str = "release/2024") -> tuple[Path, Path]:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", default, str(origin))
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", "-b", default, str(seed))
    git(seed, "config", "user.name", "S")
    git(seed, "config", "user.email", "s@example.com")
    (seed / "f").write_text("1\n")
    git(seed, "add", "f")
    git(seed, "commit", "-q", "-m", "one")
    git(seed, "push", "-q", str(origin), default)
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "config", "user.name", "W")
    git(work, "config", "user.email", "w@example.com")
    return origin, work


def test_base_branch_resolution_order(tmp_path: Path) -> None:
    _, work = clone_with_origin(tmp_path)
    repo = GitRepo.discover(work)
    assert wt.resolve_base(repo, "given", "configured", "origin")[0] == "given"
    assert wt.resolve_base(repo, None, "configured", "origin")[0] == "configured"
    assert wt.resolve_base(repo, None, None, "origin") == ("release/2024", "origin/HEAD")
    # without origin/HEAD: ask the remote which branch is its default
    git(work, "remote", "set-head", "origin", "--delete")
    assert wt.resolve_base(repo, None, None, "origin") == (
        "release/2024",
        "origin's default branch",
    )
    # no remote at all: the current branch
    git(work, "remote", "remove", "origin")
    git(work, "switch", "-q", "-c", "topic")
    assert wt.resolve_base(repo, None, None, "origin") == ("topic", "the current branch")
    git(work, "switch", "-q", "--detach")
    with pytest.raises(GittaskError, match="cannot tell which branch"):
        wt.resolve_base(repo, None, None, "origin")


def test_base_commit_prefers_origins_copy_and_explains_missing(tmp_path: Path) -> None:
    origin, work = clone_with_origin(tmp_path, "trunk")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(origin), str(other))
    git(other, "config", "user.name", "O")
    git(other, "config", "user.email", "o@example.com")
    (other / "f").write_text("2\n")
    git(other, "commit", "-q", "-am", "two")
    git(other, "push", "-q", "origin", "trunk")
    repo = GitRepo.discover(work)
    commit, ref = wt.base_commit(repo, "trunk", "origin", "test")
    assert ref == "refs/remotes/origin/trunk"
    assert commit == git(other, "rev-parse", "HEAD")  # fetched: not the stale local copy
    with pytest.raises(GittaskError, match="'nope' \\(x\\) does not exist"):
        wt.base_commit(repo, "nope", "origin", "x")


def test_branch_plan(tmp_path: Path) -> None:
    _, work = clone_with_origin(tmp_path, "trunk")
    repo = GitRepo.discover(work)
    base = git(work, "rev-parse", "HEAD")
    plan = wt.plan_branch(repo, "task/a", "origin", True, "trunk", base)
    assert (plan.start, plan.before, plan.merge) == (base, None, None)
    with pytest.raises(GittaskError, match="already exists in this repository"):
        wt.plan_branch(repo, "trunk", "origin", True, "trunk", base)
    # a later run with nothing anywhere yet starts from the base again
    plan = wt.plan_branch(repo, "task/a", "origin", False, "trunk", base)
    assert plan.start == base and plan.before is None
    # local ahead of origin: the local branch
    git(work, "switch", "-q", "-c", "task/a")
    (work / "g").write_text("x\n")
    git(work, "add", "g")
    git(work, "commit", "-q", "-m", "local work")
    git(work, "push", "-q", "origin", "task/a")
    (work / "g").write_text("y\n")
    git(work, "commit", "-q", "-am", "more local work")
    local = git(work, "rev-parse", "HEAD")
    git(work, "switch", "-q", "trunk")
    plan = wt.plan_branch(repo, "task/a", "origin", False, "trunk", base)
    assert plan.start == local and plan.before == local and plan.merge is None
    assert wt.checked_out_at(repo, "task/a") is None
    assert wt.checked_out_at(repo, "trunk") == work.resolve()


def test_prompt_has_description_feedback_in_order_and_branch() -> None:
    task = TaskMetadata(id="a" * 32, description="Fix the parser\n\nIt crashes on tabs.\n")
    first = FeedbackEntry(feedback="Add a test", author="Ann")
    second = FeedbackEntry(feedback="Rename the helper", author="Bob")
    task.feedback_history = [first, second]
    state = BranchState("task/x", "trunk", [("abc1234", "Fix tabs")], 0, " f | 2 +-")
    text = build_prompt(task, state, current_feedback_id=second.id)
    assert text.startswith("# Task: Fix the parser")
    assert text.index("It crashes on tabs.") < text.index("Add a test")
    assert text.index("Add a test") < text.index("Rename the helper")
    assert "answer this one now" in text.split("Rename the helper")[0].rsplit("##", 1)[1]
    assert "- abc1234 Fix tabs" in text and "`task/x`" in text and "`trunk`" in text
    assert "ANTHROPIC" not in text
    empty = build_prompt(TaskMetadata(id="b" * 32, description="x"), BranchState("b", "main"))
    assert "has no commits yet" in empty


def test_scrubber_catches_a_secret_split_across_chunks(tmp_path: Path) -> None:
    secret = "sk-test-SECRET-0123456789"
    scrub = runlogs.Scrubber([secret, "", "1"])
    logs = runlogs.RunLogs(tmp_path / "logs", 3, scrub)
    logs.agent_output(b'{"text":"key is sk-test-SEC')
    logs.agent_output(b'RET-0123456789"}\nnext line sk-test-SECRET-01')
    logs.agent_output(b"23456789")
    logs.event(f"env {secret}")
    logs.save_info(error=f"failed with {secret}", run=3)
    logs.close()
    folder = tmp_path / "logs" / "run-003"
    text = "".join(p.read_text() for p in folder.iterdir())
    assert secret not in text and text.count("***") == 4
    assert (tmp_path / "logs" / "claude_output.log").resolve() == folder / "claude_output.log"
    assert runlogs.runs(tmp_path / "logs") == [(3, folder)]
    assert scrub.text("1 and 1") == "1 and 1"  # short values are not secrets


def test_follow_drains_until_the_run_ends(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    path.write_bytes(b"one\n")
    states = iter([True, True, False])

    def running() -> bool:
        with open(path, "ab") as handle:
            handle.write(b"more\n")
        return next(states, False)

    data = b"".join(runlogs.follow(path, running, poll=0.01))
    assert data.startswith(b"one\n") and data.count(b"more\n") == 3


def test_markers_exclude_a_live_run_and_replace_a_stale_one(tmp_path: Path) -> None:
    _, work = clone_with_origin(tmp_path, "trunk")
    repo = GitRepo.discover(work)
    mine = live.RunMarker(task_id="c" * 32, pid=os.getpid(), run=1)
    live.claim(repo, mine)
    with pytest.raises(GittaskError, match="already running"):
        live.claim(repo, live.RunMarker(task_id="c" * 32, pid=os.getpid() + 1, run=2))
    live.release(repo, mine)
    # a marker whose process is dead is stale and is taken over
    path = live.marker_path(repo, "d" * 32)
    path.write_text(json.dumps({"task_id": "d" * 32, "pid": 2**22 + 7, "run": 4}))
    assert live.all_markers(repo)[0].alive is False
    live.claim(repo, live.RunMarker(task_id="d" * 32, pid=os.getpid(), run=5))
    assert live.marker_for(repo, "d" * 32).run == 5  # type: ignore[union-attr]


def test_after_push_hook_registration() -> None:
    seen: list[str] = []

    def hook(db: object, task: object, info: hooks.RunInfo) -> str:
        seen.append(info.task_id)
        return "opened"

    def info(pushed: bool) -> hooks.RunInfo:
        return hooks.RunInfo(
            "t",
            1,
            "create",
            "b",
            "m",
            [],
            "h",
            pushed,
            "origin",
            None,
            None,
            None,  # type: ignore[arg-type]
        )

    hooks.register_after_push(hook)  # type: ignore[arg-type]
    try:
        assert hooks.after_push(None, None, info(True)) == "opened"  # type: ignore[arg-type]
    finally:
        hooks.register_after_push(None)
    # the default (pull requests) does nothing for a branch that was not pushed
    assert hooks.after_push(None, None, info(False)) is None  # type: ignore[arg-type]
    assert seen == ["t"]


def _agent_log(tmp_path: Path, scrub: runlogs.Scrubber, chunks: list[bytes]) -> bytes:
    logs = runlogs.RunLogs(tmp_path, 1, scrub)
    try:
        for chunk in chunks:
            logs.agent_output(chunk)
    finally:
        logs.close()
    data = (tmp_path / "run-001" / runlogs.AGENT_LOG).read_bytes()
    (tmp_path / "run-001" / runlogs.AGENT_LOG).unlink()
    return data


def test_scrubber_masks_a_secret_split_at_every_byte(tmp_path: Path) -> None:
    secret = "sk-ant-api03-" + "Zq9" * 12
    scrub = runlogs.Scrubber([secret, "tok-" + "x" * 10])
    line = f'{{"text":"the key is {secret}!"}}\nnext\n'.encode()
    expected = b'{"text":"the key is ***!"}\nnext\n'
    for cut in range(len(line) + 1):
        out = _agent_log(tmp_path, scrub, [line[:cut], line[cut:]])
        assert out == expected, cut
    # three pieces, the secret cut twice
    start = line.index(secret.encode())
    for a in range(start, start + len(secret)):
        for b in range(a, start + len(secret) + 1, 7):
            assert _agent_log(tmp_path, scrub, [line[:a], line[a:b], line[b:]]) == expected


def test_scrubber_masks_a_secret_in_a_very_long_line(tmp_path: Path) -> None:
    """Over 64 KiB without a newline the line is written in pieces: a secret near a
    piece's end (whole, or split with the next chunk) is never written in part."""
    secret = "sk-ant-api03-" + "Q7" * 20
    scrub = runlogs.Scrubber([secret])
    size = runlogs.LONG_LINE + 100
    length = len(secret)
    for back in range(0, 2 * length + 2):  # the secret ends `back` bytes before the end
        before = b"x" * (size - length - back)
        first = before + secret.encode() + b"y" * back
        assert len(first) == size
        out = _agent_log(tmp_path, scrub, [first, b"z" * 10, b"tail\n"])
        assert out == before + b"***" + b"y" * back + b"z" * 10 + b"tail\n", back
    for cut in range(1, length):  # split between two chunks, the first one long
        pre = b"x" * size
        out = _agent_log(tmp_path, scrub, [pre + secret.encode()[:cut], secret.encode()[cut:]])
        assert out == pre + b"***", cut
        assert secret.encode()[:cut] not in out[len(pre) :]


def test_scrubber_masks_json_escaped_and_multiline_values(tmp_path: Path) -> None:
    quoted = 'pa"ss\\word-123'
    multi = "-----BEGIN KEY-----\nabcdefgh\n-----END KEY-----"
    scrub = runlogs.Scrubber([quoted, multi])
    line = json.dumps({"a": quoted, "b": multi}).encode() + b"\n"
    masked = _agent_log(tmp_path, scrub, [line])
    assert json.loads(masked) == {"a": "***", "b": "***"}
    raw = f"key: {multi}\nend\n".encode()
    for cut in range(len(raw) + 1):
        assert _agent_log(tmp_path, scrub, [raw[:cut], raw[cut:]]) == b"key: ***\nend\n", cut


def test_scrub_folder_masks_transcripts_and_keeps_them_jsonl(tmp_path: Path) -> None:
    secret = "sk-ant-oat01-" + "k" * 30
    state = tmp_path / "agent-state" / "t"
    transcripts = state / "projects" / "-workspace"
    transcripts.mkdir(parents=True)
    session = transcripts / "s.jsonl"
    lines = [
        {"type": "user", "message": {"content": f"env: ANTHROPIC_API_KEY={secret}"}},
        {"type": "assistant", "message": {"content": "ok"}},
    ]
    session.write_text("".join(json.dumps(x) + "\n" for x in lines))
    os.chmod(session, 0o600)
    clean = state / "settings.json"
    clean.write_text("{}\n")
    outside = tmp_path / "outside.txt"
    outside.write_text(f"not the agent's: {secret}\n")
    (state / "link.txt").symlink_to(outside)
    changed = runlogs.scrub_folder(state, runlogs.Scrubber([secret]))
    assert changed == [session]
    text = session.read_text()
    assert secret not in text and "ANTHROPIC_API_KEY=***" in text
    assert [json.loads(x)["type"] for x in text.splitlines()] == ["user", "assistant"]
    assert session.stat().st_mode & 0o777 == 0o600
    assert secret in outside.read_text()  # a symlink is not followed
    assert sorted(p.name for p in transcripts.iterdir()) == ["s.jsonl"]


def test_signal_guard_defers_then_raises_once() -> None:
    import signal

    from gittask.runner.container import RunInterrupted
    from gittask.workflow.run import SignalGuard

    guard = SignalGuard()
    before = signal.getsignal(signal.SIGTERM)
    guard.install()
    try:
        guard.defer()
        os.kill(os.getpid(), signal.SIGTERM)  # remembered, not raised
        assert guard.received == "SIGTERM"
        with pytest.raises(RunInterrupted, match="SIGTERM"):
            guard.allow()  # back to raising: the remembered signal is raised now
        guard.check()  # ... and only once
        os.kill(os.getpid(), signal.SIGINT)  # nor is a later one raised
        assert guard.received == "SIGTERM"
        fresh = SignalGuard()
        fresh.install()
        with fresh.deferred():
            os.kill(os.getpid(), signal.SIGINT)
        assert fresh.received == "SIGINT"
        with pytest.raises(RunInterrupted, match="SIGINT"):
            fresh.check()
        fresh.restore()
    finally:
        guard.restore()
    assert signal.getsignal(signal.SIGTERM) == before


def test_removing_a_read_only_worktree_never_chmods_through_a_symlink() -> None:
    """A worktree the agent left read-only is made writable to be removed: a symlink
    to a folder elsewhere in it must not have that folder's mode changed."""
    import shutil
    import tempfile
    import traceback

    top = Path(tempfile.mkdtemp(prefix="gittask-rm-"))  # reachable by an ordinary user
    try:
        os.chmod(top, 0o755)
        _, work = clone_with_origin(top, "trunk")
        repo = GitRepo.discover(work)
        assert repo.common_dir  # known before the fork
        path = top / "run-x"
        (path / "locked" / "deep").mkdir(parents=True)
        (path / "locked" / "deep" / "f").write_text("x\n")
        private = top / "private"
        private.mkdir()
        (path / "locked" / "to-private").symlink_to(private)
        os.chmod(private, 0o700)
        os.chmod(path / "locked", 0o555)  # no write: rmtree alone cannot empty it
        uid = os.getuid() or 1000  # as root, remove as an ordinary user (root ignores modes)
        if os.getuid() == 0:
            for item in [top, *top.rglob("*")]:
                os.lchown(item, uid, uid)
        pid = os.fork()
        if pid == 0:  # the child removes, as the ordinary user
            code = 1
            try:
                if os.getuid() == 0:
                    os.setgid(uid)
                    os.setuid(uid)
                wt.remove_worktree_folders(repo, path)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert not path.exists()
        assert private.stat().st_mode & 0o777 == 0o700
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_the_agent_settings_come_from_the_config(repo: Path) -> None:
    from gittask.config import ConfigFile
    from gittask.runner.agents import AgentRun, ClaudeAgent
    from gittask.workflow.run import agent_settings

    config = ConfigFile.open(repo)
    assert agent_settings(config.settings).append_system_prompt is None
    config.set("append_system_prompt", "Answer in French")
    config.set("max_turns", "4")
    settings = agent_settings(config.settings)
    assert (settings.append_system_prompt, settings.max_turns) == ("Answer in French", 4)
    args = ClaudeAgent().cli_args(settings, AgentRun(task_id="t", branch="b"))
    assert args[args.index("--append-system-prompt") + 1] == "Answer in French"
