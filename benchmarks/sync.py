"""Team-sync merge benchmark (issue: team sync). Prints a table.

    python benchmarks/sync.py                             # the issue's figure: 10,000 / 1,000
    python benchmarks/sync.py --tasks 1000 --changed 100  # a quick look

One repository is seeded with --tasks tasks in one commit; two sides then each
change --changed tasks, one commit per change as the tool writes them (a field
of metadata.yaml, every third one also a new feedback file). Two scenarios:
the sides mostly touch different tasks (--overlap, default 10% shared, each
shared task a field conflict), and every changed task is changed on both sides.

Measured: ``integrate()`` with the local data ref on one side and
``refs/remotes/origin/claude-tasks`` on the other, i.e. merge base, the
three-way tree merge, the merge commit and its compare-and-swap (median of
--runs). Targets (issue 14): a merge of 1,000 tasks changed on both sides of 10,000
in at most 1 s, and the first sync of a fresh clone in at most 2 s.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from _common import make_repo

from gittask.model import FeedbackEntry, TaskMetadata, TaskStatus
from gittask.model.task import new_task_id
from gittask.store import layout, yamlio
from gittask.store.repo import GitRepo
from gittask.store.sync import integrate, tracking_ref
from gittask.store.taskfiles import task_files
from gittask.store.trees import replace_path, write_folder

TARGET_SECONDS = 1.0
FIRST_SYNC_TARGET_SECONDS = 2.0


def seed(repo: GitRepo, count: int) -> list[str]:
    """``count`` realistic tasks in one commit on the data ref; their ids."""
    import pygit2

    git = repo.pygit
    fans: dict[str, dict[str, pygit2.Oid]] = {}
    statuses = [s for s in TaskStatus if s is not TaskStatus.RUNNING]
    ids = []
    for i in range(count):
        task = TaskMetadata(
            id=new_task_id(),
            description=f"Task number {i}\n\nMake the widget {i} faster and add tests.\n",
            status=statuses[i % len(statuses)],
            branch_name=f"claude/task-{i}",
            base_branch="main",
            commits=[f"{i:040x}"],
        )
        if i % 3 == 0:
            task.feedback_history.append(FeedbackEntry(feedback=f"please also handle case {i}"))
        ids.append(task.id)
        fans.setdefault(layout.fan(task.id), {})[task.id] = write_folder(
            git, None, task_files(task)
        )
    tasks = git.TreeBuilder()
    for fan, entries in fans.items():
        fan_builder = git.TreeBuilder()
        for task_id, oid in entries.items():
            fan_builder.insert(task_id, oid, pygit2.GIT_FILEMODE_TREE)
        tasks.insert(fan, fan_builder.write(), pygit2.GIT_FILEMODE_TREE)
    root = git.TreeBuilder()
    root.insert(layout.TASKS_DIR, tasks.write(), pygit2.GIT_FILEMODE_TREE)
    root.insert(
        layout.README_FILE,
        git.create_blob(layout.README_TEXT.encode()),
        pygit2.GIT_FILEMODE_BLOB,
    )
    sig = repo.signature()
    commit = git.create_commit(None, sig, sig, "seed", root.write(), [])
    git.create_reference_direct("refs/bench/base", commit, True)
    return ids


def change_side(repo: GitRepo, ref: str, side: str, ids: list[str], start: int) -> None:
    """One commit per changed task on ``ref``, as the store would write it."""
    import pygit2

    git = repo.pygit
    tip = git.references["refs/bench/base"].target
    commit = git[tip]
    assert isinstance(commit, pygit2.Commit)
    root = commit.tree
    field = "pr_note" if side == "a" else "agent"
    for n, task_id in enumerate(ids):
        meta_path = f"{layout.task_dir(task_id)}/{layout.METADATA_FILE}"
        text = git[root[meta_path].id].data.decode()
        # the side's own field, plus one both sides set: a conflict where both change a task
        text = text.replace(f"{field}: null", f"{field}: {side} change {n}")
        text = text.replace("error_message: null", f"error_message: {side} failed at {n}")
        blob = git.create_blob(text.encode())
        tree = git[replace_path(git, root, meta_path, blob, pygit2.GIT_FILEMODE_BLOB)]
        assert isinstance(tree, pygit2.Tree)
        if n % 3 == 0:
            entry = FeedbackEntry(feedback=f"{side} says: look at {n}")
            fb = git.create_blob(yamlio.dump(entry.to_dict()).encode())
            fb_path = f"{layout.task_dir(task_id)}/{layout.FEEDBACK_DIR}/{entry.id}.yaml"
            new_tree = git[replace_path(git, tree, fb_path, fb, pygit2.GIT_FILEMODE_BLOB)]
            assert isinstance(new_tree, pygit2.Tree)
            tree = new_tree
        when = pygit2.Signature("Bench", "bench@example.com", start + n, 0)
        message = f"update {task_id[:8]}: bench\n\nTask-Id: {task_id}\nTask-Action: update\n"
        tip = git.create_commit(None, when, when, message, tree.id, [tip])
        root = tree
    git.create_reference_direct(ref, tip, True)


def measure(repo: GitRepo, name: str, runs: int) -> tuple[float, int, int]:
    """Median seconds of integrate(): local = side a, origin's copy = side b."""
    git = repo.pygit
    a = git.references[f"refs/bench/{name}/a"].target
    b = git.references[f"refs/bench/{name}/b"].target
    git.create_reference_direct(tracking_ref(), b, True)
    samples = []
    incoming = conflicts = 0
    for _ in range(runs):
        git.create_reference_direct(layout.DATA_REF, a, True)
        started = time.perf_counter()
        result = integrate(repo)
        samples.append(time.perf_counter() - started)
        assert result.action == "merge" and result.merge is not None
        incoming, conflicts = result.tasks_in, len(result.merge.conflicts)
    samples.sort()
    return samples[len(samples) // 2], incoming, conflicts


def scenario(
    repo: GitRepo, ids: list[str], name: str, changed: int, shared: int, runs: int
) -> list[str]:
    rng = random.Random(7)
    picked = rng.sample(ids, 2 * changed - shared)
    side_a = picked[:changed]
    side_b = picked[:shared] + picked[changed:]
    rng.shuffle(side_b)
    now = int(time.time())
    change_side(repo, f"refs/bench/{name}/a", "a", side_a, now - 10_000)
    change_side(repo, f"refs/bench/{name}/b", "b", side_b, now - 9_000)
    seconds, incoming, conflicts = measure(repo, name, runs)
    assert incoming == changed, (incoming, changed)
    assert conflicts == shared, (conflicts, shared)
    return [
        f"{len(ids):,}",
        f"{changed:,}",
        f"{shared:,}",
        f"{seconds:.3f}",
        f"<= {TARGET_SECONDS:g} s",
        "yes" if seconds <= TARGET_SECONDS else "NO",
    ]


def first_fetch(repo: GitRepo, runs: int) -> float:
    """Median seconds of integrate() in a fresh clone: no data ref, all tasks incoming.

    Every incoming record is checked (names, kinds, YAML syntax) before the
    fast-forward, so this grows with the database, unlike a merge.
    """
    git = repo.pygit
    git.create_reference_direct(tracking_ref(), git.references["refs/bench/base"].target, True)
    samples = []
    for _ in range(runs):
        ref = git.references.get(layout.DATA_REF)
        if ref is not None:
            ref.delete()
        started = time.perf_counter()
        result = integrate(repo)
        samples.append(time.perf_counter() - started)
        assert result.action == "fast-forward"
    samples.sort()
    return samples[len(samples) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=1000, help="tasks changed per side")
    parser.add_argument("--overlap", type=float, default=0.1, help="share changed on both")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not 0 < args.changed <= args.tasks // 2:
        parser.error("--changed must be between 1 and half of --tasks")
    rows = []
    with tempfile.TemporaryDirectory(prefix="gittask-sync-bench-") as tmp:
        repo = GitRepo.discover(make_repo(Path(tmp) / "repo"))
        ids = seed(repo, args.tasks)
        for n, shared in enumerate((int(args.changed * args.overlap), args.changed)):
            rows.append(scenario(repo, ids, f"s{n}", args.changed, shared, args.runs))
        first = first_fetch(repo, args.runs)
    headers = ["tasks", "changed per side", "changed on both", "merge seconds", "target", "ok"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(f"{{:>{w}}}" for w in widths)
    print("\nteam sync: merging two sides (integrate: merge base, tree merge, commit, CAS)")
    print(line.format(*headers))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))
    print(
        f"\nfirst sync of a fresh clone ({len(ids):,} tasks, all checked, fast-forward): "
        f"{first:.3f} s (target <= {FIRST_SYNC_TARGET_SECONDS:g} s: "
        f"{'yes' if first <= FIRST_SYNC_TARGET_SECONDS else 'NO'})"
    )


if __name__ == "__main__":
    main()
