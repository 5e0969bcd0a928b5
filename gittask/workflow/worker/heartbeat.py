"""Workers seen recently: each worker's heartbeat is a ref of its own on the remote.

A worker pushes ``refs/claude-workers/<name>`` (forced: only it writes that
ref) every little while: a commit holding ``worker.json`` (who, where, since
when, its labels, the leases it holds, its state). Nothing touches the task
branch for it, so heartbeats never race with task changes. ``worker --status``
fetches them all and shows how long ago each worker was last heard of.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pygit2

from gittask.errors import GittaskError
from gittask.model.clock import format_ts, parse_ts
from gittask.store.repo import GitRepo

PREFIX = "refs/claude-workers/"
FILE = "worker.json"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def seen_prefix(remote: str) -> str:
    """Where the fetched heartbeats of a remote's workers are kept here."""
    return f"refs/claude-workers-seen/{remote}/"


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise GittaskError(
            f"bad worker name {name!r}",
            "letters, digits, '.', '_' and '-' (up to 100), starting with a letter or digit",
        )
    return name


@dataclass
class Heartbeat:
    name: str
    host: str
    pid: int
    started_at: datetime | None
    beat_at: datetime | None
    state: str  # working, idle, stopping, exited
    labels: list[str] = field(default_factory=list)
    max_parallel: int = 1
    engine: str = ""
    tasks: list[dict[str, Any]] = field(default_factory=list)  # {task, lease}
    done: int = 0  # runs finished since it started

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "host": self.host,
            "pid": self.pid,
            "started_at": format_ts(self.started_at),
            "beat_at": format_ts(self.beat_at),
            "state": self.state,
            "labels": self.labels,
            "max_parallel": self.max_parallel,
            "engine": self.engine,
            "tasks": self.tasks,
            "done": self.done,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Heartbeat:
        return cls(
            name=str(data.get("name") or "?"),
            host=str(data.get("host") or "?"),
            pid=int(data.get("pid") or 0),
            started_at=parse_ts(data.get("started_at")),
            beat_at=parse_ts(data.get("beat_at")),
            state=str(data.get("state") or "?"),
            labels=[str(x) for x in data.get("labels") or []],
            max_parallel=int(data.get("max_parallel") or 1),
            engine=str(data.get("engine") or ""),
            tasks=[t for t in data.get("tasks") or [] if isinstance(t, dict)],
            done=int(data.get("done") or 0),
        )

    def age(self, now: datetime) -> float | None:
        return (now - self.beat_at).total_seconds() if self.beat_at else None


def beat(repo: GitRepo, remote: str, heartbeat: Heartbeat) -> str | None:
    """Push the heartbeat; None when done, else why not (a worker goes on either way)."""
    git = repo.pygit
    data = json.dumps(heartbeat.to_json(), indent=1, sort_keys=True).encode()
    builder = git.TreeBuilder()
    builder.insert(FILE, git.create_blob(data), pygit2.GIT_FILEMODE_BLOB)
    sig = repo.signature()
    commit = git.create_commit(
        None, sig, sig, f"worker {heartbeat.name}: {heartbeat.state}\n", builder.write(), []
    )
    ref = PREFIX + heartbeat.name
    proc = repo.git(
        "push",
        "--quiet",
        "--force",
        remote,
        f"{commit}:{ref}",
        check=False,
        env={"GIT_TERMINAL_PROMPT": "0"},
    )
    if proc.returncode == 0:
        return None
    return " ".join((proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1:])


def seen(repo: GitRepo, remote: str) -> list[Heartbeat]:
    """Every worker's last heartbeat on the remote (fetched now), newest first."""
    prefix = seen_prefix(remote)
    proc = repo.git(
        "fetch",
        "--quiet",
        "--prune",
        "--no-write-fetch-head",
        remote,
        f"+{PREFIX}*:{prefix}*",
        check=False,
        env={"GIT_TERMINAL_PROMPT": "0"},
    )
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise GittaskError(f"cannot fetch the workers' heartbeats from {remote}: {reason}")
    found: list[Heartbeat] = []
    git = repo.pygit
    for name in list(git.references):
        if not name.startswith(prefix):
            continue
        try:
            commit = git[git.references[name].target]
            assert isinstance(commit, pygit2.Commit)
            blob = git[commit.tree[FILE].id]
            assert isinstance(blob, pygit2.Blob)
            data = json.loads(blob.data)
            found.append(Heartbeat.from_json(data if isinstance(data, dict) else {}))
        except (AssertionError, KeyError, ValueError, TypeError):
            continue  # not a heartbeat: not shown
    found.sort(key=lambda h: h.beat_at.timestamp() if h.beat_at else 0.0, reverse=True)
    return found
