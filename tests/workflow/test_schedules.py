"""Schedules: cron slots in a time zone, fired exactly once across clones.

The clock is injected (``now`` given to the tick; ``GITTASK_NOW`` for the CLI),
the remote is a real bare repository, the clones are real clones; a slot's run
goes through the real pipeline on the in-memory engine.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gittask.config import ConfigFile
from gittask.model import TaskStatus
from gittask.model.cron import latest_slot, slots_between, zone
from gittask.model.schedule import slot_task_id
from gittask.store.database import TaskDatabase
from gittask.workflow.database import open_database
from gittask.workflow.run import RunRequest, preflight, run_task
from gittask.workflow.schedules.records import ScheduleInput, create_schedule, find_schedule
from gittask.workflow.schedules.tick import TickReport, tick
from tests.conftest import Team, git, run_cli
from tests.memory_engine import MemoryContainer, MemoryEngine


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def local(instants: list[datetime], tz: str) -> list[str]:
    return [i.astimezone(zone(tz)).strftime("%m-%d %H:%M%z") for i in instants]


# -- the DST rules (README: "Schedules") -------------------------------------------------


def test_paris_skipped_hour_fires_once_at_the_first_valid_time() -> None:
    paris = zone("Europe/Paris")  # 2024-03-31: 02:00 CET -> 03:00 CEST
    night = (at("2024-03-30T20:00:00+00:00"), at("2024-04-01T06:00:00+00:00"))
    daily = slots_between("30 2 * * *", paris, *night)
    assert local(daily, "Europe/Paris") == [
        "03-31 03:00+0200",  # 02:30 does not exist that night: the first valid time
        "04-01 02:30+0200",
    ]
    halfhourly = slots_between("*/30 1-3 * * *", paris, *night)[:5]
    assert local(halfhourly, "Europe/Paris") == [
        "03-31 01:00+0100",
        "03-31 01:30+0100",
        "03-31 03:00+0200",  # 02:00 and 02:30 fire once, together, at 03:00
        "03-31 03:30+0200",
        "04-01 01:00+0200",
    ]


def test_paris_repeated_hour_fires_once() -> None:
    paris = zone("Europe/Paris")  # 2024-10-27: 03:00 CEST -> 02:00 CET
    night = (at("2024-10-26T20:00:00+00:00"), at("2024-10-27T04:00:00+00:00"))
    assert local(slots_between("30 2 * * *", paris, *night), "Europe/Paris") == [
        "10-27 02:30+0200"  # the first 02:30 only
    ]
    assert local(slots_between("0,30 2,3 * * *", paris, *night), "Europe/Paris") == [
        "10-27 02:00+0200",
        "10-27 02:30+0200",  # the repeated 02:00 and 02:30 (CET) fire nothing
        "10-27 03:00+0100",
        "10-27 03:30+0100",
    ]


def test_new_york_both_transitions() -> None:
    york = zone("America/New_York")
    spring = slots_between(  # 2024-03-10: 02:00 EST -> 03:00 EDT
        "30 2 * * *", york, at("2024-03-09T00:00:00+00:00"), at("2024-03-11T12:00:00+00:00")
    )
    assert local(spring, "America/New_York") == [
        "03-09 02:30-0500",
        "03-10 03:00-0400",
        "03-11 02:30-0400",
    ]
    fall = slots_between(  # 2024-11-03: 02:00 EDT -> 01:00 EST (01:00-02:00 twice)
        "*/20 1 * * *", york, at("2024-11-03T04:00:00+00:00"), at("2024-11-03T08:00:00+00:00")
    )
    assert local(fall, "America/New_York") == [
        "11-03 01:00-0400",
        "11-03 01:20-0400",
        "11-03 01:40-0400",
    ]
    assert latest_slot("*/20 1 * * *", york, at("2024-11-03T06:50:00+00:00")) == at(
        "2024-11-03T05:40:00+00:00"  # in the repeated hour, the last slot is the first pass's
    )


# -- the scheduler ----------------------------------------------------------------------


def configure(path: Path) -> Path:
    config = ConfigFile.open(path)
    for key, value in {"agent": "command", "agent_command": "work", "image": "agent:test"}.items():
        config.set(key, value)
    config.save()
    return path


def writes(c: MemoryContainer) -> int:
    (c.host("/workspace") / "report.txt").write_text("weekly report\n")
    return 0


def run_now(db: TaskDatabase, task_id: str, program: Callable[[MemoryContainer], int] = writes):
    engine = MemoryEngine(program)
    return run_task(db, RunRequest(task_id=task_id), preflight(db, engine=engine))


def schedule(db: TaskDatabase, now: datetime, cron: str, **given: str) -> str:
    made = create_schedule(db, ScheduleInput(name="Report", cron=cron, **given), now=now)
    return made.id


class Queue:
    """A starter that notes what to run; the test runs it (signals need the main thread)."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def starter(self, clone: str) -> Callable[[TaskDatabase, str], None]:
        def start(db: TaskDatabase, task_id: str) -> None:
            with self.lock:
                self.started.append((clone, task_id))

        return start


