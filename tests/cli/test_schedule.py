"""``task schedule create/list/pause`` and ``claude-container scheduler --once`` as a
user runs them: the CLI as a subprocess, the clock set with ``$GITTASK_NOW``.

The scheduler's rules (DST, exactly once across clones, catch-up, overlap) are
tested in tests/workflow/test_schedules.py; here the commands themselves, and one slot
fired by ``scheduler --once`` whose run goes to the background on the real
Docker engine and finishes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, Team, run_cli
from tests.run_support import Project, build_image, docker_available


def at(when: str) -> dict[str, str]:
    return {"GITTASK_NOW": when}


MONDAY_8 = at("2024-05-06T08:00:00Z")  # a Monday; 10:00 in Paris (CEST)


def ok(result: CliResult) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def listed(cwd: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(ok(run_cli(cwd, "task", "schedule", "list", "--json", env=MONDAY_8)))
    return {s["name"]: s for s in data}


def test_schedule_create_and_list(team: Team) -> None:
    alice, bob = team.clone("alice"), team.clone("bob")
    assert "no schedules" in run_cli(alice, "task", "schedule", "list").stderr
    made = run_cli(
        alice, "task", "schedule", "create", "weekly", "--cron", "0 9 * * 1",
        "--tz", "Europe/Paris", "-m", "Weekly report", env=MONDAY_8,
    )  # fmt: skip
    weekly = ok(made).strip()
    assert f"stored schedule weekly ({weekly[:8]}); next: 2024-05-13 09:00 CEST" in made.stderr
    # `task schedule NAME --cron ...` is create; the description defaults to the name
    nightly = ok(
        run_cli(alice, "task", "schedule", "nightly", "--cron", "30  2 * * *", env=MONDAY_8)
    )

    found = listed(alice)
    assert set(found) == {"weekly", "nightly"}
    assert found["weekly"]["id"] == weekly and found["nightly"]["id"] == nightly.strip()
    assert found["weekly"]["next"] == [  # 09:00 in Paris is 07:00Z in summer
        "2024-05-13T07:00:00Z",
        "2024-05-20T07:00:00Z",
        "2024-05-27T07:00:00Z",
    ]
    assert found["nightly"]["cron"] == "30 2 * * *" and found["nightly"]["tz"] == "UTC"
    assert found["nightly"]["description"] == "nightly\n"
    assert found["weekly"]["description"] == "Weekly report\n"
    assert (found["weekly"]["overlap"], found["weekly"]["catch_up"]) == ("skip", "none")
    table = ok(run_cli(alice, "task", "schedule", "list", env=MONDAY_8)).splitlines()
    assert table[0].split() == ["ID", "NAME", "CRON", "TZ", "NEXT", "TASK"]
    rows = {line.split()[1]: line for line in table[1:]}
    assert rows["weekly"].startswith(weekly[:8])
    assert "Europe/Paris" in rows["weekly"] and "2024-05-13 09:00 CEST" in rows["weekly"]
    assert "2024-05-07 02:30 UTC" in rows["nightly"]

    # bad input: one error line, exit 2, nothing stored
    for args, said in (
        (["bad", "--cron", "61 * * * *"], "bad cron expression '61 * * * *'"),
        (["bad", "--cron", "* * *"], "five fields"),
        (["bad", "--cron", "0 9 * * *", "--tz", "Mars/Olympus"], "unknown time zone"),
        (["bad/name", "--cron", "0 9 * * *"], "bad schedule name"),
        (["weekly", "--cron", "0 9 * * *"], "weekly"),  # the name is taken
    ):
        refused = run_cli(alice, "task", "schedule", "create", *args, env=MONDAY_8)
        assert refused.returncode == 2, (args, refused.stderr)
        assert "Traceback" not in refused.stderr and said in refused.stderr
    assert set(listed(alice)) == {"weekly", "nightly"}

    # the schedules travel with git: bob sees them, pauses one, alice sees that
    ok(run_cli(bob, "task", "sync"))
    assert listed(bob) == found
    ok(run_cli(bob, "task", "schedule", "pause", "nightly"))
    ok(run_cli(alice, "task", "sync"))
    assert listed(alice)["nightly"]["paused"] is True and listed(alice)["nightly"]["next"] == []
    paused = ok(run_cli(alice, "task", "schedule", "list", env=MONDAY_8))
    assert "  paused  " in next(line for line in paused.splitlines() if " nightly " in line)


@pytest.mark.skipif(not docker_available(), reason="no Docker engine")
def test_scheduler_once_fires_a_due_slot_once_and_its_run_finishes(tmp_path: Path) -> None:
    project = Project(tmp_path / "p", build_image()).setup()
    ok(project.cli("task", "schedule", "hourly", "--cron", "0 * * * *", "-m", "Hourly notes",
                   env=at("2024-05-06T08:30:00Z")))  # fmt: skip
    nothing_due = project.cli("scheduler", "--once", "--json", env=at("2024-05-06T08:59:00Z"))
    assert json.loads(ok(nothing_due))["events"] == []

    first = json.loads(ok(project.cli("scheduler", "--once", "--json",
                                      env=at("2024-05-06T09:00:20Z"))))  # fmt: skip
    assert first["offline"] is None
    assert [e["event"] for e in first["events"]] == ["fired"]
    fired = first["events"][0]
    assert (fired["schedule"], fired["slot"]) == ("hourly", "2024-05-06T09:00:00Z")
    task_id = fired["task"]
    # the slot fires once: a second pass (text output) has nothing to do
    again = project.cli("scheduler", "--once", env=at("2024-05-06T09:01:00Z"))
    assert ok(again) == "" and "fired" not in again.stderr

    # the run went to the background (scheduler --once returned once it ran)
    follow = project.cli("task", "logs", task_id, "--follow", timeout=120)
    assert follow.returncode == 0, follow.stderr
    task = project.show(task_id)
    assert task["status"] == "created" and task["run_count"] == 1
    assert task["description"] == "Hourly notes\n"
    assert project.remote_branch(task["branch_name"]) == task["commit_hash"]
    tasks = json.loads(ok(project.cli("task", "list", "--json")))
    assert [t["id"] for t in tasks] == [task_id]  # one slot, one task
    assert project.containers() == [] and project.leftovers() == []
