"""Run logs and agent sessions travel with the task (issue 10, item 3).

Real git everywhere: a bare ``origin`` and clones; the runs use the busybox test
image (``tests/docker_image``), wrapped here so that ``claude`` keeps a session
transcript the way Claude Code does and refuses ``--resume`` without it.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gittask.runner.logs import Scrubber
from gittask.store import runlogs
from gittask.store.repo import GitRepo
from gittask.workflow import tasklogs
from tests.conftest import Team, isolated_folder, run_cli
from tests.run_support import (
    SECRET,
    Project,
    all_text_under,
    build_image,
    docker_available,
    git,
)

TASK = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


def _repo(path: Path) -> GitRepo:
    return GitRepo.discover(path)


def _old(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def _remote_runs(origin: Path, task_id: str) -> list[str]:
    ref = runlogs.logs_ref(task_id)
    out = git(origin, "ls-tree", "--name-only", ref, check=False)
    return sorted(x for x in out.splitlines() if x.startswith("run-"))


def _reachable(repo: Path, ref: str) -> set[str]:
    out = git(repo, "rev-list", "--objects", ref, check=False)
    return {line.split()[0] for line in out.splitlines() if line.strip()}


# -- capping, scrubbing, leak check (no Docker) -------------------------------------------


def test_cap_file_cuts_at_a_line_says_so_and_never_keeps_part_of_a_secret(
    tmp_path: Path,
) -> None:
    secret = "sk-live-" + "Q" * 24
    scrub = Scrubber([secret])
    creds = {"ANTHROPIC_API_KEY": secret}
    log = tmp_path / "agent.log"
    log.write_bytes(b"".join(b"line %04d %s\n" % (i, secret.encode()) for i in range(500)))
    capped = tasklogs.cap_file(log, 1000, scrub, creds)
    assert capped is not None and capped.truncated and capped.withheld is None
    assert len(capped.data) <= 1000
    head, _, tail = capped.data.decode().partition("[claude-container: log truncated: ")
    assert f"of {log.stat().st_size} bytes were not stored (logs.max_bytes = 1000)" in tail
    assert head.startswith("line 0000 ***\n") and head.endswith("***\n")  # whole lines
    assert tail.endswith("line 0499 ***\n")  # the end is kept too
    assert secret.encode() not in capped.data

    # one long line: each cut falls inside a secret; no part of it survives
    def size_of_head(data: bytes) -> int:
        return data.index(b"\n[claude-container")

    size = 1086
    plain = tmp_path / "plain.log"
    plain.write_bytes(b"x" * size)
    probe = tasklogs.cap_file(plain, 1000, Scrubber([]), creds)
    assert probe is not None
    head_room = size_of_head(probe.data)
    tail_room = len(probe.data) - probe.data.rindex(b"]\n") - 2
    long = tmp_path / "long.log"
    start = b"x" * (head_room - 9) + secret.encode()  # the head's cut: 9 bytes into it
    end = secret.encode() + b"y" * (tail_room - 9)  # the tail's cut: 9 bytes before its end
    long.write_bytes(start + b"x" * (size - len(start) - len(end)) + end)
    capped = tasklogs.cap_file(long, 1000, Scrubber([]), creds)  # a scrubber that missed it
    assert capped is not None and capped.withheld is None
    assert size_of_head(capped.data) == head_room - 9  # "sk-live-Q" would start the secret
    assert capped.data.endswith(b"]\n" + b"y" * (tail_room - 9))  # "QQQQQQQQQ" ends it

    # what the scrubber let through is withheld, never stored
    leaky = tmp_path / "leaky.log"
    leaky.write_bytes(b'{"env":"' + secret.encode() + b'"}\n')
    capped = tasklogs.cap_file(leaky, 1000, Scrubber([]), creds)
    assert capped is not None and capped.withheld == "ANTHROPIC_API_KEY"
    assert secret.encode() not in capped.data
    assert tasklogs.cap_file(tmp_path / "absent.log", 10, scrub, creds) is None


def test_keep_run_masks_checks_and_publishes_a_run(team: Team, tmp_path: Path) -> None:
    from gittask.config import load_config
    from gittask.store.database import TaskDatabase

    a = team.clone("a")
    created = run_cli(a, "task", "create", "--no-run", "-m", "Keep my logs")
    assert created.returncode == 0, created.stderr
    db = TaskDatabase.open(a)
    task = db.get(created.stdout.split()[-1])
    secret = "sk-ant-" + "Z" * 30
    folder = tmp_path / "run-001"
    folder.mkdir()
    (folder / "claude_output.log").write_text(f'{{"text":"key {secret}"}}\n')
    (folder / "execution.log").write_text("started\n")
    (folder / "run.json").write_text(json.dumps({"run": 1, "error": f"bad {secret}"}))
    said: list[str] = []
    config = load_config(db.repo)

    # not started (the record never counted the run): nothing is stored
    assert (
        tasklogs.keep_run(
            db,
            config,
            task,
            1,
            folder,
            None,
            Scrubber([secret]),
            {"K": secret},
            "origin",
            said.append,
        )
        is None
    )
    assert runlogs.stored_runs(db.repo, task.id) == []

    task.run_count = 1
    ref = tasklogs.keep_run(
        db,
        config,
        task,
        1,
        folder,
        None,
        Scrubber([secret]),
        {"K": secret},
        "origin",
        said.append,
    )
    assert ref == runlogs.logs_ref(task.id) and said == []
    assert _remote_runs(team.origin, task.id) == ["run-001"]
    stored = runlogs.read_run(db.repo, task.id, 1)
    assert stored is not None and stored.info["error"] == "bad ***"
    assert stored.read(runlogs.AGENT_LOG) == b'{"text":"key ***"}\n'

    # a scrubber that misses the value: the check keeps it out all the same
    tasklogs.keep_run(
        db,
        config,
        task,
        1,
        folder,
        None,
        Scrubber([]),
        {"K": secret},
        "origin",
        said.append,
    )
    assert any("agent.log of run 1 held the value of K" in line for line in said)
    assert any("run.json of run 1 held the value of K" in line for line in said)
    stored = runlogs.read_run(db.repo, task.id, 1)
    assert stored is not None and stored.info.get("withheld") == "K"
    for name in stored.names:
        assert secret.encode() not in (stored.read(name) or b"")
    assert secret not in git(team.origin, "log", "-p", "--all")


def test_a_codex_session_goes_back_where_codex_keeps_it(team: Team, tmp_path: Path) -> None:
    """Codex keeps a thread as sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl: the
    stored run records that path and the other clone gets the file back there."""
    from gittask.config import load_config
    from gittask.runner.agents.codex import CodexAgent
    from gittask.store.database import TaskDatabase

    a, b = team.clone("a"), team.clone("b")
    created = run_cli(a, "task", "create", "--no-run", "-m", "Codex work")
    assert created.returncode == 0, created.stderr
    db = TaskDatabase.open(a)
    thread = "019a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8"
    task = db.update(
        created.stdout.split()[-1], lambda t: setattr(t, "session_id", thread), "session"
    )
    task.run_count = 1
    state = tmp_path / "codex-home-a"
    day = state / "sessions" / "2026" / "12" / "02"
    rollout = day / f"rollout-2026-12-02T01-00-00-{thread}.jsonl"
    rollout.parent.mkdir(parents=True)
    rollout.write_text('{"type":"session_meta"}\n')
    folder = tmp_path / "run-001"
    folder.mkdir()
    (folder / "claude_output.log").write_text('{"type":"thread.started"}\n')
    (folder / "run.json").write_text(json.dumps({"run": 1, "session_id": thread}))
    agent = CodexAgent()
    ref = tasklogs.keep_run(
        db,
        load_config(db.repo),
        task,
        1,
        folder,
        state,
        Scrubber([]),
        {},
        "origin",
        lambda line: None,
        agent.session_file,
    )
    assert ref == runlogs.logs_ref(task.id)
    stored = runlogs.read_run(db.repo, task.id, 1)
    assert stored is not None
    assert stored.info["session_path"] == rollout.relative_to(state).as_posix()

    # clone B: fetch the task, restore the session where Codex looks for it
    for clone in (a, b):
        run_cli(clone, "task", "sync").check_returncode()
    db_b = TaskDatabase.open(b)
    target_home = tmp_path / "codex-home-b"
    restored = tasklogs.restore_session(db_b, "origin", db_b.get(task.id), target_home, print)
    assert restored
    found = agent.session_file(target_home, thread)
    assert found is not None and found.read_text() == '{"type":"session_meta"}\n'
    assert found.relative_to(target_home) == rollout.relative_to(state)


# -- the logs ref: store, combine, push, fetch, prune (real git, no Docker) ----------------


def _store(path: Path, task_id: str, run: int, text: str, when: str | None = None) -> None:
    info = {"run": run, "completed_at": when or datetime.now(UTC).isoformat()}
    files = {runlogs.AGENT_LOG: text.encode() * 50, runlogs.EXECUTION_LOG: b"exec\n"}
    runlogs.store_run(_repo(path), task_id, run, info, files)


def test_two_clones_combine_their_runs_and_a_rejected_push_retries(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    _store(a, TASK, 1, "run one from a\n")
    assert runlogs.push(_repo(a), "origin", TASK) is None
    assert _remote_runs(team.origin, TASK) == ["run-001"]
    # plain git never sees the logs: not a branch, not fetched by `git fetch`
    git(b, "fetch", "-q")
    assert git(b, "for-each-ref", "refs/remotes").count("claude-tasks-logs") == 0
    assert "claude-tasks-logs" not in git(b, "branch", "-a")

    # b stores run 2 without having run 1: its push is rejected, fetched, combined
    _store(b, TASK, 2, "run two from b\n")
    assert runlogs.push(_repo(b), "origin", TASK) is None
    assert _remote_runs(team.origin, TASK) == ["run-001", "run-002"]
    run1 = runlogs.read_run(_repo(b), TASK, 1)
    assert run1 is not None and run1.read(runlogs.AGENT_LOG) == b"run one from a\n" * 50
    # the blob is gzip with mtime 0: equal logs, equal objects, on any clone
    blob = git(team.origin, "rev-parse", f"{runlogs.logs_ref(TASK)}:run-001/agent.log.gz")
    raw = subprocess.run(
        ["git", "cat-file", "blob", blob], cwd=team.origin, capture_output=True, check=True
    ).stdout
    assert raw[4:8] == b"\0\0\0\0" and gzip.decompress(raw) == b"run one from a\n" * 50

    # a clone that has nothing fetches on demand
    got = runlogs.fetch(_repo(a), "origin", TASK)
    assert got.error is None and not got.missing
    assert runlogs.stored_runs(_repo(a), TASK) == [1, 2]
    missing = runlogs.fetch(_repo(a), "origin", OTHER)
    assert missing.missing and missing.error is None
    broken = runlogs.fetch(_repo(a), str(team.root / "nowhere.git"), TASK)
    assert broken.error and "nowhere" in broken.error


def test_prune_drops_old_runs_everywhere_and_no_clone_brings_them_back(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    _store(a, TASK, 1, "old run\n", _old(60))
    _store(a, TASK, 2, "recent run\n")
    _store(a, OTHER, 1, "all old\n", _old(45))
    for task_id in (TASK, OTHER):
        assert runlogs.push(_repo(a), "origin", task_id) is None
    runlogs.fetch(_repo(b), "origin", TASK)  # b holds the old run too
    old_blob = git(team.origin, "rev-parse", f"{runlogs.logs_ref(TASK)}:run-001/agent.log.gz")
    old_size = int(git(team.origin, "cat-file", "-s", old_blob))

    dry = run_cli(a, "clean", "--logs", "--older-than", "30d", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would free" in dry.stdout and _remote_runs(team.origin, TASK) == ["run-001", "run-002"]

    done = run_cli(a, "clean", "--logs", "--older-than", "30d", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["logs"]
    assert report["runs"] == 2 and report["tasks"] == 2 and report["notes"] == []
    assert report["freed_bytes"] >= old_size
    assert _remote_runs(team.origin, TASK) == ["run-002"]
    assert _remote_runs(team.origin, OTHER) == []  # only the list of what was pruned is left
    assert old_blob not in _reachable(team.origin, runlogs.logs_ref(TASK))
    assert old_blob not in _reachable(a, runlogs.logs_ref(TASK))

    # b still has run 1 and stores run 3: the push combines, run 1 stays gone
    _store(b, TASK, 3, "third\n")
    assert runlogs.push(_repo(b), "origin", TASK) is None
    assert _remote_runs(team.origin, TASK) == ["run-002", "run-003"]
    assert old_blob not in _reachable(team.origin, runlogs.logs_ref(TASK))

    # a bad age changes nothing
    bad = run_cli(a, "clean", "--logs", "--older-than", "soon")
    assert bad.returncode == 2 and bad.stderr.count("error:") == 1
    assert _remote_runs(team.origin, TASK) == ["run-002", "run-003"]


def test_clean_task_data_removes_the_logs_refs_too(team: Team) -> None:
    a = team.clone("a")
    created = run_cli(a, "task", "create", "--no-run", "-m", "Keep logs")
    assert created.returncode == 0, created.stderr
    _store(a, TASK, 1, "one\n")
    git(a, "update-ref", f"{runlogs.TRACKING_PREFIX}origin/{TASK}", runlogs.logs_ref(TASK))
    proc = run_cli(a, "clean", "--task-data", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert f"removed {runlogs.logs_ref(TASK)}" in proc.stdout
    assert "claude-tasks" not in git(a, "for-each-ref", "--format=%(refname)")


def test_damaged_logs_from_a_teammate_are_one_line(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")

    created = run_cli(a, "task", "create", "--no-run", "-m", "Shared task")
    assert created.returncode == 0, created.stderr
    task_id = created.stdout.split()[-1]
    assert run_cli(a, "task", "push").returncode == 0
    # a logs ref whose blob is not gzip, as a broken or hostile clone could push
    blob = _git_in(a, "not gzip", "hash-object", "-w", "--stdin")
    tree = _git_in(a, f"100644 blob {blob}\tagent.log.gz\n", "mktree")
    root = _git_in(a, f"040000 tree {tree}\trun-001\n", "mktree")
    commit = git(a, "commit-tree", root, "-m", "hostile")
    git(a, "push", "-q", "origin", f"{commit}:{runlogs.logs_ref(task_id)}")

    assert run_cli(b, "task", "sync").returncode == 0
    shown = run_cli(b, "task", "logs", task_id, "--run", "1")
    assert shown.returncode == 1 and "Traceback" not in shown.stderr
    assert [x for x in shown.stderr.splitlines() if x.startswith("error:")] == [
        "error: the stored agent.log of run 1 is damaged: Error -3 while decompressing data: "
        "incorrect header check"
    ]


def _git_in(cwd: Path, text: str, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, input=text, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


# -- real runs on two clones (Docker) --------------------------------------------------------

SESSION_IMAGE = "gittask-test-agent-session:latest"

#: ``claude`` that keeps its session the way Claude Code does: the transcript is
#: $CLAUDE_CONFIG_DIR/projects/-workspace/<session id>.jsonl, ``--resume ID`` needs it
#: (else "No conversation found"), keeps the id and says how much history it got.
SESSION_WRAPPER = r"""#!/bin/sh
dir="$CLAUDE_CONFIG_DIR/projects/-workspace"
resume="" prev=""
for arg in "$@"; do
  [ "$prev" = --resume ] && resume=$arg
  prev=$arg
