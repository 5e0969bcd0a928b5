"""Whole-process timings at 1k, 10k and 100k tasks (issue 14). Prints a table per size.

    python benchmarks/scale.py [--sizes 1000,10000,100000] [--runs 5] [--fresh]

Each store is built in the real layout with ``git fast-import``
(:mod:`_dataset`) and cached under ``$XDG_CACHE_HOME/gittask-bench`` (a copy
is timed, so the cache stays clean). Every row runs ``claude-container`` as a
whole process; a cell is the median of ``--runs`` runs: CPU time (user +
system of the process and the children it waited for), wall time, and the
largest peak RSS seen (from ``wait4``). Targets are judged on CPU medians, as
the issue's figures are, except the index rebuild, which may use both cores
and is judged on wall time.

    --sizes 1000   a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _common import ROOT, cli_command, command_env
from _dataset import COMMON_WORD, RARE_WORD, build_store, tasks


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gittask-bench"


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float


@dataclass
class Row:
    label: str
    samples: list[Sample] = field(default_factory=list)
    target: str = ""
    ok: bool | None = None

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def rss(self) -> float:
        return max(s.rss_mb for s in self.samples)


def run_timed(argv: list[str], cwd: Path, check: bool = True) -> Sample:
    """Run one command as a whole process; its own CPU time and peak memory."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=bench_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {err.decode(errors='replace')}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def bench_env() -> dict[str, str]:
    env = command_env()
    # the package under test is this checkout's, also when an editable install points elsewhere
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.pop("GITTASK_DEBUG", None)
    return env


def cached_store(size: int, fresh: bool) -> Path:
    from _dataset import __file__ as dataset_file

    key = hashlib.sha1(Path(dataset_file).read_bytes()).hexdigest()[:10]
    path = cache_dir() / f"{size}-{key}"
    if fresh and path.exists():
        shutil.rmtree(path)
    if not path.exists():
        start = time.perf_counter()
        partial = cache_dir() / f".{size}-{key}.{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        build_store(partial, size)
        partial.rename(path)
        print(f"built a store of {size} tasks in {time.perf_counter() - start:.1f} s", flush=True)
    return path


