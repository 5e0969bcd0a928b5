"""The scale and Taskwarrior benchmarks run at their smallest size, so they cannot rot.

No timing is asserted: only that each runs end to end against the real
command and prints its table with every row.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT


def _run(tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_scale_benchmark_smoke(tmp_path: Path) -> None:
    out = _run(tmp_path, "benchmarks/scale.py", "--sizes", "300", "--runs", "1")
    for row in (
        "`--help`",
        "`task list`",
        "`task list --json`",
        "`task search` (common word",
        "`task history --limit 20`",
        "`task create --no-run`",
        "`task delete --yes`",
        "first `task list` (index rebuild + working copy)",
        "working copy on disk",
    ):
        assert row in out
    assert "300 tasks" in out and "target(s) missed" in out


def test_the_generated_records_are_what_the_tool_writes(tmp_path: Path) -> None:
    """The fast-import template must stay byte-identical to the tool's own dumper."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from _dataset import tasks
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from gittask.model import FeedbackEntry, TaskMetadata, TaskStatus
    from gittask.model.feedback import FeedbackType
    from gittask.store.taskfiles import task_files

    for task in list(tasks(4)):
        record = TaskMetadata(
            id=task.id,
            description=task.description,
            status=TaskStatus(task.status),
            branch_name=task.branch,
            base_branch="main",
            created_at=task.created,
            author="Bench Mark <bench@example.com>",
        )
        if task.feedback is not None:
            record.feedback_history.append(
                FeedbackEntry(
                    feedback=task.feedback,
                    feedback_type=FeedbackType.INLINE,
                    author="Bench Mark <bench@example.com>",
                    timestamp=task.feedback_time,
                    id=task.feedback_id,
                )
            )
        files = task_files(record)
        flat = {"metadata.yaml": files["metadata.yaml"], "description.md": files["description.md"]}
        for name, data in (files.get("feedback") or {}).items():
            flat[f"feedback/{name}"] = data
        assert flat == task.files()


def test_compare_benchmark_smoke(tmp_path: Path) -> None:
    if shutil.which("task") is None and os.geteuid() != 0:
        pytest.skip("Taskwarrior is not installed and apt-get needs root")
    out = _run(tmp_path, "benchmarks/compare.py", "--size", "300", "--runs", "1")
    for pair in ("list", "list --json / export", "status filter", "rare-word", "common-word"):
        assert pair in out
    assert "one create --no-run / add" in out and "x " in out


def test_fault_benchmark_smoke(tmp_path: Path) -> None:
    """kill -9 at random moments: a few rounds, the table, and no problem found."""
    out = _run(tmp_path, "benchmarks/faults.py", "--rounds", "6", "--seed", "3")
    for row in ("create (killed", "delete (killed", "sync (killed", "run (killed", "wall time"):
        assert row in out
    assert "rounds with a problem (fsck, lost change, list)  0" in out


def test_egress_benchmark_smoke(tmp_path: Path, claude_image: str) -> None:
    from tests.run_support import docker_available

    if not docker_available():
        pytest.skip("no Docker engine")
    out = _run(tmp_path, "benchmarks/egress.py", "--requests", "5", "--image", claude_image)
    for row in ("request, direct", "container: forwarder + proxy", "added per request"):
        assert row in out


def test_workers_benchmark_smoke(tmp_path: Path) -> None:
    from tests.run_support import docker_available

    if not docker_available():
        pytest.skip("no Docker engine")
    out = _run(tmp_path, "benchmarks/workers.py", "--runs", "1", "--tasks", "2")
    for row in ("through a worker", "overhead", "bundle costs", "3 workers", "speed-up"):
        assert row in out
