"""Workers: the cost of running a task through the queue, and what more workers buy. Prints tables.

    python benchmarks/workers.py [--runs 10] [--tasks 30]

Everything is real: a bare ``origin.git`` and clones of it, ``claude-container``
processes, the Docker engine, the busybox stand-in agent with git
(tests/docker_image, tests/run_support.build_git_image).

1. **Worker overhead per task**: one ``worker --once`` runs ``--runs`` queued
   tasks one after the other; a task's time is from the previous task's end
   (or the worker's start) to its own end, so it holds the claim (a
   compare-and-swap push), the run's process, the leased claim and result
   pushes, and settling. Against the median of as many plain local runs
   (``task create -m``, which also starts a process and publishes its result).
   Target: the difference of the medians is at most 2 s.
2. **The workspace as a bundle** (remote engines) against a bind mount, on the
   same local engine (``config set workspace bundle|bind``): median local run
   for the tiny test repository and for this project's own repository (its
   whole history goes into each run's bundle).
3. **Throughput**: ``--tasks`` trivial queued tasks, one worker against three
   (one clone each); the ratio of the wall times.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import ROOT, print_table

from tests.run_support import DEFAULT_BRANCH, build_git_image, build_image, git
from tests.worker_support import Fleet

TARGET_OVERHEAD = 2.0


def fleet(root: Path, image: str, source: Path | None = None) -> Fleet:
    made = Fleet.create(root, image)
    made.env = {"GITTASK_WORKER_POLL_SECONDS": "1"}
    if source is not None:  # another project's history as the task repository
        work = made.project.work
        git(work, "fetch", "-q", str(source), f"HEAD:refs/heads/{DEFAULT_BRANCH}-big")
        git(work, "checkout", "-q", f"{DEFAULT_BRANCH}-big")
        git(work, "checkout", "-q", DEFAULT_BRANCH)
        both = ["--allow-unrelated-histories", "-X", "theirs", "-m", "big"]
        git(work, "merge", "-q", *both, f"{DEFAULT_BRANCH}-big")
        git(work, "push", "-q", "origin", DEFAULT_BRANCH)
    return made


def local_runs(made: Fleet, runs: int, label: str) -> list[float]:
    samples = []
    for number in range(runs):
        start = time.perf_counter()
        done = made.cli(made.project.work, "task", "create", "-m", f"{label} {number}")
        samples.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"a local run failed: {done.stderr[-2000:]}")
    return samples


def worker_runs(made: Fleet, where: Path, name: str) -> tuple[list[float], float]:
    """Per-task times of one ``worker --once`` (from its stderr, stamped as it comes)."""
    started = time.perf_counter()
    proc = made.worker(where, "--once", "--name", name)
    assert proc.stderr is not None
    ends = [started]
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if ": done, run" in line or ": failed" in line or "no changes" in line:
            ends.append(time.perf_counter())
    proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"the worker failed: {''.join(lines)[-2000:]}")
    return [b - a for a, b in itertools.pairwise(ends)], time.perf_counter() - started


def throughput(made: Fleet, workers: int, tasks: int) -> float:
    made.queue(made.project.work, [f"Throughput task {n}" for n in range(tasks)])
    clones = [made.clone(f"t{workers}-{n}") for n in range(workers)]
    start = time.perf_counter()
    threads = [
        threading.Thread(target=worker_runs, args=(made, c, c.name)) for c in clones
    ]  # each reads its own worker's output
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=30)
    args = parser.parse_args()
    image = build_git_image(build_image())
    assert image is not None, "no git for the test image"
    home = Path(tempfile.mkdtemp(prefix="gittask-bench-home-"))
    os.environ["HOME"] = str(home)  # no user settings; the CLI gets the same
    root = Path(tempfile.mkdtemp(prefix="gittask-bench-workers-"))
    try:
        made = fleet(root / "overhead", image)
        local = local_runs(made, args.runs, "Local run")
        made.queue(made.project.work, [f"Queued run {n}" for n in range(args.runs)])
        queued, _ = worker_runs(made, made.clone("w"), "w")
        overhead = statistics.median(queued) - statistics.median(local)
        print_table(
            f"worker overhead per task (median of {args.runs}, bind mount)",
            [
                ("local run (task create -m)", f"{statistics.median(local):.2f} s", "", ""),
                ("through a worker", f"{statistics.median(queued):.2f} s", "", ""),
                (
                    "overhead",
                    f"{overhead:.2f} s",
                    f"<= {TARGET_OVERHEAD:.1f} s",
                    "yes" if overhead <= TARGET_OVERHEAD else "NO",
                ),
            ],
        )
        rows = []
        for label, source in (("tiny repository", None), ("this project's repository", ROOT)):
            medians = {}
            for mode in ("bind", "bundle"):
                one = fleet(root / f"{mode}-{label[:4]}", image, source)
                one.project.configure(workspace=mode)
                medians[mode] = statistics.median(local_runs(one, args.runs, f"{mode} run"))
                shutil.rmtree(one.project.root, ignore_errors=True)
            size = _repo_size(source)
            rows.append((f"{label} ({size}): bind mount", f"{medians['bind']:.2f} s", "", ""))
            cost = medians["bundle"] - medians["bind"]
            rows.append((f"{label}: bundle in and out", f"{medians['bundle']:.2f} s", "", ""))
            rows.append((f"{label}: bundle costs", f"{cost:+.2f} s", "", ""))
        print_table(f"a run's workspace: bind mount or bundle (median of {args.runs})", rows)
        one = throughput(fleet(root / "one", image), 1, args.tasks)
        three = throughput(fleet(root / "three", image), 3, args.tasks)
        print_table(
            f"throughput: {args.tasks} trivial queued tasks ({os.cpu_count()} CPUs)",
            [
                ("1 worker", f"{one:.1f} s", "", ""),
                ("3 workers", f"{three:.1f} s", "", ""),
                ("speed-up (1 worker / 3 workers)", f"{one / three:.2f}x", "", ""),
            ],
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


def _repo_size(source: Path | None) -> str:
    if source is None:
        return "2 commits"
    count = git(source, "rev-list", "--count", "HEAD")
    packed = subprocess.run(
        ["git", "count-objects", "-vH"], cwd=source, capture_output=True, text=True, check=True
    ).stdout
    size = next((x.split(":", 1)[1].strip() for x in packed.splitlines() if "size-pack" in x), "?")
    return f"{count} commits, {size} packed"


if __name__ == "__main__":
    sys.exit(main())
