"""The task store on refs/claude-tasks, against real repositories."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygit2
import pytest

from gittask.errors import (
    AmbiguousTaskIdError,
    CorruptRecordError,
    NotARepositoryError,
    TaskNotFoundError,
)
from gittask.model import FeedbackEntry, TaskMetadata, TaskStatus
from gittask.model.task import new_task_id
from gittask.store import layout, notes
from gittask.store.database import TaskDatabase
from gittask.store.repo import GitRepo
from gittask.store.taskstore import TaskStore
from tests.conftest import ROOT, git, init_repo


def make_task(description: str = "Fix the login bug", task_id: str | None = None) -> TaskMetadata:
    tid = task_id or new_task_id()
    return TaskMetadata(id=tid, description=description + "\n", branch_name=f"b-{tid[:8]}")


def test_every_change_is_one_commit_with_a_readable_message(repo: Path) -> None:
    store = TaskStore(GitRepo.discover(repo))
    task = store.create(make_task())
    store.add_feedback(task.id, FeedbackEntry(feedback="also the logout"))

    def to_running(t: TaskMetadata) -> str:
        t.set_status(TaskStatus.RUNNING)
        return "pending -> running"

    store.update(task.id, to_running, "status")
    log = git(repo, "log", "--format=%s", layout.DATA_REF).splitlines()
    short = task.id[:8]
    assert log == [
        f"status {short}: Fix the login bug",
        f"feedback {short}: Fix the login bug",
        f"create {short}: Fix the login bug",
    ]
    body = git(repo, "log", "-1", "--format=%B", layout.DATA_REF)
    assert f"Task-Id: {task.id}" in body and "pending -> running" in body
    shown = git(repo, "show", f"{layout.DATA_REF}:{layout.task_dir(task.id)}/metadata.yaml")
    assert "status: running" in shown
    # the ref is an orphan: it shares no history with the user's branch
    assert git(repo, "merge-base", "HEAD", layout.DATA_REF, check=False) == ""
    # the user's checkout is untouched
    assert git(repo, "status", "--porcelain") == ""


def test_round_trip_through_the_ref(repo: Path) -> None:
    store = TaskStore(GitRepo.discover(repo))
    task = make_task("Multi\nline: description\n- with: yaml-ish text")
    task.cost_usd = 1.5
    store.create(task)
    store.add_feedback(task.id, FeedbackEntry(feedback="first"))
    store.add_feedback(task.id, FeedbackEntry(feedback="second"))
    loaded = store.get(task.id)
    assert loaded.description == task.description
    assert [f.feedback for f in loaded.feedback_history] == ["first", "second"]
    assert loaded.continuation_count == 2
    assert loaded.cost_usd == 1.5


def test_an_update_rewrites_only_the_trees_on_its_path(repo: Path) -> None:
    store = TaskStore(GitRepo.discover(repo))
    a = store.create(make_task("a", "aa" + new_task_id()[2:]))
    store.create(make_task("b", "bb" + new_task_id()[2:]))
    before = store.root()
    assert before is not None
    store.add_feedback(a.id, FeedbackEntry(feedback="x"))
    after = store.root()
    assert after is not None
    assert before["tasks/bb"].id == after["tasks/bb"].id
    assert before["tasks/aa"].id != after["tasks/aa"].id


def _writer(path: str, count: int) -> None:
    store = TaskStore(GitRepo.discover(path))
    for i in range(count):
        store.create(make_task(f"task {os.getpid()} {i}"))


def test_concurrent_writers_lose_nothing(repo: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(repo), 15)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = TaskStore(GitRepo.discover(repo))
    assert len(list(store.ids())) == 60
    assert git(repo, "rev-list", "--count", layout.DATA_REF) == "60"


def test_concurrent_updates_of_one_task_keep_every_feedback(repo: Path) -> None:
    store = TaskStore(GitRepo.discover(repo))
    task = store.create(make_task())
    script = (
        "import sys; from gittask.store.repo import GitRepo;"
        "from gittask.store.taskstore import TaskStore; from gittask.model import FeedbackEntry;"
        "s = TaskStore(GitRepo.discover(sys.argv[1]));"
        "[s.add_feedback(sys.argv[2], FeedbackEntry(feedback=f'{sys.argv[3]}-{i}'))"
        " for i in range(10)]"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(repo), task.id, str(n)], env=env)
        for n in range(3)
    ]
    assert [p.wait(120) for p in procs] == [0, 0, 0]
    feedback = {f.feedback for f in store.get(task.id).feedback_history}
    assert feedback == {f"{n}-{i}" for n in range(3) for i in range(10)}


def _wait_for_ref(repo: Path, ref: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", ref], cwd=repo, capture_output=True, check=False
        )
        if found.returncode == 0:
            return
        time.sleep(0.02)
    raise AssertionError(f"{ref} was never written")


def test_a_killed_writer_leaves_the_ref_at_a_valid_commit(repo: Path) -> None:
    script = (
        "import sys; from gittask.store.repo import GitRepo; from gittask.store.taskstore import "
        "TaskStore; from gittask.model import TaskMetadata; from gittask.model.task import "
        "new_task_id; s = TaskStore(GitRepo.discover(sys.argv[1]))\n"
        "while True:\n"
        "    t = new_task_id(); s.create(TaskMetadata(id=t, description='x', branch_name=t))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for delay in (0.05, 0.15, 0.3):
        proc = subprocess.Popen([sys.executable, "-c", script, str(repo)], env=env)
        _wait_for_ref(repo, layout.DATA_REF)  # writing has begun (start-up is slow under load)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    fsck = subprocess.run(
        ["git", "fsck", "--no-dangling", layout.DATA_REF], cwd=repo, capture_output=True, text=True
    )
    assert fsck.returncode == 0, fsck.stderr
    store = TaskStore(GitRepo.discover(repo))
    count = int(git(repo, "rev-list", "--count", layout.DATA_REF))
    assert count > 0
    assert len(list(store.ids())) == count  # every commit created exactly one readable task
    for task_id in store.ids():
        store.get(task_id)


def test_delete_leaves_a_tombstone_and_cannot_happen_twice(repo: Path) -> None:
    store = TaskStore(GitRepo.discover(repo))
    task = store.create(make_task())
    store.delete(task.id, deleted_by="Test User <test@example.com>")
    assert not store.exists(task.id)
    stone = store.tombstone(task.id)
    assert stone is not None and stone.deleted_by == "Test User <test@example.com>"
    assert git(repo, "log", "-1", "--format=%s", layout.DATA_REF).startswith("delete ")
    with pytest.raises(TaskNotFoundError, match="already deleted"):
        store.delete(task.id)
    with pytest.raises(TaskNotFoundError, match=r"was deleted on .* by Test User"):
        store.resolve(task.id[:10])


def test_prefix_resolution(repo: Path) -> None:
    store = TaskStore(GitRepo.discover(repo))
    a = store.create(make_task("a", "abcdef01" + "0" * 24))
    store.create(make_task("b", "abcdef02" + "0" * 24))
    assert store.resolve("abcdef01") == a.id
    assert store.resolve("ABCDEF01-0000") == a.id
    with pytest.raises(AmbiguousTaskIdError) as info:
        store.resolve("abcdef0")
    assert "abcdef010000" in str(info.value) and "abcdef020000" in str(info.value)
    with pytest.raises(TaskNotFoundError, match="no task matches 'xyz'"):
        store.resolve("xyz")
    with pytest.raises(TaskNotFoundError):
        store.resolve("ffff")


def test_a_hand_edited_record_is_reported_with_its_path(repo: Path) -> None:
    store = TaskStore(GitRepo.discover(repo))
    bad = store.create(make_task("bad"))
    good = store.create(make_task("good"))
    path = f"{layout.task_dir(bad.id)}/metadata.yaml"
    # edit the ref by hand with plain git plumbing, as a person might
    wt = repo.parent / "edit"
    git(repo, "worktree", "add", "-q", "--detach", str(wt), layout.DATA_REF)
    (wt / path).write_text("id: [unclosed\nstatus: pending\n")
    git(wt, "commit", "-q", "-am", "hand edit")
    git(repo, "update-ref", layout.DATA_REF, git(wt, "rev-parse", "HEAD"))
    with pytest.raises(CorruptRecordError) as info:
        store.get(bad.id)
    assert path in str(info.value)
    assert store.get(good.id).title == "good"
    db = TaskDatabase.open(repo)
    rows = {r.id: r for r in db.rows()}
    assert rows[good.id].status == "pending"
    assert rows[bad.id].status is None and path in (rows[bad.id].error or "")


def test_works_from_a_subdirectory_a_linked_worktree_and_an_empty_repo(tmp_path: Path) -> None:
    empty = init_repo(tmp_path / "empty", commit=False)
    TaskStore(GitRepo.discover(empty)).create(make_task("in an empty repo"))
    assert git(empty, "log", "--format=%s", layout.DATA_REF).startswith("create")

    main = init_repo(tmp_path / "main")
    (main / "src" / "deep").mkdir(parents=True)
    sub_db = TaskDatabase.open(main / "src" / "deep")
    task = sub_db.create(make_task("from a subdir"))
    git(main, "worktree", "add", "-q", str(tmp_path / "linked"))
    linked = TaskDatabase.open(tmp_path / "linked")
    assert linked.get(task.id[:8]).title == "from a subdir"
    # one index, under the shared git dir, whichever worktree asks
    assert linked.index.path == sub_db.index.path
    assert linked.index.path.is_relative_to(main / ".git")


def test_outside_a_repository_says_so(tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(NotARepositoryError, match="not a git repository"):
        GitRepo.discover(outside)


def test_notes_attach_and_read(repo: Path) -> None:
    gr = GitRepo.discover(repo)
    head = gr.pygit.head.target
    notes.add_note(gr, head, {"task_id": "abc", "run": 1})
    notes.add_note(gr, head, {"task_id": "abc", "run": 2})
    notes.add_note(gr, head, {"task_id": "abc", "run": 2})  # idempotent
    assert notes.read_notes(gr, head) == [
        {"run": 1, "task_id": "abc"},
        {"run": 2, "task_id": "abc"},
    ]
    shown = git(repo, "log", "-1", "--notes=claude-tasks", "--format=%N")
    assert '{"run":1,"task_id":"abc"}' in shown
    assert notes.read_notes(gr, str(head)) == notes.read_notes(gr, head)
    assert isinstance(head, pygit2.Oid)


def test_two_creates_racing_for_one_branch_store_only_one(repo: Path) -> None:
    from gittask.errors import UsageError
    from gittask.workflow.records import record_task

    mine, other = TaskDatabase.open(repo), TaskDatabase.open(repo)
    mine.refresh()
    write = mine.store.create

    def another_writer_gets_in_first(task: TaskMetadata, check: object = None) -> TaskMetadata:
        # after this process checked the branch, before its compare-and-swap
        record_task(other, "Theirs", "feature/shared", None)
        return write(task, check)  # type: ignore[arg-type]

    mine.store.create = another_writer_gets_in_first  # type: ignore[method-assign]
    with pytest.raises(UsageError, match="already used by task"):
        record_task(mine, "Mine", "feature/shared", None)
    tasks = [
        TaskStore(GitRepo.discover(repo)).get(i) for i in TaskStore(GitRepo.discover(repo)).ids()
    ]
    assert [t.description.strip() for t in tasks if t.branch_name == "feature/shared"] == ["Theirs"]


def hand_edit(repo: Path, edits: dict[str, str | None]) -> None:
    """Change files on the data ref as a person would (None removes the file)."""
    wt = repo.parent / "hand-edit"
    git(repo, "worktree", "add", "-q", "--detach", str(wt), layout.DATA_REF)
    for path, text in edits.items():
        if text is None:
            (wt / path).unlink()
        else:
            (wt / path).parent.mkdir(parents=True, exist_ok=True)
            (wt / path).write_text(text)
    git(wt, "add", "-A")
    git(wt, "commit", "-q", "-m", "by hand")
    git(repo, "update-ref", layout.DATA_REF, git(wt, "rev-parse", "HEAD"))
    git(repo, "worktree", "remove", "--force", str(wt))


def ref_file(repo: Path, path: str) -> str:
    return git(repo, "show", f"{layout.DATA_REF}:{path}")


def test_hand_added_dates_and_keys_survive_later_updates_of_the_task(repo: Path) -> None:
    db = TaskDatabase.open(repo)
    task = db.create(make_task("has extras"))
    db.add_feedback(task.id, FeedbackEntry(feedback="first"))
    meta = f"{layout.task_dir(task.id)}/metadata.yaml"
    folder = f"{layout.task_dir(task.id)}/feedback"
    [fb_name] = git(repo, "ls-tree", "--name-only", f"{layout.DATA_REF}:{folder}").split()
    hand_edit(
        repo,
        {
            meta: ref_file(repo, meta) + "\ndue: 2024-05-01\nwhen: 2024-05-01 10:30:00\n7: seven\n",
            f"{folder}/{fb_name}": ref_file(repo, f"{folder}/{fb_name}") + "\nseen: 2024-06-01\n",
        },
    )
    assert {r.id: r.status for r in db.rows()} == {task.id: "pending"}
    record = db.index.record(task.id)
    assert record["due"] == "2024-05-01" and record["7"] == "seven"
    assert record["when"].startswith("2024-05-01")
    assert record["feedback_history"][0]["seen"] == "2024-06-01"

    def start(t: TaskMetadata) -> None:
        t.set_status(TaskStatus.RUNNING)

    db.update(task.id, start)
    db.add_feedback(task.id, FeedbackEntry(feedback="second"))
    again = db.get(task.id)
    assert again.status is TaskStatus.RUNNING
    assert again.extra["due"] == "2024-05-01" and again.extra["7"] == "seven"
    assert [f.feedback for f in again.feedback_history] == ["first", "second"]
    assert again.feedback_history[0].extra == {"seen": "2024-06-01"}
    text = ref_file(repo, meta)
    assert "2024-05-01" in text and "seven" in text
    assert {r.id: r.status for r in TaskDatabase.open(repo).rows()} == {task.id: "running"}


def test_feedback_files_are_named_by_their_id_after_any_hand_edit(repo: Path) -> None:
    store = TaskStore(GitRepo.discover(repo))
    task = store.create(make_task("gets feedback"))
    store.add_feedback(task.id, FeedbackEntry(feedback="no id"))
    store.add_feedback(task.id, FeedbackEntry(feedback="other id"))
    folder = f"{layout.task_dir(task.id)}/feedback"
    first, second = git(repo, "ls-tree", "--name-only", f"{layout.DATA_REF}:{folder}").split()

    def without_id(name: str) -> str:
        text = ref_file(repo, f"{folder}/{name}")
        return "\n".join(x for x in text.splitlines() if not x.startswith("id:")) + "\n"

    hand_edit(
        repo,
        {
            f"{folder}/{first}": without_id(first),
            f"{folder}/{second}": "id: renamed-by-hand\n" + without_id(second),
            f"{folder}/NOTES.txt": "scribbles: [not an entry\n",
        },
    )
    for text in ("third", "fourth"):
        store.add_feedback(task.id, FeedbackEntry(feedback=text))
    history = store.get(task.id).feedback_history
    assert [f.feedback for f in history] == ["no id", "other id", "third", "fourth"]
    assert [f"{f.id}.yaml" for f in history[:2]] == [first, second]
    files = git(repo, "ls-tree", "--name-only", f"{layout.DATA_REF}:{folder}").split()
    assert len(files) == 5 and {first, second, "NOTES.txt"} <= set(files)
    assert ref_file(repo, f"{folder}/NOTES.txt") == "scribbles: [not an entry"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("run_count: .inf", "run_count is not a number"),
        ("pr_number: [1, 2]", "pr_number is not a number"),
        ("loop: &x [*x]", "anchors and aliases are not allowed"),
    ],
)
def test_any_hand_edit_is_an_unreadable_record_never_a_crash(
    repo: Path, line: str, reason: str
) -> None:
    db = TaskDatabase.open(repo)
    bad, good = db.create(make_task("bad")), db.create(make_task("good"))
    meta = f"{layout.task_dir(bad.id)}/metadata.yaml"
    key = line.split(":")[0]
    kept = [x for x in ref_file(repo, meta).splitlines() if not x.startswith(f"{key}:")]
    hand_edit(repo, {meta: "\n".join([*kept, line]) + "\n"})
    with pytest.raises(CorruptRecordError, match=reason) as info:
        db.get(bad.id)
    assert meta in str(info.value)
    rows = {r.id: r for r in db.rows()}
    assert rows[good.id].status == "pending"
    assert rows[bad.id].status is None and meta in (rows[bad.id].error or "")


def block_object_writes(repo: Path) -> None:
    """Make git unable to store a new object, as a read-only or full disk would.

    Works as root too (chmod does not stop root): every object is packed, and
    each loose-object folder git would create is taken by a plain file.
    """
    git(repo, "repack", "-adq")
    objects = repo / ".git" / "objects"
    for n in range(256):
        name = objects / f"{n:02x}"
        if name.is_dir():
            shutil.rmtree(name)
        name.write_text("")


def test_a_refused_object_write_is_one_error_and_changes_nothing(repo: Path) -> None:
    from gittask.errors import GittaskError

    db = TaskDatabase.open(repo)
    task = db.create(make_task("before"))
    db.rows()
    tip = git(repo, "rev-parse", layout.DATA_REF)
    head = git(repo, "rev-parse", "HEAD")
    block_object_writes(repo)
    db = TaskDatabase.open(repo)
    attempts: list[Callable[[], object]] = [
        lambda: db.create(make_task("during")),
        lambda: db.add_feedback(task.id, FeedbackEntry(feedback="more")),
        lambda: db.delete(task.id),
        lambda: notes.add_note(db.repo, head, {"task_id": task.id, "run": 1}),
    ]
    for attempt in attempts:
        with pytest.raises(GittaskError) as info:
            attempt()
        assert ".git/objects" in str(info.value)
        assert "\n" not in str(info.value)
    assert git(repo, "rev-parse", layout.DATA_REF) == tip
    assert notes.read_notes(db.repo, head) == []
    assert [r.id for r in TaskDatabase.open(repo).rows()] == [task.id]


def _racer(path: str, branch: str, barrier: Any, results: Any) -> None:
    """One `task create --branch <branch>`, held until every racer passed the first check."""
    from gittask.errors import GittaskError
    from gittask.workflow.records import record_task

    db = TaskDatabase.open(path)
    write = db.create

    def after_the_first_check(task: TaskMetadata, *args: Any, **kwargs: Any) -> TaskMetadata:
        barrier.wait(60)  # everyone saw the branch free; now the writes race
        return write(task, *args, **kwargs)

    db.create = after_the_first_check  # type: ignore[method-assign]
    try:
        task = record_task(db, f"racer {os.getpid()}", branch, None)
    except GittaskError as exc:
        results.put(("refused", str(exc)))
    except BaseException as exc:
        results.put(("crashed", repr(exc)))
    else:
        results.put(("stored", task.id))


def test_processes_racing_for_one_branch_store_exactly_one_task(repo: Path) -> None:
    racers = 5
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(racers), ctx.Queue()
    procs = [
        ctx.Process(target=_racer, args=(str(repo), "feature/contested", barrier, results))
        for _ in range(racers)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert not [detail for kind, detail in outcomes if kind == "crashed"]
    stored = [detail for kind, detail in outcomes if kind == "stored"]
    refused = [detail for kind, detail in outcomes if kind == "refused"]
    assert len(stored) == 1 and len(refused) == racers - 1
    # the losers read exactly what a sequential second create reads
    sequential = f"branch 'feature/contested' is already used by task {stored[0][:8]}"
    assert all(sequential in reason for reason in refused)
    store = TaskStore(GitRepo.discover(repo))
    assert list(store.ids()) == stored
    assert git(repo, "rev-list", "--count", layout.DATA_REF) == "1"