def test_three_clones_fire_each_of_50_slots_exactly_once(team: Team) -> None:
    names = ["a", "b", "c"]
    paths = {n: configure(team.clone(n)) for n in names}
    start = at("2024-05-06T09:00:00+00:00")
    first = open_database(paths["a"])
    sid = schedule(first, start - timedelta(minutes=1), "* * * * *", description="Report")
    dbs = {n: open_database(p) for n, p in paths.items()}
    queue = Queue()
    reports: list[TickReport] = []
    for minute in range(50):
        before = len(queue.started)
        now = start + timedelta(minutes=minute, seconds=10)
        gate = threading.Barrier(len(names))

        def one(name: str, now: datetime = now, gate: threading.Barrier = gate) -> None:
            mine = open_database(paths[name])  # sqlite: a connection per thread
            gate.wait()
            report = tick(mine, now, queue.starter(name))
            mine.index.close()
            with queue.lock:
                reports.append(report)

        threads = [threading.Thread(target=one, args=(n,)) for n in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        for clone, task_id in queue.started[before:]:  # the winner runs it
            result = run_now(dbs[clone], task_id)
            assert result.success, result.error
    fired = [e for r in reports for e in r.of("fired")]
    wanted = {slot_task_id(sid, start + timedelta(minutes=m)) for m in range(50)}
    assert len(fired) == 50 and {e["task"] for e in fired} == wanted
    assert len(queue.started) == 50 and {t for _, t in queue.started} == wanted
    assert all(not r.offline and not r.of("error") for r in reports)
    for path in paths.values():  # every clone ends up with the same 50 runs, one each
        run_cli(path, "task", "sync")
    for path in paths.values():
        runs = {t["id"]: t for t in json.loads(run_cli(path, "task", "list", "--json").stdout)}
        assert set(runs) == wanted
        assert {t["status"] for t in runs.values()} == {"created"}
    remote = TaskDatabase.open(paths["a"])
    assert all(remote.task(t).run_count == 1 for t in wanted)


def fired_slots(reports: list[TickReport]) -> list[str]:
    return [e["slot"] for r in reports for e in r.of("fired")]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("none", ["10:00", "14:00"]),
        ("latest", ["10:00", "13:00", "14:00"]),
    ],
)
def test_missed_slots_follow_the_catch_up_policy(
    team: Team, policy: str, expected: list[str]
) -> None:
    db = open_database(configure(team.clone("a")))
    queue = Queue()
    schedule(db, at("2024-05-06T09:30:00+00:00"), "0 * * * *", description="Hourly",
             catch_up=policy, deadline="10m")  # fmt: skip
    reports = []
    # 10:05 on time; offline from 10:06 to 13:29; back at 13:30, then 13:45 and 14:02
    for when in ("10:05", "13:30", "13:45", "14:02"):
        reports.append(tick(db, at(f"2024-05-06T{when}:00+00:00"), queue.starter("a")))
    assert [s[11:16] for s in fired_slots(reports)] == expected
    missed = [e["slot"][11:16] for r in reports for e in r.of("missed")]
    assert missed == (["13:00", "13:00"] if policy == "none" else [])


