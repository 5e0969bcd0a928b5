"""Helpers for the worker tests: one bare origin, several clones acting as workers.

Everything is real: the clones talk to the bare ``origin.git`` through the git
executable, the workers are ``claude-container worker`` processes, the runs go
to the Docker engine with the busybox stand-in agent (tests/docker_image), and
what the agent did is counted from the engine's own event log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gittask.model import TaskMetadata
from gittask.runner import naming
from gittask.store.repo import GitRepo
from gittask.store.taskstore import TaskStore
from tests.run_support import DEFAULT_BRANCH, Project, git

#: short leases and a quick poll, so that a takeover takes seconds
FAST = {"GITTASK_LEASE_SECONDS": "3", "GITTASK_WORKER_POLL_SECONDS": "0.3"}


@dataclass
class Fleet:
    project: Project
    env: dict[str, str] = field(default_factory=lambda: dict(FAST))
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path, image: str) -> Fleet:
        project = Project(root, image).setup()
        # the settings travel with the repository, as a team shares them
        git(project.work, "add", ".claude-container")
        git(project.work, "commit", "-q", "-m", "claude-container settings")
        git(project.work, "push", "-q", "origin", DEFAULT_BRANCH)
        return cls(project)

    @property
    def origin(self) -> Path:
        return self.project.origin

    def clone(self, name: str) -> Path:
        path = self.project.root / name
        git(self.project.root, "clone", "-q", str(self.origin), name)
        git(path, "config", "user.name", f"{name.title()} Machine")
        git(path, "config", "user.email", f"{name}@example.com")
        return path

    def cli(
        self, where: Path, *args: str, timeout: float = 180, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.project.python, "-m", "gittask", *args],
            cwd=where,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=self.project.full_env({**self.env, **(env or {})}),
            timeout=timeout,
            check=False,
        )

    def worker(self, where: Path, *args: str) -> subprocess.Popen[str]:
        """``claude-container worker ARGS`` in ``where``, in the background."""
        proc = subprocess.Popen(
            [*self.project.python, "-m", "gittask", "worker", *args],
            cwd=where,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.project.full_env(self.env),
        )
        self.started.append(proc)
        return proc

    def queue(self, where: Path, texts: list[str], labels: list[str] | None = None) -> list[str]:
        """Record tasks as queued in ``where`` and publish them (one push)."""
        from gittask.workflow.database import open_database
        from gittask.workflow.publish import after_change
        from gittask.workflow.records import record_task
        from gittask.workflow.worker.queue import queue_task

        db = open_database(where)
        ids = []
        for text in texts:
            task = record_task(db, text, None, None, labels=labels)
            ids.append(queue_task(db, task.id, publish=False).id)
        after_change(db)
        return ids

    def remote_task(self, task_id: str) -> TaskMetadata:
        """The task as the bare origin holds it."""
        repo = GitRepo(git_dir=self.origin, workdir=None)
        return TaskStore(repo, "refs/heads/claude-tasks").get(task_id)

    def remote_ref(self, ref: str) -> str:
        return git(self.origin, "rev-parse", "--verify", "-q", ref, check=False)

    def wait_for(
        self, what: str, check: Callable[[], bool], timeout: float = 120, step: float = 0.2
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(step)
        raise AssertionError(f"timed out waiting for {what}")

    def container_starts(self) -> ContainerStarts:
        """Follow the engine's container starts from now (stopped by :meth:`stop_all` too)."""
        starts = ContainerStarts().start()
        assert starts.proc is not None
        self.started.append(starts.proc)
        return starts

    def stop_all(self) -> None:
        """Stop the workers this test started (by pid), then wait for them."""
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class ContainerStarts:
    """Counts the containers the engine starts for given tasks, from its event stream.

    Followed live (from ``start()`` to ``counts()``): the engine keeps only its
    last few hundred events for a later ``docker events --since`` query, and other
    containers on the same engine would push ours out.
    """

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> ContainerStarts:
        command = ["docker", "events", "--filter", "type=container", "--filter", "event=start"]
        command += ["--filter", f"label={naming.LABEL_TOOL}=1"]
        command += ["--format", "{{json .Actor.Attributes}}"]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # subscribed before anything starts
        return self

    def counts(self, task_ids: set[str]) -> Counter[str]:
        """Stop following; how many containers started for each of ``task_ids``."""
        assert self.proc is not None and self.proc.stdout is not None
        time.sleep(1.0)  # the last events reach the stream
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        found: Counter[str] = Counter()
        for line in out.splitlines():
            task = json.loads(line).get(naming.LABEL_TASK, "")
            if task in task_ids:
                found[task] += 1
        return found


def runs_folder(clone: Path) -> Path:
    return clone / ".git" / "claude-tasks" / "runs"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
