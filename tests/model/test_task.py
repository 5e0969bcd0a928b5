from __future__ import annotations

import pytest

from gittask.errors import InvalidTransitionError, UsageError
from gittask.model import FeedbackEntry, FeedbackType, TaskMetadata, TaskStatus
from gittask.model.clock import parse_ts
from gittask.model.ids import longer_short_ids, short_ids
from gittask.model.status import check_transition
from gittask.model.task import new_task_id, normalize_id, title_of


def test_legal_transitions_pass_and_illegal_ones_explain_the_allowed_targets() -> None:
    check_transition(TaskStatus.PENDING, TaskStatus.RUNNING)
    check_transition(TaskStatus.RUNNING, TaskStatus.CREATED)
    check_transition(TaskStatus.CREATED, TaskStatus.MERGED)
    with pytest.raises(InvalidTransitionError, match="a pending task cannot become merged"):
        check_transition(TaskStatus.PENDING, TaskStatus.MERGED)
    with pytest.raises(InvalidTransitionError, match="none \\(final\\)"):
        check_transition(TaskStatus.MERGED, TaskStatus.RUNNING)


def test_set_status_validates() -> None:
    task = TaskMetadata(id=new_task_id(), description="x")
    task.set_status(TaskStatus.RUNNING)
    with pytest.raises(InvalidTransitionError):
        task.set_status(TaskStatus.MERGED)
    assert task.status is TaskStatus.RUNNING


def test_unknown_status_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError) as info:
        TaskStatus.parse("done")
    assert "pending, running, created, continued, failed, merged, closed" in str(info.value)
    assert TaskStatus.parse(" Failed ") is TaskStatus.FAILED


def test_metadata_round_trips_and_keeps_unknown_keys() -> None:
    task = TaskMetadata(
        id=new_task_id(),
        description="Fix it\n\nmore",
        branch_name="b",
        cost_usd=0.25,
        commits=["abc"],
        extra={"future_field": {"x": 1}},
    )
    data = task.metadata_dict()
    assert "description" not in data and "feedback_history" not in data
    assert data["created_at"].endswith("Z")
    again = TaskMetadata.from_parts(data, task.description)
    assert again == task
    assert again.metadata_dict()["future_field"] == {"x": 1}


def test_continuation_count_is_derived_from_feedback() -> None:
    task = TaskMetadata(id=new_task_id(), description="x")
    assert task.continuation_count == 0
    task.feedback_history.append(FeedbackEntry(feedback="more"))
    assert task.continuation_count == 1
    assert "continuation_count" not in task.metadata_dict()
    assert task.to_dict()["continuation_count"] == 1


def test_feedback_ids_are_unique_even_at_the_same_instant() -> None:
    when = parse_ts("2026-01-01T00:00:00Z")
    assert when is not None
    ids = {FeedbackEntry(feedback="x", timestamp=when).id for _ in range(1000)}
    assert len(ids) == 1000
    entry = FeedbackEntry(feedback="hi", feedback_type=FeedbackType.FILE, author="a <a@x>")
    assert FeedbackEntry.from_dict(entry.to_dict()) == entry


def test_short_ids_are_unique_prefixes_of_at_least_eight() -> None:
    ids = ["aaaaaaaa11", "aaaaaaaa12", "bbbbbbbbbbbb", "aaaaaaab00"]
    short = short_ids(ids)
    assert short["bbbbbbbbbbbb"] == "bbbbbbbb"
    assert short["aaaaaaaa11"] == "aaaaaaaa11"
    assert short["aaaaaaab00"] == "aaaaaaab"
    assert len(set(short.values())) == len(ids)


def test_longer_short_ids_are_the_short_ids_past_eight_digits() -> None:
    ids = ["aaaaaaaa11", "aaaaaaaa12", "bbbbbbbbbbbb", "aaaaaaab00", "abc"]
    assert longer_short_ids(ids) == {"aaaaaaaa11": "aaaaaaaa11", "aaaaaaaa12": "aaaaaaaa12"}
    assert longer_short_ids(["bbbbbbbbbbbb", "aaaaaaab00", "abc"]) == {}  # the usual case
    for ids in (["aaaaaaaa11"], [new_task_id() for _ in range(50)], []):
        short = short_ids(ids)
        longer = longer_short_ids(ids)
        assert {i: longer.get(i, i[:8]) for i in ids} == short


def test_ids_and_titles() -> None:
    assert (
        normalize_id("ABCDEF12-3456-7890-ABCD-EF1234567890") == "abcdef1234567890abcdef1234567890"
    )
    assert len(new_task_id()) == 32
    assert title_of("\n\n# Heading here\nbody") == "Heading here"
    assert title_of("") == "(no description)"
    assert title_of("x" * 100).endswith("…")


@pytest.mark.parametrize(
    ("key", "value"),
    [("run_count", float("inf")), ("pr_number", [1]), ("cost_usd", "cheap"), ("output_tokens", {})],
)
def test_a_hand_written_number_that_is_not_one_is_a_value_error(key: str, value: object) -> None:
    data = TaskMetadata(id=new_task_id(), description="x").metadata_dict()
    data[key] = value
    with pytest.raises(ValueError, match=f"{key} is not a number"):
        TaskMetadata.from_parts(data, "x")


def test_hand_written_feedback_fields_read_as_text() -> None:
    entry = FeedbackEntry.from_dict(
        {"id": "f1", "feedback": "ok", "author": ["Ann", "Bob"], "claude_response_summary": 3}
    )
    assert entry.author == "['Ann', 'Bob']" and entry.claude_response_summary == "3"
    assert FeedbackEntry.from_dict({"feedback": "ok"}).author is None


def test_longer_short_ids_among_many_with_shared_prefixes() -> None:
    import random

    rng = random.Random(5)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(2000)]
    # ids that share 8, 9 or 12 digits with others, and one that is only its prefix
    ids += ["deadbeef" + "0" * 24, "deadbeef" + "1" * 24, "deadbeef1" + "2" * 23, "deadbeef"]
    ids += ["cafef00d0000" + "a" * 20, "cafef00d0000" + "b" * 20]
    rng.shuffle(ids)
    longer = longer_short_ids(ids)
    assert {i: longer.get(i, i[:8]) for i in ids} == short_ids(ids)
    assert longer["cafef00d0000" + "a" * 20] == "cafef00d0000a"
