"""``claude-container worker``: claim queued tasks from the remote, run them, publish the results.

Every ``worker.poll_seconds`` (and as soon as a run ends) the worker:

1. fetches the remote's task branch and merges it;
2. settles the runs that ended (:func:`gittask.workflow.lease.settle`: a failed
   run is queued again until ``worker.max_attempts`` claims, then left failed;
   a run asked to stop is recorded ``stopped``);
3. stops the runs whose task someone asked to stop (``task stop`` on any clone
   writes the request) or whose lease another worker holds now;
4. renews the leases of its runs when a third of a lease has gone;
5. records ``stopped`` for tasks asked to stop whose worker went silent;
6. claims queued tasks (and tasks whose lease expired) up to ``--max-parallel``,
   each by compare-and-swap on the remote, and starts one process per run
   (``task _work``, :mod:`gittask.workflow.worker.child`);
7. pushes its heartbeat (:mod:`gittask.workflow.worker.heartbeat`).

Each of those writes is made on the remote's tip and pushed without force
(:func:`gittask.store.sync.update_remote`), so two workers never both win.
SIGINT/SIGTERM stop taking tasks and stop the runs (they are queued again); a
second one exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType

from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.model.clock import utcnow
from gittask.notices import notice
from gittask.runner import naming
from gittask.store import sync
from gittask.store.database import TaskDatabase
from gittask.workflow import claims, lease
from gittask.workflow.worker import endings, heartbeat, queue
from gittask.workflow.worker.settings import WorkerSettings

#: how long a stopping worker waits for its runs to record their end
SHUTDOWN_WAIT = 120.0


def default_name() -> str:
    try:
        host = socket.gethostname().split(".")[0] or "host"
    except OSError:
        host = "host"
    return heartbeat.check_name(f"{host}-{os.getpid()}")


@dataclass(frozen=True)
class WorkerOptions:
    name: str
    max_parallel: int = 1
    labels: tuple[str, ...] = ()
    once: bool = False  # exit when nothing is queued and nothing runs
    idle_exit: float | None = None  # exit after this long with nothing to do


@dataclass
class Child:
    lease: lease.Lease
    proc: subprocess.Popen[bytes]
    log: Path
    renewed: float  # time.monotonic() of the claim or the last renewal
    stopping: str | None = None  # why it was asked to stop


@dataclass
class Ended:
    task_id: str
    how: str  # the task's status word after the run, or why it was lost


@dataclass
class Worker:
    db: TaskDatabase
    remote: str
    options: WorkerOptions
    settings: WorkerSettings
    clock: Callable[[], datetime] = utcnow
    say: Callable[[str], None] = lambda line: None
    engine: str = ""
    children: dict[str, Child] = field(default_factory=dict)
    ended: list[Ended] = field(default_factory=list)
    stopping: str | None = None  # the signal that asked the worker to stop
    queue_empty: bool = False
    last_work: float = field(default_factory=time.monotonic)
    last_beat: float = 0.0
    started: datetime = field(default_factory=utcnow)

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> list[Ended]:
        """Work until told to stop (or ``--once`` / ``--idle-exit``); the runs it saw end."""
        restore = self._install_signals()
        self.say(
            f"worker {self.options.name}: watching {self.remote} "
            f"(at most {self.options.max_parallel} at a time"
            + (f", labels {', '.join(self.options.labels)}" if self.options.labels else "")
            + ")"
        )
        try:
            while True:
                self.step()
                if self.finished():
                    break
                self.pause(self.settings.poll_seconds)
            self.shutdown()
        finally:
            restore()
            self._beat("exited", force=True)
        return self.ended

    def step(self) -> None:
        if not self._refresh():
            return  # the remote did not answer: nothing can be claimed or renewed
        self.reap()
        self.watch()
        self.renew()
        self.close_orphans()
        if self.stopping is None:
            self.fill()
        self._beat("working" if self.children else "idle")

    def finished(self) -> bool:
        if self.children:
            return False
        if self.stopping is not None:
            return True
        if self.options.once and self.queue_empty:
            return True
        idle = self.options.idle_exit
        return idle is not None and time.monotonic() - self.last_work >= idle

    def pause(self, seconds: float) -> None:
        """Sleep, but wake up as soon as a run ends (its result is then settled at once)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.stopping is None:
            if any(c.proc.poll() is not None for c in self.children.values()):
                return
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def shutdown(self) -> None:
        """Stop the runs (a signal asked for it) and wait for them to record their end."""
        if not self.children:
            return
        for child in self.children.values():
            self._stop(child, f"the worker is stopping ({self.stopping})")
        deadline = time.monotonic() + SHUTDOWN_WAIT
        while self.children and time.monotonic() < deadline:
            time.sleep(0.2)
            if self._refresh():
                self.reap()

    # -- the steps ----------------------------------------------------------------------

    def _refresh(self) -> bool:
        try:
            sync.fetch(self.db.repo, self.remote)
            self.db.refresh()
        except GittaskError as exc:
            notice(f"warning: worker {self.options.name}: {exc.message}")
            return False
        return True

    def _remote_copy(self, task_id: str) -> TaskMetadata | None:
        return claims.remote_copy(self.db, self.remote, task_id)

    def reap(self) -> None:
        """Settle the runs whose process ended: retry, give up, or record a stop."""
        done = [c for c in self.children.values() if c.proc.poll() is not None]
        if not done:
            return
        with contextlib.suppress(GittaskError):
            sync.fetch(self.db.repo, self.remote)  # what the runs published last
        for child in done:
            task_id = child.lease.task_id
            del self.children[task_id]
            self.last_work = time.monotonic()
            current = self._remote_copy(task_id)
            if current is None or not lease.holds(current, child.lease):
                how = f"not this worker's any more: {lease.LeaseLost(child.lease, current).why()}"
            elif endings.settled(current, child.lease):
                how = endings.ending(current)
            else:
                how = self._write(task_id, self._settle(child), "settle")
            self.ended.append(Ended(task_id, how))
            self.say(f"task {task_id[:8]}: {how}")

    def _settle(self, child: Child) -> Callable[[TaskMetadata], str | None]:
        code = child.proc.poll()
        died = endings.last_error(child.log) or (
            f"the run's process ended (exit code {code}) without recording its end"
        )

        def change(task: TaskMetadata) -> str:
            return lease.settle(task, child.lease, self.settings.max_attempts, died)

        return change

    def watch(self) -> None:
        """Stop the runs someone asked to stop, and those whose lease is another's now."""
        for child in self.children.values():
            if child.stopping is not None:
                continue
            current = self._remote_copy(child.lease.task_id)
            if current is None:
                continue
            if not lease.holds(current, child.lease):
                self._stop(child, lease.LeaseLost(child.lease, current).why())
            elif (wanted := lease.stop_wanted(current)) is not None:
                self._stop(child, f"stop requested by {wanted[1]}")

    def renew(self) -> None:
        now = time.monotonic()
        for child in self.children.values():
            if child.stopping is not None or now - child.renewed < self.settings.renew_every:
                continue
            held = child.lease

            def longer(task: TaskMetadata, held: lease.Lease = held) -> str:
                return lease.renew(task, held, self.clock(), self.settings.lease_seconds)

            try:
                sync.update_remote(
                    self.db.repo, self.remote, {held.task_id: longer}, "renew", fetched=True
                )
                child.renewed = now
            except lease.LeaseLost as lost:
                if lost.holder is None or not lease.holds(lost.holder, child.lease):
                    self._stop(child, lost.why())  # its result would be refused anyway
            except GittaskError as exc:
                notice(f"warning: could not renew {child.lease.describe()}: {exc.message}")

    def close_orphans(self) -> None:
        for task in queue.orphans_to_stop(self.db, self.remote, self.clock()):
            wanted = lease.stop_wanted(task)
            who = wanted[1] if wanted else "someone"
            seen = task.lease

            def close(t: TaskMetadata, who: str = who, seen: int = seen) -> str:
                if t.lease != seen or not lease.stopped_orphan(t, self.clock()):
                    raise lease.NotTakeable(t.id)  # someone else dealt with it
                return lease.close_stopped(t, who)

            with contextlib.suppress(lease.NotTakeable):
                how = self._write(task.id, close, "stop")
                self.say(f"task {task.id[:8]}: {how} (its worker went silent)")

    def fill(self) -> None:
        """Claim queued tasks and start their runs, up to ``--max-parallel``."""
        while len(self.children) < self.options.max_parallel:
            try:
                taken = queue.take(
                    self.db,
                    self.remote,
                    self.options.name,
                    self.clock,
                    self.settings.lease_seconds,
                    self.settings.max_attempts,
                    self.options.labels,
                )
            except GittaskError as exc:
                notice(f"warning: worker {self.options.name}: {exc.message}")
                return
            self.queue_empty = taken is None
            if taken is None:
                return
            self.last_work = time.monotonic()
            self.children[taken.task_id] = self._spawn(taken)
            self.say(f"task {taken.task_id[:8]}: taken ({taken.describe()})")

    # -- helpers ------------------------------------------------------------------------

    def _write(self, task_id: str, change: Callable[[TaskMetadata], str | None], verb: str) -> str:
        """One change on the remote's copy, by compare-and-swap; what it did, in words."""
        try:
            written = sync.update_remote(self.db.repo, self.remote, {task_id: change}, verb)
        except lease.LeaseLost as lost:
            return f"not this worker's any more: {lost.why()}"
        except GittaskError as exc:
            return f"could not record the end of the run on {self.remote}: {exc.message}"
        self.db.reindex()
        task = written[task_id]
        if task.status is TaskStatus.QUEUED:
            return f"queued again: {task.error_message}"
        return endings.ending(task)

    def _spawn(self, taken: lease.Lease) -> Child:
        folder = naming.runs_dir(self.db.repo)
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / f"{taken.task_id}.lease-{taken.number}.log"
        command = [
            sys.executable, "-m", "gittask", "task", "_work", taken.task_id,
            "--lease", str(taken.number), "--worker", taken.worker,
        ]  # fmt: skip
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the worker's Ctrl-C is the worker's to pass on
                cwd=self.db.repo.workdir or self.db.repo.common_dir,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
            )
        return Child(taken, proc, log, time.monotonic())

    def _stop(self, child: Child, why: str) -> None:
        if child.stopping is not None:
            return
        child.stopping = why
        self.say(f"task {child.lease.task_id[:8]}: stopping its run ({why})")
        with contextlib.suppress(ProcessLookupError):
            child.proc.send_signal(signal.SIGTERM)

    def _beat(self, state: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_beat < min(
            self.settings.renew_every, max(self.settings.poll_seconds, 2.0)
        ):
            return
        self.last_beat = now
        beat = heartbeat.Heartbeat(
            name=self.options.name,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=self.started,
            beat_at=self.clock(),
            state=state,
            labels=list(self.options.labels),
            max_parallel=self.options.max_parallel,
            engine=self.engine,
            tasks=[
                {"task": c.lease.task_id, "lease": c.lease.number} for c in self.children.values()
            ],
            done=len(self.ended),
        )
        problem = heartbeat.beat(self.db.repo, self.remote, beat)
        if problem:
            notice(f"warning: worker {self.options.name}: heartbeat not pushed: {problem}")

    def _install_signals(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handle(signum: int, frame: FrameType | None) -> None:
            if self.stopping is not None:
                raise KeyboardInterrupt  # a second signal: now
            self.stopping = signal.Signals(signum).name
            self.say(
                f"worker {self.options.name}: {self.stopping}: stopping its runs, then exiting"
            )

        old = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}

        def restore() -> None:
            for sig, handler in old.items():
                signal.signal(sig, handler)

        return restore
