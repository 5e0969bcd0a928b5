"""Three-way merge of task histories, through the store API (gittask.store.merge).

Two sides are two refs of one repository, written with TaskStore at chosen
commit times, so "the later change wins" can be checked exactly. Every merge is
done in both directions: the trees must be identical.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pygit2
import pytest

from gittask.model import FeedbackEntry, TaskMetadata, TaskStatus
from gittask.model.task import new_task_id
from gittask.store import layout, yamlio
from gittask.store.merge import (
    InvalidHistoryError,
    MergeResult,
    check_incoming,
    merge_commits,
    split_chunks,
)
from gittask.store.repo import GitRepo
from gittask.store.taskfiles import task_files
from gittask.store.taskstore import TaskStore
from gittask.store.trees import replace_path, write_folder
from tests.conftest import init_repo

T0 = 1_700_000_000


class Lab:
    """One repository; sides are refs under refs/sides/, written at chosen times."""

    def __init__(self, path: Path) -> None:
        self.repo = GitRepo.discover(path)
        self.git = self.repo.pygit
        self.now = T0
        self.repo.signature = lambda: pygit2.Signature("Lab", "lab@example.com", self.now, 0)  # type: ignore[method-assign]

    def store(self, side: str) -> TaskStore:
        return TaskStore(self.repo, f"refs/sides/{side}")

    def at(self, when: int, side: str) -> TaskStore:
        self.now = when
        return self.store(side)

    def fork(self, source: str, *names: str) -> None:
        tip = self.store(source).tip()
        assert tip is not None
        for name in names:
            self.git.create_reference_direct(f"refs/sides/{name}", tip, True)

    def tip(self, side: str) -> pygit2.Oid:
        tip = self.store(side).tip()
        assert tip is not None
        return tip

    def merge(self, ours: str, theirs: str) -> MergeResult:
        """Merge both ways; the trees must be the same. Returns ours<-theirs."""
        one = merge_commits(
            self.git, self.tip(ours), self.tip(theirs), ours_label=ours, theirs_label=theirs
        )
        two = merge_commits(
            self.git, self.tip(theirs), self.tip(ours), ours_label=theirs, theirs_label=ours
        )
        assert one.tree == two.tree, "the merge depends on who merges"
        assert {c.field for c in one.conflicts} == {c.field for c in two.conflicts}
        assert {(c.field, c.winner) for c in one.conflicts} == {
            (c.field, c.winner) for c in two.conflicts
        }
        return one

    def task(self, result: MergeResult, task_id: str) -> TaskMetadata:
        root = self.git[result.tree]
        assert isinstance(root, pygit2.Tree)
        return self.store("x").get(task_id, root)

    def has_task(self, result: MergeResult, task_id: str) -> bool:
        root = self.git[result.tree]
        assert isinstance(root, pygit2.Tree)
        return self.store("x").task_tree(task_id, root) is not None

    def commit_tree(self, side: str, tree: pygit2.Oid, parent: str | None = None) -> None:
        sig = self.repo.signature()
        parents = [self.tip(parent)] if parent else []
        oid = self.git.create_commit(None, sig, sig, "by hand", tree, parents)
        self.git.create_reference_direct(f"refs/sides/{side}", oid, True)


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return Lab(init_repo(tmp_path / "lab"))


def new_task(title: str = "A task", **fields: object) -> TaskMetadata:
    task = TaskMetadata(id=new_task_id(), description=f"{title}\n", branch_name="b-" + title[:5])
    for key, value in fields.items():
        setattr(task, key, value)
    return task


def setter(**fields: object) -> Callable[[TaskMetadata], None]:
    def change(task: TaskMetadata) -> None:
        for key, value in fields.items():
            setattr(task, key, value)

    return change


def based(lab: Lab, *tasks: TaskMetadata) -> None:
    """A base history with ``tasks``, forked into sides a and b."""
    for task in tasks:
        lab.at(T0, "base").create(task)
    lab.fork("base", "a", "b")


# -- YAML chunks ---------------------------------------------------------------------


def test_chunks_of_a_stored_record_join_back_to_the_same_text() -> None:
    task = new_task(
        "Chunks",
        commits=["a" * 40, "b" * 40],
        error_message="first line\nsecond: line\n\n  indented",
        pr_note="a: colon, 'quotes' and # hash",
        extra={"future_field": {"nested": [1, 2]}},
    )
    text = yamlio.dump(task.metadata_dict())
    chunks = split_chunks(text.encode())
    assert chunks is not None
    assert "".join(chunks.values()) == text
    assert list(chunks) == list(task.metadata_dict())
    assert yamlio.load(chunks["error_message"])["error_message"] == task.error_message


@pytest.mark.parametrize(
    "text",
    [b"---\nid: x\n", b"{id: x}\n", b"id: x\nid: y\n", b"# comment\nid: x\n", b"  id: x\n"],
)
def test_unusual_yaml_shapes_are_not_chunked(text: bytes) -> None:
    assert split_chunks(text) is None


# -- merging -------------------------------------------------------------------------


def test_changes_to_different_tasks_and_fields_all_survive(lab: Lab) -> None:
    one, two = new_task("One"), new_task("Two")
    based(lab, one, two)
    lab.at(T0 + 10, "a").update(one.id, setter(pr_url="https://example.com/pr/1"))
    lab.at(T0 + 20, "b").update(one.id, setter(agent="claude"))
    lab.at(T0 + 30, "b").update(two.id, setter(status=TaskStatus.CLOSED))
    created_a = lab.at(T0 + 40, "a").create(new_task("Made on A"))
    created_b = lab.at(T0 + 50, "b").create(new_task("Made on B"))

    result = lab.merge("a", "b")

    merged = lab.task(result, one.id)
    assert (merged.pr_url, merged.agent) == ("https://example.com/pr/1", "claude")
    assert lab.task(result, two.id).status is TaskStatus.CLOSED
    assert lab.has_task(result, created_a.id) and lab.has_task(result, created_b.id)
    assert result.conflicts == [] and result.deletes_kept == []
    assert result.incoming == {one.id, two.id, created_b.id}


@pytest.mark.parametrize("later", ["a", "b"])
def test_a_field_changed_on_both_sides_takes_the_later_change(lab: Lab, later: str) -> None:
    task = new_task("Status race")
    based(lab, task)
    earlier = "b" if later == "a" else "a"
    lab.at(T0 + 10, earlier).update(task.id, setter(status=TaskStatus.FAILED))
    lab.at(T0 + 20, later).update(task.id, setter(status=TaskStatus.CREATED))
    # the earlier side then touches another task: its tip is newest, but not for this task
    lab.at(T0 + 30, earlier).create(new_task("Unrelated"))

    result = lab.merge("a", "b")

    assert lab.task(result, task.id).status is TaskStatus.CREATED
    [conflict] = result.conflicts
    assert (conflict.task_id, conflict.field, conflict.winner) == (task.id, "status", later)
    assert conflict.kept == "created" and conflict.dropped == "failed"
    assert f"conflict task {task.id[:8]} status: {later} won (created)" in result.message(
        "b", "refs/sides/b", lab.tip("b"), lab.tip("a")
    )


def test_a_tie_in_time_is_broken_the_same_way_by_both_clones(lab: Lab) -> None:
    task = new_task("Tie")
    based(lab, task)
    lab.at(T0 + 10, "a").update(task.id, setter(error_message="from a"))
    lab.at(T0 + 10, "b").update(task.id, setter(error_message="from b"))

    result = lab.merge("a", "b")  # asserts both directions build the same tree

    [conflict] = result.conflicts
    expected = "a" if str(lab.tip("a")) > str(lab.tip("b")) else "b"
    assert conflict.winner == expected
    assert lab.task(result, task.id).error_message == f"from {expected}"


def test_feedback_from_both_sides_is_all_kept_in_time_order(lab: Lab) -> None:
    task = new_task("Feedback")
    based(lab, task)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    lab.at(T0 + 5, "base").add_feedback(task.id, FeedbackEntry("base note", timestamp=start))
    lab.fork("base", "a", "b")
    for side, minutes in (("a", 3), ("b", 1), ("a", 2), ("b", 4)):
        entry = FeedbackEntry(f"{side} at {minutes}", timestamp=start + timedelta(minutes=minutes))
        lab.at(T0 + 10 + minutes, side).add_feedback(task.id, entry)

    result = lab.merge("a", "b")

    merged = lab.task(result, task.id)
    assert [f.feedback for f in merged.feedback_history] == [
        "base note",
        "b at 1",
        "a at 2",
        "a at 3",
        "b at 4",
    ]
    assert merged.continuation_count == 5
    assert result.conflicts == []


def test_one_feedback_entry_edited_on_both_sides_is_merged_field_by_field(lab: Lab) -> None:
    task = new_task("Edited feedback")
    entry = FeedbackEntry("please fix", timestamp=datetime(2030, 1, 1, tzinfo=UTC))
    based(lab, task)
    lab.at(T0 + 1, "base").add_feedback(task.id, entry)
    lab.fork("base", "a", "b")

    def edit(**fields: object) -> Callable[[TaskMetadata], None]:
        def change(t: TaskMetadata) -> None:
            for key, value in fields.items():
                setattr(t.feedback_history[0], key, value)

        return change

    lab.at(T0 + 10, "a").update(task.id, edit(claude_response_summary="fixed it"))
    lab.at(T0 + 20, "b").update(task.id, edit(author="Bob <bob@example.com>"))

    result = lab.merge("a", "b")

    [merged] = lab.task(result, task.id).feedback_history
    assert merged.claude_response_summary == "fixed it"
    assert merged.author == "Bob <bob@example.com>"
    assert result.conflicts == []


@pytest.mark.parametrize("deleter", ["a", "b"])
def test_delete_against_edit_keeps_the_delete_and_says_so(lab: Lab, deleter: str) -> None:
    task, other = new_task("Doomed"), new_task("Bystander")
    based(lab, task, other)
    editor = "b" if deleter == "a" else "a"
    lab.at(T0 + 10, deleter).delete(task.id, deleted_by="Dee <dee@example.com>")
    lab.at(T0 + 20, editor).update(task.id, setter(pr_note="important edit"), verb="update")
    lab.at(T0 + 30, editor).update(other.id, setter(agent="claude"))

    result = lab.merge("a", "b")

    assert not lab.has_task(result, task.id)
    root = lab.git[result.tree]
    assert isinstance(root, pygit2.Tree)
    assert lab.store("x").tombstone(task.id, root) is not None
    assert lab.task(result, other.id).agent == "claude"
    [kept] = result.deletes_kept
    assert (kept.task_id, kept.deleted_on, kept.edited_on) == (task.id, deleter, editor)
    assert kept.lost_edit == f"update {task.id[:8]}: Doomed"
    message = result.message(editor, "refs/sides/x", lab.tip("b"), lab.tip("a"))
    assert "1 delete kept" in message.splitlines()[0]
    assert f'delete kept task {task.id[:8]} "Doomed": deleted on {deleter} by Dee' in message
    assert f"dropped the edit on {editor}: update {task.id[:8]}: Doomed (commit" in message


def test_list_fields_merge_as_sets_keeping_order(lab: Lab) -> None:
    task = new_task("Lists", commits=["c0", "c1"], depends_on=["d0"])
    based(lab, task)
    lab.at(T0 + 10, "a").update(task.id, setter(commits=["c0", "c1", "a1", "a2"]))
    lab.at(T0 + 20, "b").update(task.id, setter(commits=["c1", "b1"], depends_on=["d0", "d1"]))

    result = lab.merge("a", "b")

    merged = lab.task(result, task.id)
    assert merged.commits == ["c1", "a1", "a2", "b1"]  # c0 removed on b; earlier side first
    assert merged.depends_on == ["d0", "d1"]
    assert result.conflicts == []


def test_description_edited_on_both_sides_takes_the_later_one(lab: Lab) -> None:
    task = new_task("Describe")
    based(lab, task)
    lab.at(T0 + 20, "a").update(task.id, setter(description="Describe better\n"))
    lab.at(T0 + 10, "b").update(task.id, setter(description="Describe worse\n"))

    result = lab.merge("a", "b")

    assert lab.task(result, task.id).description == "Describe better\n"
    [conflict] = result.conflicts
    assert (conflict.field, conflict.winner) == ("description.md", "a")


def test_histories_without_a_common_commit_are_combined(lab: Lab) -> None:
    one, two = new_task("Alone on A"), new_task("Alone on B")
    lab.at(T0, "a").create(one)
    lab.at(T0 + 1, "b").create(two)

    result = lab.merge("a", "b")

    assert lab.has_task(result, one.id) and lab.has_task(result, two.id)
    assert result.incoming == {two.id}


def test_merge_message_summary_and_trailer(lab: Lab) -> None:
    one, two, three = new_task("One"), new_task("Two"), new_task("Three")
    based(lab, one, two, three)
    lab.at(T0 + 10, "a").update(one.id, setter(agent="x"))
    lab.at(T0 + 20, "b").update(one.id, setter(agent="y"))
    lab.at(T0 + 30, "a").delete(two.id)
    lab.at(T0 + 40, "b").update(two.id, setter(agent="z"))
    lab.at(T0 + 50, "b").update(three.id, setter(agent="w"))

    result = lab.merge("a", "b")
    message = result.message(
        "origin", "refs/remotes/origin/claude-tasks", lab.tip("b"), lab.tip("a")
    )

    lines = message.splitlines()
    assert lines[0] == "merge: 3 tasks from origin (1 conflict resolved, 1 delete kept)"
    assert lines[-1] == "Task-Action: merge"
    assert not any(x.startswith("Task-Id") for x in lines)


# -- what comes from the other side must be task records ------------------------------


def _tree_with(lab: Lab, base: str, path: str, data: bytes | None) -> pygit2.Oid:
    root = lab.store(base).root()
    blob = lab.git.create_blob(data) if data is not None else None
    return replace_path(lab.git, root, path, blob, pygit2.GIT_FILEMODE_BLOB)


def test_a_side_with_stray_files_is_refused(lab: Lab) -> None:
    based(lab, new_task("Base"))
    lab.commit_tree("b", _tree_with(lab, "b", "src/main.py", b"print()\n"), parent="b")
    with pytest.raises(InvalidHistoryError, match=r"refs/x is not a valid task history: src"):
        merge_commits(lab.git, lab.tip("a"), lab.tip("b"), theirs_ref="refs/x")


def test_a_code_branch_is_not_a_task_history(lab: Lab) -> None:
    based(lab, new_task("Base"))
    head = lab.git.head.target
    with pytest.raises(InvalidHistoryError, match="its tree has no tasks/ or tombstones/ folder"):
        merge_commits(lab.git, lab.tip("a"), head, theirs_ref="refs/x")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"id: [unclosed\nstatus: pending\n", "did not find expected"),
        (b"- just\n- a list\n", "not a mapping"),
        (b"id: 0000000000000000000000000000000f\n", "does not match"),
    ],
)
def test_an_unreadable_incoming_record_is_refused(lab: Lab, content: bytes, reason: str) -> None:
    task = new_task("Victim")
    based(lab, task)
    path = f"{layout.task_dir(task.id)}/{layout.METADATA_FILE}"
    lab.commit_tree("b", _tree_with(lab, "b", path, content), parent="b")
    lab.at(T0 + 5, "a").create(new_task("Local work"))
    with pytest.raises(InvalidHistoryError, match=reason):
        merge_commits(lab.git, lab.tip("a"), lab.tip("b"), theirs_ref="refs/x")
    with pytest.raises(InvalidHistoryError, match=path):
        check_incoming(lab.git, lab.tip("base"), lab.tip("b"), theirs_ref="refs/x")


def test_only_changed_tasks_are_read(lab: Lab) -> None:
    """An unreadable record both sides left alone is not even looked at."""
    good, bad = new_task("Good"), new_task("Bad")
    lab.at(T0, "base").create(good)
    folder = write_folder(lab.git, None, task_files(bad))
    broken = write_folder(
        lab.git,
        lab.git[folder],
        {layout.METADATA_FILE: b"::: not yaml [\n"},  # type: ignore[arg-type]
    )
    root = lab.store("base").root()
    lab.commit_tree("base", replace_path(lab.git, root, layout.task_dir(bad.id), broken), "base")
    lab.fork("base", "a", "b")
    lab.at(T0 + 10, "a").update(good.id, setter(agent="a"))
    lab.at(T0 + 20, "b").update(good.id, setter(pr_note="b"))

    result = lab.merge("a", "b")

    assert result.incoming == {good.id}
    merged = lab.task(result, good.id)
    assert (merged.agent, merged.pr_note) == ("a", "b")
