"""claude-container against Taskwarrior on the same tasks (issue 14). Prints one table.

    python benchmarks/compare.py [--size 10000] [--runs 5] [--no-install]

Finds ``task`` (Taskwarrior; installs Debian's ``taskwarrior`` with apt-get
when missing and allowed), loads the same tasks into both (ours: the
benchmark store of :mod:`scale`; Taskwarrior: ``task import`` of the same
records as JSON, in its own TASKRC/TASKDATA under a temporary folder), then
times each pair as whole processes: the median CPU time (user + system) of
``--runs`` runs, the wall median, and the ratio ours / theirs (below 1.0: we
are faster). Status mapping: merged -> completed, closed -> deleted, every
other status -> pending; so Taskwarrior's ``list`` shows 3/4 of the tasks
where ours shows all of them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from _common import cli_command
from _dataset import COMMON_WORD, RARE_WORD, taskwarrior_json
from scale import Sample, bench_env, cached_store, run_timed

PAIRS = (
    ("list", ["task", "list"], ["list"]),
    ("list --json / export", ["task", "list", "--json"], ["export"]),
    ("status filter (merged / completed)", ["task", "list", "--status", "merged"], ["completed"]),
    (f"rare-word search ({RARE_WORD})", ["task", "search", RARE_WORD], ["all", RARE_WORD]),
    (f"common-word search ({COMMON_WORD})", ["task", "search", COMMON_WORD], ["all", COMMON_WORD]),
    ("one create --no-run / add", None, None),
)


def find_taskwarrior(install: bool) -> str:
    found = shutil.which("task")
    if found is None and install:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        cmd = ["apt-get", "install", "-y", "-q", "taskwarrior"]
        if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            subprocess.run(cmd, env=env, capture_output=True)
        found = shutil.which("task")
    if found is None:
        raise SystemExit("Taskwarrior ('task') is not installed: apt-get install taskwarrior")
    return found


def taskwarrior_env(home: Path) -> dict[str, str]:
    data = home / "data"
    data.mkdir(parents=True, exist_ok=True)
    rc = home / "taskrc"
    rc.write_text(
        f"data.location={data}\nconfirmation=off\nverbose=nothing\nhooks=off\n"
        "news.version=2.6.0\ncolor=off\n"
    )
    return {**os.environ, "TASKRC": str(rc), "TASKDATA": str(data)}


def load_taskwarrior(exe: str, home: Path, size: int) -> dict[str, str]:
    env = taskwarrior_env(home)
    records = home / "tasks.json"
    records.write_text(taskwarrior_json(size))
    subprocess.run([exe, "import", str(records)], env=env, check=True, capture_output=True)
    return env


def run_taskwarrior(argv: list[str], env: dict[str, str], cwd: Path) -> Sample:
    import time

    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1: nothing matched
        raise RuntimeError(f"{' '.join(argv)} failed")
    return Sample(time.perf_counter() - start, usage.ru_utime + usage.ru_stime, 0.0)


def count_lines(argv: list[str], cwd: Path, env: dict[str, str]) -> int:
    out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True).stdout
    return len(out.splitlines())


def median(samples: list[Sample], attr: str) -> float:
    import statistics

    return statistics.median(getattr(s, attr) for s in samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-install", action="store_true", help="never run apt-get")
    args = parser.parse_args(argv)
    exe = find_taskwarrior(not args.no_install)
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    cli = cli_command()
    rows = []
    with tempfile.TemporaryDirectory(prefix="gittask-compare-") as tmp:
        repo = Path(tmp) / "ours"
        shutil.copytree(cached_store(args.size, False), repo, symlinks=True)
        run_timed([*cli, "task", "list"], repo)  # the first list builds the index
        tw_env = load_taskwarrior(exe, Path(tmp) / "taskwarrior", args.size)
        ours_env = bench_env()
        for label, ours_argv, theirs_argv in PAIRS:
            ours: list[Sample] = []
            theirs: list[Sample] = []
            make_ours: Callable[[int], list[str]]
            make_theirs: Callable[[int], list[str]]
            if ours_argv is None:

                def make_ours(i: int) -> list[str]:
                    return ["task", "create", "--no-run", "-m", f"compare {i}: the {COMMON_WORD}"]

                def make_theirs(i: int) -> list[str]:
                    return ["add", f"compare {i}: the {COMMON_WORD}"]

                counts = ("1", "1")
            else:
                fixed_ours, fixed_theirs = ours_argv, theirs_argv or []

                def make_ours(i: int, a: list[str] = fixed_ours) -> list[str]:
                    return a

                def make_theirs(i: int, a: list[str] = fixed_theirs) -> list[str]:
                    return a

                counts = (
                    str(count_lines([*cli, *fixed_ours], repo, ours_env)),
                    str(count_lines([exe, *fixed_theirs], repo, tw_env)),
                )
            for i in range(args.runs):  # interleaved, so machine noise hits both alike
                ours.append(run_timed([*cli, *make_ours(i)], repo))
                theirs.append(run_taskwarrior([exe, *make_theirs(i)], tw_env, repo))
            rows.append((label, ours, theirs, counts))
    print(f"\n{args.size:,} tasks: claude-container vs {version} (median of {args.runs})")
    headers = ("pair", "ours cpu", "theirs cpu", "ratio", "ours wall", "theirs wall", "lines out")
    lines = []
    slower = 0
    for label, ours, theirs, counts in rows:
        ratio = median(ours, "cpu") / max(median(theirs, "cpu"), 1e-6)
        slower += ratio >= 1.0
        lines.append(
            (
                label,
                f"{median(ours, 'cpu') * 1000:.0f} ms",
                f"{median(theirs, 'cpu') * 1000:.0f} ms",
                f"{ratio:.2f}x",
                f"{median(ours, 'wall') * 1000:.0f} ms",
                f"{median(theirs, 'wall') * 1000:.0f} ms",
                f"{counts[0]} / {counts[1]}",
            )
        )
    widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    print(fmt.format(*headers))
    print(fmt.format(*("-" * w for w in widths)))
    for line in lines:
        print(fmt.format(*line).rstrip())
    print(f"\n{slower} pair(s) at or above 1.0x (target: none)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
