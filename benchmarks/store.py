"""Task-database benchmarks (issue: task database). Prints a table.

    python benchmarks/store.py [--tasks 10000] [--runs 15]

Measures, on one repository seeded with --tasks tasks:
  - `claude-container task list` as a whole process, index warm (median)
  - `claude-container --help` as a whole process (median)
  - one store update in-process, at 100 tasks and at --tasks tasks (median)
  - index rebuild from nothing
  - 8 processes each running 50 `task create --no-run` at once
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import cli_command, command_env, git, make_repo, median_seconds, print_table, run_quiet

from gittask.model import FeedbackEntry, TaskMetadata, TaskStatus
from gittask.model.task import new_task_id
from gittask.store import layout
from gittask.store.database import TaskDatabase
from gittask.store.repo import GitRepo
from gittask.store.taskfiles import task_files
from gittask.store.taskstore import TaskStore
from gittask.store.trees import write_folder


def seed(repo_path: Path, count: int) -> None:
    """Write `count` realistic tasks in one commit (fast set-up, same layout)."""
    import pygit2

    repo = GitRepo.discover(repo_path)
    git_repo = repo.pygit
    fans: dict[str, dict[str, pygit2.Oid]] = {}
    # tasks at rest: a `running` task makes `list` ask Docker about its container
    statuses = [s for s in TaskStatus if s is not TaskStatus.RUNNING]
    for i in range(count):
        task = TaskMetadata(
            id=new_task_id(),
            description=f"Task number {i}\n\nMake the widget {i} faster and add tests.\n",
            status=statuses[i % len(statuses)],
            branch_name=f"claude/task-{i}",
            base_branch="main",
        )
        if i % 3 == 0:
            task.feedback_history.append(FeedbackEntry(feedback=f"please also handle case {i}"))
        fans.setdefault(layout.fan(task.id), {})[task.id] = write_folder(
            git_repo, None, task_files(task)
        )
    tasks_builder = git_repo.TreeBuilder()
    for fan, entries in fans.items():
        fan_builder = git_repo.TreeBuilder()
        for task_id, oid in entries.items():
            fan_builder.insert(task_id, oid, pygit2.GIT_FILEMODE_TREE)
        tasks_builder.insert(fan, fan_builder.write(), pygit2.GIT_FILEMODE_TREE)
    root = git_repo.TreeBuilder()
    root.insert(layout.TASKS_DIR, tasks_builder.write(), pygit2.GIT_FILEMODE_TREE)
    sig = repo.signature()
    commit = git_repo.create_commit(None, sig, sig, "seed", root.write(), [])
    git_repo.create_reference_direct(layout.DATA_REF, commit, True)


def update_cost(repo_path: Path, runs: int) -> float:
    store = TaskStore(GitRepo.discover(repo_path))
    ids = list(store.ids())[:runs]
    samples = iter(ids)

    def one() -> None:
        store.add_feedback(next(samples), FeedbackEntry(feedback="bench"))

    return median_seconds(one, len(ids))


def concurrent_creates(repo_path: Path, procs: int, each: int) -> tuple[int, int, int, float]:
    cmd = cli_command()

    def worker(n: int) -> int:
        errors = 0
        for i in range(each):
            result = subprocess.run(
                [*cmd, "task", "create", "--no-run", "-m", f"worker {n} task {i}"],
                cwd=repo_path,
                capture_output=True,
                text=True,
                env=command_env(),
            )
            errors += result.returncode != 0
        return errors

    start = time.perf_counter()
    with ThreadPoolExecutor(procs) as pool:
        errors = sum(pool.map(worker, range(procs)))
    elapsed = time.perf_counter() - start
    stored = len(list(TaskStore(GitRepo.discover(repo_path)).ids()))
    commits = int(git(repo_path, "rev-list", "--count", layout.DATA_REF))
    return stored, errors, commits, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    cmd = cli_command()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        big = make_repo(Path(tmp) / "big")
        small = make_repo(Path(tmp) / "small")
        t0 = time.perf_counter()
        seed(big, args.tasks)
        seed(small, 100)
        print(f"seeded {args.tasks} tasks in {time.perf_counter() - t0:.1f}s")

        db = TaskDatabase.open(big)
        start = time.perf_counter()
        db.index.rebuild(db.store)
        rebuild = time.perf_counter() - start
        db.rows()  # working copy + index warm
        run_quiet([*cmd, "task", "list"], big)

        list_s = median_seconds(lambda: run_quiet([*cmd, "task", "list"], big), args.runs)
        help_s = median_seconds(lambda: run_quiet([*cmd, "--help"], big), args.runs)
        upd_small = update_cost(small, 50)
        upd_big = update_cost(big, 50)

        rows.append(
            (
                f"task list, {args.tasks} tasks, warm",
                f"{list_s * 1000:.0f} ms",
                "<= 250 ms",
                _ok(list_s <= 0.25),
            )
        )
        rows.append(("--help", f"{help_s * 1000:.0f} ms", "<= 150 ms", _ok(help_s <= 0.15)))
        rows.append(("store update, 100 tasks", f"{upd_small * 1000:.2f} ms", "", ""))
        rows.append(
            (
                f"store update, {args.tasks} tasks",
                f"{upd_big * 1000:.2f} ms",
                "<= 10 ms, <= 2x",
                _ok(upd_big <= 0.01 and upd_big <= 2 * upd_small),
            )
        )
        rows.append(
            (
                f"index rebuild, {args.tasks} tasks",
                f"{rebuild:.2f} s",
                "<= 10 s",
                _ok(rebuild <= 10),
            )
        )

        conc = make_repo(Path(tmp) / "concurrent")
        stored, errors, commits, elapsed = concurrent_creates(conc, 8, 50)
        rows.append(
            (
                "8 procs x 50 create --no-run",
                f"{stored} stored, {errors} errors, {commits} commits, {elapsed:.0f}s",
                "400, 0, 400",
                _ok(stored == 400 and errors == 0 and commits == 400),
            )
        )
    print_table("task database benchmarks", rows)


def _ok(flag: bool) -> str:
    return "yes" if flag else "NO"


if __name__ == "__main__":
    main()