done
if [ -n "$resume" ] && [ ! -f "$dir/$resume.jsonl" ]; then
  echo "No conversation found with session ID: $resume" >&2
  exit 1
fi
mkdir -p "$dir"
out="$CLAUDE_CONFIG_DIR/.out.$$"
/usr/local/bin/claude-scripted "$@" > "$out"
code=$?
sid=$resume
[ -n "$sid" ] || sid=$(sed -n 's/.*"session_id":"\([^"]*\)".*/\1/p' "$out" | head -n 1)
if [ -n "$resume" ]; then
  earlier=$(grep -c 'Working on' "$dir/$sid.jsonl")
  text="history: $earlier earlier turn(s)"
  printf '{"type":"assistant","message":{"role":"assistant","content":' >> "$out.2"
  printf '[{"type":"text","text":"%s"}]},"session_id":"%s"}\n' "$text" "$sid" >> "$out.2"
fi
sed "s/\"session_id\":\"[^\"]*\"/\"session_id\":\"$sid\"/g" "$out" >> "$out.2"
cat "$out.2" | tee -a "$dir/$sid.jsonl"
rm -f "$out" "$out.2"
exit $code
"""


def build_session_image(base: str) -> str:
    with tempfile.TemporaryDirectory() as ctx:
        (Path(ctx) / "claude").write_text(SESSION_WRAPPER, encoding="utf-8")
        (Path(ctx) / "Dockerfile").write_text(
            f"FROM {base}\nUSER 0\n"
            "RUN mv /usr/local/bin/claude /usr/local/bin/claude-scripted\n"
            "COPY claude /usr/local/bin/claude\n"
            "RUN chmod 0755 /usr/local/bin/claude\n"
            "USER 1000:1000\n",
            encoding="utf-8",
        )
        subprocess.run(
            ["docker", "build", "-q", "-t", SESSION_IMAGE, ctx], check=True, capture_output=True
        )
    return SESSION_IMAGE


@dataclass
class Clone(Project):
    """Another clone of the same ``origin.git``, in ``root/<name>``."""

    name: str = "work"

    @property
    def work(self) -> Path:
        return self.root / self.name

    def setup_clone(self, settings: dict[str, object]) -> Clone:
        git(self.root, "clone", "-q", str(self.origin), str(self.work))
        self._identity(self.work, f"{self.name.title()} Person")
        self.configure(**settings)
        return self


SETTINGS: dict[str, object] = {
    "agent": "claude",
    "network": "none",
    "timeout_seconds": 60,
    "silence_timeout_seconds": 60,
    "memory": "256m",
    "cpus": 1.0,
    "pids_limit": 64,
}


@pytest.fixture(scope="module")
def session_image() -> str:
    if not docker_available():
        pytest.skip("no Docker engine")
    return build_session_image(build_image())


@contextmanager
def _two_clones(root: Path, image: str) -> Iterator[tuple[Project, Clone]]:
    a = Project(root / "team", image).setup()
    b = Clone(root / "team", image, name="b").setup_clone({**SETTINGS, "image": image})
    yield a, b
    for clone in (a, b):
        assert clone.containers() == [], "a container was left behind"
        assert clone.leftovers() == [], "a worktree, run folder or marker was left behind"


@pytest.fixture
def clones(tmp_path: Path, session_image: str) -> Iterator[tuple[Project, Clone]]:
    with _two_clones(tmp_path, session_image) as both:
        yield both


def _ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    return proc


def _transcript(clone: Project, task_id: str, session: str) -> Path:
    return clone.state / "agent-state" / task_id / "projects" / "-workspace" / f"{session}.jsonl"


@dataclass(frozen=True)
class Handoff:
    """Three runs of one task across two clones, and what each step showed as it happened:
    A creates it (run 1), B reads its logs then continues it (run 2), A syncs and
    continues (run 3)."""

    a: Project
    b: Clone
    task_id: str
    session: str  # run 1's session id
    # after A's run
    transcript_on_a: bool
    logs_tips: tuple[str, str]  # the logs ref on origin, and on A
    runs_on_origin: list[str]
    stored: list[str]  # run-001's files on origin
    # B, once synced
    b_logs_ref: str  # the logs ref in B, before B asked for the logs
    shown: subprocess.CompletedProcess[str]
    raw: subprocess.CompletedProcess[str]
    execution: subprocess.CompletedProcess[str]
    missing: subprocess.CompletedProcess[str]
    # B continues
    continued: subprocess.CompletedProcess[str]
    after: dict[str, Any]  # B's ``task show`` then
    restored: str  # the transcript in B
    run2: str  # run 2's execution log
    # A again
    latest: subprocess.CompletedProcess[str]
    a_run_count: int
    third: subprocess.CompletedProcess[str]
    runs_at_the_end: list[str]


@pytest.fixture(scope="module")
def handoff(tmp_path_factory: pytest.TempPathFactory, session_image: str) -> Iterator[Handoff]:
    with (
        isolated_folder(tmp_path_factory, "handoff") as root,
        _two_clones(root, session_image) as (a, b),
    ):
        created = _ok(a.cli("task", "create", "-m", "Write the greeting"))
        task_id = created.stdout.split()[-1]
        session = a.show(task_id)["session_id"]
        transcript_on_a = _transcript(a, task_id, session).is_file()
        # one commit for the run on the task's logs ref, already on origin
        ref = runlogs.logs_ref(task_id)
        tips = (git(a.origin, "rev-parse", ref), git(a.work, "rev-parse", ref))
        runs_on_origin = _remote_runs(a.origin, task_id)
        stored = git(a.origin, "ls-tree", "--name-only", f"{ref}:run-001").split()
        _ok(a.cli("task", "push"))  # the record (publishing it is the sync helper's part)

        # B, a fresh clone: the run's logs on demand, in all three views
        _ok(b.cli("task", "sync"))
        b_logs_ref = git(b.work, "rev-parse", "--verify", "-q", ref, check=False)
        shown = _ok(b.cli("task", "logs", task_id, "--run", "1"))
        raw = _ok(b.cli("task", "logs", task_id, "--raw"))
        execution = _ok(b.cli("task", "logs", task_id, "--execution", "--run", "1"))
        missing = b.cli("task", "logs", task_id, "--run", "5")

        # B continues: A's session is restored before the container starts, and resumed
        cont = _ok(b.cli("task", "continue", task_id[:8], "--feedback", "Now say goodbye"))
        after = b.show(task_id)
        restored = _transcript(b, task_id, session).read_text()
        run2 = (b.logs_root(task_id) / "run-002" / "execution.log").read_text()
        _ok(b.cli("task", "push"))

        # A sees B's run, and its next run resumes B's (newer) transcript, not its own
        _ok(a.cli("task", "sync"))
        latest = _ok(a.cli("task", "logs", task_id))
        a_run_count = a.show(task_id)["run_count"]
        third = _ok(a.cli("task", "continue", task_id[:8], "--feedback", "And thank them"))
        yield Handoff(
            a=a,
            b=b,
            task_id=task_id,
            session=session,
            transcript_on_a=transcript_on_a,
            logs_tips=tips,
            runs_on_origin=runs_on_origin,
            stored=stored,
            b_logs_ref=b_logs_ref,
            shown=shown,
            raw=raw,
            execution=execution,
            missing=missing,
            continued=cont,
            after=after,
            restored=restored,
            run2=run2,
            latest=latest,
            a_run_count=a_run_count,
            third=third,
            runs_at_the_end=_remote_runs(a.origin, task_id),
        )


def test_a_run_keeps_its_session_and_its_logs_reach_origin(handoff: Handoff) -> None:
    assert handoff.transcript_on_a
    origin_tip, a_tip = handoff.logs_tips
    assert origin_tip == a_tip
    assert handoff.runs_on_origin == ["run-001"]
    assert handoff.stored == ["agent.log.gz", "execution.log.gz", "run.json", "session.jsonl.gz"]


def test_a_fresh_clone_fetches_the_logs_on_demand_in_all_three_views(handoff: Handoff) -> None:
    assert handoff.b_logs_ref == ""
    shown, raw, execution = handoff.shown, handoff.raw, handoff.execution
    assert "Write agent_notes.md" in shown.stdout and '"type"' not in shown.stdout
    assert '"type":"result"' in raw.stdout and raw.stdout == created_raw(handoff.a, handoff.task_id)
    assert "container started" in execution.stdout and "worktree removed" in execution.stdout
    missing = handoff.missing
    assert missing.returncode == 1 and "no logs for run 5 (runs: 1)" in missing.stderr


def test_the_other_clone_restores_the_session_and_resumes_it(handoff: Handoff) -> None:
    session = handoff.session
    assert "history: 1 earlier turn(s)" in handoff.continued.stdout
    assert handoff.after["run_count"] == 2 and handoff.after["session_id"] == session
    assert handoff.restored.count("Working on") == 2  # A's turn and B's
    assert f"restored session {session} from run 1" in handoff.run2
    assert f"resuming session {session}" in handoff.run2


def test_the_first_clone_resumes_the_newer_transcript_not_its_own(handoff: Handoff) -> None:
    assert "history: 1 earlier turn(s)" in handoff.latest.stdout
    assert handoff.a_run_count == 2
    assert "history: 2 earlier turn(s)" in handoff.third.stdout
    assert handoff.runs_at_the_end == ["run-001", "run-002", "run-003"]


def test_no_stored_log_holds_the_credential_compressed_or_not(handoff: Handoff) -> None:
    a, b = handoff.a, handoff.b
    for run in (1, 2, 3):
        view = runlogs.read_run(_repo(a.work), handoff.task_id, run)
        assert view is not None
        for name in view.names:
            data = view.read(name)
            assert data and SECRET.encode() not in data
    assert SECRET not in all_text_under(b.state) + all_text_under(a.state)


def created_raw(clone: Project, task_id: str) -> str:
    return (clone.logs_root(task_id) / "run-001" / "claude_output.log").read_text()


def test_a_capped_log_says_it_was_truncated_on_the_other_clone(
    clones: tuple[Project, Clone],
) -> None:
    a, b = clones
    _ok(a.cli("config", "set", "logs.max_bytes", "700"))
    created = _ok(a.cli("task", "create", "-m", "Write a long greeting"))
    task_id = created.stdout.split()[-1]
    _ok(a.cli("task", "push"))
    _ok(b.cli("task", "sync"))
    raw = _ok(b.cli("task", "logs", task_id, "--raw")).stdout
    marks = [x for x in raw.splitlines() if x.startswith("[claude-container: log truncated: ")]
    assert len(marks) == 1 and "(logs.max_bytes = 700)" in marks[0]
    assert len(raw.encode()) <= 700 and raw.endswith("}\n")  # the head and the end
    # a transcript over the cap is not cut (it could not be resumed): it is left out
    names = git(a.origin, "ls-tree", "--name-only", f"{runlogs.logs_ref(task_id)}:run-001")
    assert "session.jsonl.gz" not in names.split()
    info = json.loads(git(a.origin, "show", f"{runlogs.logs_ref(task_id)}:run-001/run.json"))
    assert any("session not stored" in note for note in info["stored_notes"])