def test_an_offline_clone_never_fires_and_catches_up_by_the_policy(team: Team) -> None:
    a, b = configure(team.clone("a")), configure(team.clone("b"))
    db_a, db_b = open_database(a), open_database(b)
    queue = Queue()
    schedule(db_a, at("2024-05-06T09:30:00+00:00"), "0 * * * *", description="Hourly",
             catch_up="latest")  # fmt: skip
    git(b, "remote", "set-url", "origin", str(team.root / "nowhere.git"))
    offline = tick(db_b, at("2024-05-06T10:01:00+00:00"), queue.starter("b"))
    assert offline.offline and offline.events == []
    tick(db_a, at("2024-05-06T10:02:00+00:00"), queue.starter("a"))  # a fires 10:00
    git(b, "remote", "set-url", "origin", str(team.origin))
    back = tick(db_b, at("2024-05-06T12:20:00+00:00"), queue.starter("b"))
    assert [e["slot"][11:16] for e in back.of("fired")] == ["12:00"]  # the latest missed only
    assert [t for _, t in queue.started] == [
        slot_task_id(find_schedule(db_a, "Report").id, at(f"2024-05-06T{h}:00:00+00:00"))
        for h in ("10", "12")
    ]


def test_dst_nights_fire_as_documented(team: Team) -> None:
    db = open_database(configure(team.clone("a")))
    queue = Queue()
    paris = ScheduleInput("Paris", "30 2 * * *", tz="Europe/Paris", description="Paris")
    create_schedule(db, paris, now=at("2024-03-30T12:00:00+00:00"))
    york = ScheduleInput("York", "30 1 * * *", tz="America/New_York", description="York")
    create_schedule(db, york, now=at("2024-11-02T12:00:00+00:00"))
    reports = []
    for start in ("2024-03-30T23:00:00+00:00", "2024-11-03T03:00:00+00:00"):
        for step in range(0, 4 * 60, 20):  # every 20 minutes through the night
            now = at(start) + timedelta(minutes=step)
            reports.append(tick(db, now, queue.starter("a")))
    fired = {e["schedule"]: e["slot"] for r in reports for e in r.of("fired")}
    # Paris: 02:30 does not exist on 31 March: once, at 03:00 CEST (01:00 UTC)
    # New York: 01:30 happens twice on 3 November: once, at 01:30 EDT (05:30 UTC)
    assert fired == {"Paris": "2024-03-31T01:00:00Z", "York": "2024-11-03T05:30:00Z"}
    assert len(queue.started) == 2


def test_overlap_skip_holds_while_the_previous_run_runs(team: Team) -> None:
    path = configure(team.clone("a"))
    db = open_database(path)
    sid = schedule(db, at("2024-05-06T09:55:00+00:00"), "*/10 * * * *", description="Slow")
    queue = Queue()
    first = tick(db, at("2024-05-06T10:01:00+00:00"), queue.starter("a"))
    assert len(first.of("fired")) == 1
    ((_, task_id),) = queue.started
    release = threading.Event()
    seen: list[TickReport] = []

    def slow(c: MemoryContainer) -> int:
        (c.host("/workspace") / "slow.txt").write_text("slow\n")
        release.wait(60)
        return 0

    def meanwhile() -> None:  # while the first run runs, two more slots come due
        other = open_database(path)
        for _ in range(600):
            if other.task(task_id).status is TaskStatus.RUNNING:
                break
            threading.Event().wait(0.05)
        for when in ("10:11", "10:21"):
            seen.append(tick(other, at(f"2024-05-06T{when}:00+00:00"), queue.starter("a")))
        release.set()

    watcher = threading.Thread(target=meanwhile)
    watcher.start()
    assert run_now(db, task_id, slow).success
    watcher.join(60)
    assert [e["event"] for r in seen for e in r.events] == ["skipped", "skipped"]
    assert "still running" in seen[0].events[0]["reason"]
    # the run ended: a skipped slot stays skipped (10:21 is still within its deadline)
    again = tick(db, at("2024-05-06T10:25:00+00:00"), queue.starter("a"))
    assert again.events == []
    assert find_schedule(db, sid).skipped == "2024-05-06T10:20:00Z"
    later = tick(db, at("2024-05-06T10:31:00+00:00"), queue.starter("a"))
    assert [e["slot"] for e in later.of("fired")] == ["2024-05-06T10:30:00Z"]
