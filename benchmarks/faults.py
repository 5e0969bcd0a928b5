"""Fault run: kill -9 at random moments of create, delete, sync and a run's harvest. Prints a table.

    python benchmarks/faults.py [--rounds 200] [--seed 1]

Two clones of one bare origin, as a team has them. Each round picks one
command, starts it in clone A, and kills it with SIGKILL at a random moment
within its usual duration (so some finish first: those are *acknowledged*).
Clone B publishes a task of its own before each sync, so a sync has work to
merge. Runs use the busybox stand-in agent (``tests/docker_image``) in a real
container, killed anywhere from the record to the push.

After every round:
- ``git fsck --no-dangling`` of clone A (and of the origin) reports nothing;
- ``task list --json`` answers, with exit 0;
- no acknowledged change is lost: every acknowledged create is listed (unless
  an acknowledged delete took it), no acknowledged delete is listed, an
  acknowledged run's task is ``created`` with its branch on the origin, and an
  acknowledged sync brought clone B's published tasks and put clone A's on
  the origin.
A killed command may or may not have taken effect: either is fine, as long
as the store is whole. ``doctor`` is run at the end and must find nothing it
cannot fix (a killed run leaves its container and worktree: those it removes).
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _common import ROOT, cli_command, command_env, git, print_table

sys.path.insert(0, str(ROOT))

from tests.run_support import SECRET, Project, build_image

#: seconds each command takes here (measured first, unkilled); the kill lands in [0, 1.3 x this]
USUAL: dict[str, float] = {}
WEIGHTS = {"create": 4, "delete": 2, "sync": 2, "run": 2}


@dataclass
class Books:
    """What the clone must show: acknowledged changes only."""

    present: set[str] = field(default_factory=set)  # acknowledged creates, not deleted
    deleted: set[str] = field(default_factory=set)  # acknowledged deletes
    ran: set[str] = field(default_factory=set)  # acknowledged runs
    from_b: set[str] = field(default_factory=set)  # published by clone B
    problems: list[str] = field(default_factory=list)


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**command_env(), "ANTHROPIC_API_KEY": SECRET, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*cli_command(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def start(cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = {**command_env(), "ANTHROPIC_API_KEY": SECRET, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [*cli_command(), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def kill_at(proc: subprocess.Popen[str], delay: float) -> tuple[bool, str]:
    """(acknowledged, stdout): finished with exit 0 before the kill, or killed."""
    try:
        out, _ = proc.communicate(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        return False, ""
    return proc.returncode == 0, out


def listed(cwd: Path) -> dict[str, dict[str, object]] | None:
    proc = cli(cwd, "task", "list", "--json")
    if proc.returncode != 0:
        return None
    return {row["id"]: row for row in json.loads(proc.stdout)}


def fsck_problems(repo: Path) -> list[str]:
    proc = subprocess.run(
        ["git", "fsck", "--no-dangling", "--no-progress"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [x for x in (proc.stdout + proc.stderr).splitlines() if x.strip()]
    if proc.returncode != 0 and not lines:
        lines = [f"git fsck exit {proc.returncode}"]
    return lines


def origin_task_ids(origin: Path) -> set[str]:
    names = git(origin, "ls-tree", "-r", "--name-only", "claude-tasks", "tasks/")
    return {n.split("/")[2] for n in names.splitlines() if n.count("/") >= 3}


def one_round(
    n: int,
    op: str,
    a: Path,
    b: Path,
    origin: Path,
    books: Books,
    rng: random.Random,
    kill: bool = True,
) -> bool:
    """Run one killed-or-not command; True when it was acknowledged."""
    if op == "delete":
        candidates = sorted(books.present - books.ran)
        if not candidates:
            op = "create"
    if op == "sync":
        made = cli(b, "task", "create", "--no-run", "-m", f"From clone B {n}")
        if made.returncode == 0 and cli(b, "task", "sync").returncode == 0:
            books.from_b.add(made.stdout.strip().splitlines()[-1])
    args = {
        "create": ("task", "create", "--no-run", "-m", f"Fault task {n}"),
        "delete": (
            "task",
            "delete",
            rng.choice(sorted(books.present - books.ran)) if op == "delete" else "",
            "--yes",
        ),
        "sync": ("task", "sync"),
        "run": ("task", "create", "-m", f"Run task {n}"),
    }[op]
    delay = rng.uniform(0, USUAL[op] * 1.3) if kill else 300.0
    acked, out = kill_at(start(a, *args), delay)
    if not acked:
        if op == "delete":  # it may have gone or not: either is whole
            books.present.discard(args[2])
        return False
    if op in ("create", "run"):
        task_id = out.strip().splitlines()[-1]
        books.present.add(task_id)
        if op == "run":
            books.ran.add(task_id)
    elif op == "delete":
        books.present.discard(args[2])
        books.deleted.add(args[2])
    return True


def check(n: int, op: str, acked: bool, a: Path, origin: Path, books: Books) -> None:
    for where, repo in (("clone", a), ("origin", origin)):
        for line in fsck_problems(repo)[:3]:
            books.problems.append(f"round {n} ({op}): fsck of the {where}: {line}")
    rows = listed(a)
    if rows is None:
        books.problems.append(f"round {n} ({op}): task list failed")
        return
    for lost in books.present - set(rows):
        books.problems.append(f"round {n} ({op}): acknowledged task {lost[:8]} is gone")
    for back in books.deleted & set(rows):
        books.problems.append(f"round {n} ({op}): deleted task {back[:8]} is back")
    for task_id in books.ran & set(rows):
        if rows[task_id]["status"] not in ("created", "continued"):
            books.problems.append(
                f"round {n}: acknowledged run {task_id[:8]} is {rows[task_id]['status']}"
            )
    if acked and op == "sync":
        missing = books.from_b - set(rows) - books.deleted
        if missing:
            books.problems.append(
                f"round {n}: sync acknowledged, clone B's {len(missing)} task(s) missing"
            )
        unpublished = books.present - origin_task_ids(origin)
        if unpublished:
            books.problems.append(
                f"round {n}: sync acknowledged, {len(unpublished)} task(s) not on origin"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    image = build_image()
    with tempfile.TemporaryDirectory(prefix="gittask-faults-") as tmp:
        project = Project(Path(tmp) / "p", image).setup()
        a, origin = project.work, project.origin
        b = Path(tmp) / "b"
        git(Path(tmp), "clone", "-q", str(origin), str(b))
        git(b, "config", "user.name", "Bee Dev")
        git(b, "config", "user.email", "bee@example.com")
        books = Books()
        done: Counter[str] = Counter()
        acknowledged: Counter[str] = Counter()
        for op in WEIGHTS:  # how long each takes on this machine now, not killed
            began = time.perf_counter()
            one_round(0, op, a, b, origin, books, rng, kill=False)
            USUAL[op] = time.perf_counter() - began
        start_time = time.perf_counter()
        ops, weights = zip(*WEIGHTS.items(), strict=True)
        for n in range(1, args.rounds + 1):
            op = rng.choices(ops, weights)[0]
            acked = one_round(n, op, a, b, origin, books, rng)
            done[op] += 1
            acknowledged[op] += acked
            check(n, op, acked, a, origin, books)
        doctor = cli(a, "doctor", "--json")
        report = json.loads(doctor.stdout) if doctor.stdout.strip() else {"derived": []}
        unfixed = [f for f in report["derived"] if f["done"] is None]
        books.problems += [f"doctor could not fix: {f['what']}: {f['problem']}" for f in unfixed]
        again = json.loads(cli(a, "doctor", "--json").stdout)["derived"]
        books.problems += [f"doctor found again: {f['what']}: {f['problem']}" for f in again]
        for container in project.containers():
            subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
        elapsed = time.perf_counter() - start_time

    rows = [
        (
            f"{op} (killed / finished first)",
            f"{done[op] - acknowledged[op]} / {acknowledged[op]} (takes {USUAL[op]:.2f} s)",
            "",
            "",
        )
        for op in WEIGHTS
    ]
    rows += [
        ("rounds", str(args.rounds), "200", "yes" if args.rounds >= 200 else "short"),
        (
            "rounds with a problem (fsck, lost change, list)",
            str(len({p.split(":")[0] for p in books.problems})),
            "0",
            "yes" if not books.problems else "NO",
        ),
        ("doctor repairs at the end", str(len(report["derived"])), "", ""),
        ("wall time", f"{elapsed:.0f} s", "", ""),
    ]
    print_table(f"kill -9 at random moments (seed {args.seed})", rows)
    for problem in books.problems[:20]:
        print("  " + problem)
    if books.problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
