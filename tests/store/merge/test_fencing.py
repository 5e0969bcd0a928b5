"""A worker's lease fences out late writes in a merge (gittask/store/merge/fencing.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gittask.model import TaskStatus
from tests.conftest import init_repo
from tests.store.test_merge import T0, Lab, based, new_task, setter

EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_late_result_under_an_old_lease_loses_to_the_new_owner(tmp_path: Path) -> None:
    lab = Lab(init_repo(tmp_path / "lab"))
    task = new_task("Leased", status=TaskStatus.RUNNING, worker="w1", lease=5, run_count=1)
    based(lab, task)
    # b: worker w2 took the task over (lease 6) ...
    lab.at(T0 + 10, "b").update(
        task.id, setter(status=TaskStatus.QUEUED, worker="w2", lease=6, lease_expires=EXPIRES)
    )
    # ... a: then w1, cut off meanwhile, records its result (a later commit)
    lab.at(T0 + 20, "a").update(
        task.id,
        setter(status=TaskStatus.CREATED, commit_hash="c" * 40, commits=["c" * 40], cost_usd=1.5),
    )
    lab.at(T0 + 30, "a").update(task.id, setter(stop_requested="lease 6 by X at then"))

    merged = lab.task(lab.merge("a", "b"), task.id)  # the same tree both ways

    assert (merged.status, merged.worker, merged.lease) == (TaskStatus.QUEUED, "w2", 6)
    assert merged.lease_expires == EXPIRES
    assert merged.commit_hash is None and merged.commits == []
    assert merged.cost_usd == 1.5  # what the late run cost still counts
    assert merged.stop_requested == "lease 6 by X at then"  # not a run's field


def test_the_same_lease_on_both_sides_merges_as_usual(tmp_path: Path) -> None:
    lab = Lab(init_repo(tmp_path / "lab"))
    task = new_task("Renewed", status=TaskStatus.RUNNING, worker="w1", lease=2)
    based(lab, task)
    lab.at(T0 + 10, "a").update(task.id, setter(lease_expires=EXPIRES))  # the worker renews
    lab.at(T0 + 20, "b").update(task.id, setter(status=TaskStatus.CREATED))  # its run ends

    merged = lab.task(lab.merge("a", "b"), task.id)

    assert (merged.status, merged.lease_expires, merged.lease) == (TaskStatus.CREATED, EXPIRES, 2)
