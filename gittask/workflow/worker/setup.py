"""What the worker commands start from: the remote, the settings, the name; and the status list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gittask.config import load_config
from gittask.errors import GittaskError
from gittask.model.clock import utcnow
from gittask.store.database import TaskDatabase
from gittask.workflow.publish import auto_remote
from gittask.workflow.worker import heartbeat
from gittask.workflow.worker.loop import Ended, Worker, WorkerOptions, default_name
from gittask.workflow.worker.settings import WorkerSettings

#: ``worker --status`` leaves out workers not heard of for this long (``--all`` shows them)
RECENT_SECONDS = 86400.0


def worker_remote(db: TaskDatabase) -> str:
    remote = auto_remote(db)
    if remote is None:
        raise GittaskError(
            "a worker needs the remote the tasks are queued on, with sync.auto on",
            "add the remote (git remote add origin URL) or `config set sync.auto true`",
        )
    return remote


def start_worker(
    db: TaskDatabase,
    *,
    name: str | None,
    max_parallel: int,
    labels: tuple[str, ...],
    once: bool,
    idle_exit: float | None,
    say: Callable[[str], None],
    clock: Callable[[], datetime] = utcnow,
) -> list[Ended]:
    """Run a worker in this process until it is done; the runs it saw end."""
    remote = worker_remote(db)
    config = load_config(db.repo)
    options = WorkerOptions(
        name=heartbeat.check_name(name) if name else default_name(),
        max_parallel=max_parallel,
        labels=labels,
        once=once,
        idle_exit=idle_exit,
    )
    return Worker(
        db,
        remote,
        options,
        WorkerSettings.from_config(config),
        clock=clock,
        say=say,
        engine=engine_shown(),
    ).run()


def engine_shown() -> str:
    """The engine runs go to, as ``worker --status`` shows it."""
    from gittask.runner.endpoint import resolve

    try:
        return resolve().url
    except GittaskError:
        return "?"


@dataclass
class WorkerRow:
    heartbeat: heartbeat.Heartbeat
    now: datetime
    lease_seconds: float

    @property
    def name(self) -> str:
        return self.heartbeat.name

    @property
    def host(self) -> str:
        return self.heartbeat.host

    @property
    def silent(self) -> bool:
        """Not heard of for longer than a lease: it died, or lost the network."""
        age = self.heartbeat.age(self.now)
        return self.heartbeat.state != "exited" and (age is None or age > self.lease_seconds)

    @property
    def shown_state(self) -> str:
        return "SILENT" if self.silent else self.heartbeat.state

    @property
    def last_seen(self) -> str:
        age = self.heartbeat.age(self.now)
        if age is None:
            return "never"
        for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
            if age >= size:
                return f"{int(age // size)}{unit} ago"
        return f"{max(0, int(age))}s ago"

    def to_json(self) -> dict[str, Any]:
        data = self.heartbeat.to_json()
        data["silent"] = self.silent
        data["seconds_ago"] = self.heartbeat.age(self.now)
        return data


def seen_workers(db: TaskDatabase, include_old: bool = False) -> list[WorkerRow]:
    remote = worker_remote(db)
    settings = WorkerSettings.from_config(load_config(db.repo))
    now = utcnow()
    rows = [WorkerRow(h, now, settings.lease_seconds) for h in heartbeat.seen(db.repo, remote)]
    if include_old:
        return rows
    return [r for r in rows if (r.heartbeat.age(now) or 0.0) <= RECENT_SECONDS]
