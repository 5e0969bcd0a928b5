"""``task logs``: which run to show, and its output, live or recorded, from any clone."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gittask.config import configured_remote, project_root
from gittask.errors import GittaskError
from gittask.model import TaskMetadata
from gittask.runner import live
from gittask.runner import logs as runlogs
from gittask.runner.agents import AgentOutput, get_agent
from gittask.store.database import TaskDatabase
from gittask.workflow import tasklogs
from gittask.workflow.heartbeat import Heartbeat


@dataclass
class RunLog:
    run: int
    info: dict[str, Any]  # run.json
    chunks: Iterable[bytes]
    agent: str  # the agent that printed it ("" when unknown)
    followed: bool = False  # the chunks follow a run going on here until it ends
    started: float | None = None  # when the followed run started (time.time())


def run_log(
    db: TaskDatabase,
    task: TaskMetadata,
    run: int | None,
    follow: bool,
    execution: bool,
    say: Callable[[str], None],
) -> RunLog:
    """The output of run ``run`` (default: the latest): followed while it is live here,
    else as recorded (fetched from the remote when this clone lacks it)."""
    root = db.logs_folder(task.id)
    marker = live.marker_for(db.repo, task.id)
    if marker is not None and not marker.alive:
        marker = None
    wanted = run
    if wanted is None:
        if marker is not None and follow:
            wanted = marker.run
        else:
            wanted = tasklogs.latest_run(db, task) or (marker.run if marker else None)
    if wanted is None:
        raise GittaskError(
            f"task {task.id[:8]} has no run logs yet",
            f"run it with 'task start {task.id[:8]}'" if task.run_count == 0 else None,
        )
    folder = runlogs.run_folder(root, wanted)
    live_run = marker is not None and marker.run == wanted
    view = None if live_run else _stored(db, task, wanted, say)
    info = view.info if view is not None else runlogs.read_run_info(folder)
    path = folder / (runlogs.EXECUTION_LOG if execution else runlogs.AGENT_LOG)

    def still_running() -> bool:
        held = live.marker_for(db.repo, task.id)
        return held is not None and held.run == wanted and held.alive

    chunks: Iterable[bytes]
    if follow and live_run:
        chunks = runlogs.follow(path, still_running, idle=True)
    elif view is not None:
        data = view.read(execution)
        chunks = iter([data] if data else [])
    elif path.is_file():
        chunks = iter([path.read_bytes()])
    else:
        chunks = iter([])
    agent = str(info.get("agent") or task.agent or "")
    started = marker.started_at if marker is not None and live_run else None
    return RunLog(wanted, info, chunks, agent, followed=follow and live_run, started=started)


def _stored(
    db: TaskDatabase, task: TaskMetadata, wanted: int, say: Callable[[str], None]
) -> tasklogs.RunView:
    remote = configured_remote(project_root(db.repo))
    view = tasklogs.find_run(db, task.id, wanted, remote, say=say)
    if view is not None:
        return view
    have = ", ".join(str(n) for n in tasklogs.known_runs(db, task.id)) or "none"
    hint = None
    if wanted == task.run_count and task.status.value == "running":
        hint = "that run is still going in another clone: its logs come when it ends"
    elif wanted <= task.run_count:
        hint = f"the clone that ran it has not pushed them to {remote}"
    raise GittaskError(f"task {task.id[:8]} has no logs for run {wanted} (runs: {have})", hint)


def decoder(agent_name: str) -> AgentOutput | None:
    """The agent's readable view of its output; None for the raw bytes."""
    if not agent_name:
        return None
    try:
        return get_agent(agent_name).new_output()
    except ValueError:
        return None


def lines(
    chunks: Iterable[bytes], agent_name: str, heartbeat: Heartbeat | None = None
) -> Iterator[bytes | str]:
    """Raw chunks (bytes) when there is no decoder, else readable lines (str).

    An empty chunk is time passing while a followed run is silent: it ticks the
    ``heartbeat`` (which says so on its own channel, never in what is yielded)."""
    output = decoder(agent_name)
    for chunk in chunks:
        if not chunk:
            if heartbeat is not None:
                heartbeat.tick()
            continue
        if heartbeat is not None:
            heartbeat.output()
        if output is None:
            yield chunk
            continue
        for line in output.feed(chunk):
            if heartbeat is not None:
                heartbeat.saw(line)
            yield line
    if output is not None:
        yield from output.flush()
