"""Live-run markers claimed by racing processes: one run per task, whatever the timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from gittask.runner import live
from gittask.store.repo import GitRepo
from tests.conftest import init_repo

# each contender waits for "go", claims the task, says how it went, and stays
# alive (a live run) until its stdin closes; "gittask" in its command line makes
# it look like this tool to the liveness check
CONTENDER = """
import os, sys
from gittask.errors import GittaskError
from gittask.runner import live
from gittask.store.repo import GitRepo
repo = GitRepo.discover(sys.argv[1])
sys.stdin.readline()
try:
    live.claim(repo, live.RunMarker(task_id=sys.argv[2], pid=os.getpid(), run=2))
    print("claimed", flush=True)
except GittaskError:
    print("refused", flush=True)
sys.stdin.read()
"""


def test_racing_processes_take_over_a_stale_marker_only_once(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    repo = GitRepo.discover(work)
    task_id = "e" * 32
    path = live.marker_path(repo, task_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"task_id": task_id, "pid": 2**22 + 11, "run": 1}))
    assert live.marker_for(repo, task_id).alive is False  # type: ignore[union-attr]

    for _round in range(3):
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CONTENDER, str(work), task_id],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        try:
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
            answers = [proc.stdout.readline().strip() for proc in procs if proc.stdout]
            assert sorted(answers) == ["claimed"] + ["refused"] * 5
            winner = procs[answers.index("claimed")]
            assert live.marker_for(repo, task_id).pid == winner.pid  # type: ignore[union-attr]
        finally:
            for proc in procs:
                proc.communicate(timeout=30)  # closes stdin: the contenders end
        # the winner died without releasing: its marker is stale for the next round
        assert live.marker_for(repo, task_id).alive is False  # type: ignore[union-attr]


def test_a_claim_waits_for_the_process_that_is_taking_the_task_over(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    repo = GitRepo.discover(work)
    task_id = "c" * 32
    path = live.marker_path(repo, task_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"task_id": task_id, "pid": 2**22 + 13, "run": 1}))
    # a process that looks like this tool, alive: it stands for the run taking over
    runner = subprocess.Popen(
        [sys.executable, "-c", "import sys  # gittask\nsys.stdin.read()"], stdin=subprocess.PIPE
    )
    contender = subprocess.Popen(
        [sys.executable, "-c", CONTENDER, str(work), task_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert contender.stdin is not None and contender.stdout is not None
    try:
        with live._task_lock(path):  # the other process is between its check and its write
            contender.stdin.write("go\n")
            contender.stdin.flush()
            time.sleep(0.5)  # room for a claim that does not wait (it must not)
            live.update(repo, live.RunMarker(task_id=task_id, pid=runner.pid, run=2))
        assert contender.stdout.readline().strip() == "refused"
        assert live.marker_for(repo, task_id).pid == runner.pid  # type: ignore[union-attr]
    finally:
        contender.communicate(timeout=30)
        runner.communicate(timeout=30)


def test_release_leaves_nothing_behind(tmp_path: Path) -> None:
    repo = GitRepo.discover(init_repo(tmp_path / "work"))
    marker = live.RunMarker(task_id="f" * 32, pid=os.getpid(), run=1)
    live.claim(repo, marker)
    live.release(repo, marker)
    assert list(live.marker_path(repo, marker.task_id).parent.iterdir()) == []