def folder_bytes(path: Path) -> int:
    """Disk use as du counts it (allocated blocks)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
        total += 4096
    return total


def measure(size: int, runs: int, fresh: bool, work: Path) -> tuple[list[Row], dict[str, float]]:
    repo = work / f"store-{size}"
    shutil.copytree(cached_store(size, fresh), repo, symlinks=True)
    cli = cli_command()
    # only the ids are kept: a forked child's peak RSS starts at this process's size
    ids: list[str] = []
    open_ids: list[str] = []  # tasks that may take feedback and be queued
    for task in tasks(size):
        ids.append(task.id)
        if task.status in ("pending", "created", "failed"):
            open_ids.append(task.id)
    rows: list[Row] = []

    def row(label: str, make: Callable[[int], list[str]], count: int = runs) -> Row:
        item = Row(label)
        for i in range(count):
            item.samples.append(run_timed([*cli, *make(i)], repo))
        rows.append(item)
        return item

    first = row("first `task list` (index rebuild + working copy)", lambda i: ["task", "list"], 1)
    (repo / ".git" / "claude-tasks" / "index.sqlite").unlink()
    rebuild = row("index rebuild (`task list`, no index)", lambda i: ["task", "list"], 1)
    row("`--help`", lambda i: ["--help"])
    row("`task list`", lambda i: ["task", "list"])
    row("`task list --json`", lambda i: ["task", "list", "--json"])
    row("`task list --status failed`", lambda i: ["task", "list", "--status", "failed"])
    row(f"`task search` (common word: {COMMON_WORD})", lambda i: ["task", "search", COMMON_WORD])
    row(f"`task search` (rare word: {RARE_WORD})", lambda i: ["task", "search", RARE_WORD])
    row("`task show`", lambda i: ["task", "show", ids[size // 2 + i][:8]])
    row("`task history --limit 20`", lambda i: ["task", "history", "--limit", "20"])
    row(
        "`task create --no-run`",
        lambda i: ["task", "create", "--no-run", "-m", f"bench task {i}: tune the {COMMON_WORD}"],
    )
    row("`task delete --yes`", lambda i: ["task", "delete", "--yes", ids[i]])
    row(
        "`task continue --queue` (feedback)",
        lambda i: [
            "task",
            "continue",
            open_ids[-1 - i],
            "-m",
            f"also tune the {COMMON_WORD}",
            "--queue",
        ],
    )
    row("`task list` after the writes", lambda i: ["task", "list"])
    workcopy = folder_bytes(repo / ".claude-container" / "tasks")
    index = folder_bytes(repo / ".git" / "claude-tasks")
    extra = {
        "workcopy_kb_per_task": workcopy / 1024 / size,
        "workcopy_mb": workcopy / 2**20,
        "index_mb": index / 2**20,
        "rebuild_wall": rebuild.wall,
        "first_wall": first.wall,
    }
    shutil.rmtree(repo, ignore_errors=True)
    return rows, extra


def judge(size: int, rows: list[Row], extra: dict[str, float], small: dict[str, float]) -> None:
    """Fill in each row's target from issue 14 (CPU medians; the rebuild by wall)."""
    for item in rows:
        label = item.label
        if label == "`--help`":
            item.target, item.ok = "<= 90 ms", item.cpu <= 0.09
        elif label == "`task list`":
            if size >= 100_000:
                item.target, item.ok = "<= 450 ms, 120 MB", item.cpu <= 0.45 and item.rss <= 120
            elif size >= 10_000:
                item.target, item.ok = "<= 120 ms", item.cpu <= 0.12
        elif label.startswith("`task show`"):
            item.target, item.ok = "<= 120 ms", item.cpu <= 0.12
        elif label.startswith("`task history"):
            if size >= 100_000:
                item.target, item.ok = "<= 150 ms", item.cpu <= 0.15
        elif label.startswith(("`task create", "`task delete", "`task continue")):
            if size >= 100_000 and label in small:
                limit = 1.3 * small[label]
                item.target, item.ok = f"<= 1.3x 1k ({limit * 1000:.0f} ms)", item.cpu <= limit
            elif size >= 10_000:
                item.target, item.ok = "<= 150 ms", item.cpu <= 0.15
        elif label.startswith("index rebuild"):
            if size >= 100_000:
                item.target = "<= 30 s wall, 300 MB"
                item.ok = item.wall <= 30 and item.rss <= 300
            elif size >= 10_000:
                item.target, item.ok = "<= 3 s wall", item.wall <= 3


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def print_size(size: int, rows: list[Row], extra: dict[str, float]) -> None:
    headers = ("command", "cpu", "wall", "peak RSS", "target", "ok")
    lines = [
        (
            r.label,
            ms(r.cpu),
            ms(r.wall),
            f"{r.rss:.0f} MB",
            r.target,
            "" if r.ok is None else ("yes" if r.ok else "NO"),
        )
        for r in rows
    ]
    kb = extra["workcopy_kb_per_task"]
    lines.append(
        (
            "working copy on disk",
            f"{kb:.2f} KB/task",
            f"{extra['workcopy_mb']:.1f} MB",
            f"index {extra['index_mb']:.1f} MB",
            "<= 3 KB/task",
            "yes" if kb <= 3 else "NO",
        )
    )
    widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    print(f"\n{size:,} tasks (median of runs; CPU = user + system)")
    print(fmt.format(*headers))
    print(fmt.format(*("-" * w for w in widths)))
    for line in lines:
        print(fmt.format(*line).rstrip())
    sys.stdout.flush()


def print_summary(results: dict[int, list[Row]]) -> None:
    sizes = sorted(results)
    labels = [r.label for r in results[sizes[0]]]
    headers = ("command (CPU median)", *(f"{s:,}" for s in sizes))
    lines = []
    for label in labels:
        cells = []
        for size in sizes:
            item = next(r for r in results[size] if r.label == label)
            cell = ms(item.wall if label.startswith(("index", "first")) else item.cpu)
            if size == sizes[-1] and size >= 10_000:
                cell += f", {item.rss:.0f} MB"
            cells.append(cell)
        lines.append((label, *cells))
    widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    print("\nsummary (the rebuild rows are wall time)")
    print(fmt.format(*headers))
    print(fmt.format(*("-" * w for w in widths)))
    for line in lines:
        print(fmt.format(*line).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached stores")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results: dict[int, list[Row]] = {}
    small: dict[str, float] = {}
    failed = 0
    with tempfile.TemporaryDirectory(prefix="gittask-scale-") as tmp:
        for size in sizes:
            rows, extra = measure(size, args.runs, args.fresh, Path(tmp))
            if not small:
                small = {r.label: r.cpu for r in rows}
            judge(size, rows, extra, small)
            print_size(size, rows, extra)
            failed += sum(1 for r in rows if r.ok is False) + (extra["workcopy_kb_per_task"] > 3)
            results[size] = rows
    print_summary(results)
    print(f"\n{failed} target(s) missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
