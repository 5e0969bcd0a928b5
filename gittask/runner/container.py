"""The agent's container: connect, check the image, create, stream, stop, remove, list.

Uses the docker SDK (imported inside functions: it costs start-up time). The
container is hardened whatever the image says: the host user's uid:gid, all
capabilities dropped, ``no-new-privileges``, pid/memory/CPU limits, the
configured network mode, no Docker socket and no ``~/.ssh``: only the mounts
given here.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gittask.errors import GittaskError
from gittask.runner import naming
from gittask.runner.agents.base import StopReason

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

ENGINE_HINT = "start it with `sudo systemctl start docker` (or run `dockerd`), then try again"


class EngineUnavailable(GittaskError):
    pass


def connect(timeout: int = 30) -> DockerClient:
    """A client for the Docker engine that answers a ping, or a one-line error."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        reason = _first_line(exc)
        raise EngineUnavailable(f"cannot reach the Docker engine: {reason}", ENGINE_HINT) from None
    except OSError as exc:
        raise EngineUnavailable(f"cannot reach the Docker engine: {exc}", ENGINE_HINT) from None
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    # requests' nested reprs are long: keep the interesting end
    match = re.search(r"\(([^()]*(?:refused|No such file|not found)[^()]*)\)", line)
    return (match.group(1) if match else line)[:300]


def ensure_image(client: DockerClient, image: str) -> None:
    from docker.errors import APIError, ImageNotFound

    try:
        client.images.get(image)
    except ImageNotFound:
        raise GittaskError(
            f"image {image} not found", "run `claude-container build` to build it"
        ) from None
    except APIError as exc:
        raise GittaskError(f"cannot inspect image {image}: {_first_line(exc)}") from None


@dataclass
class BindMount:
    source: str
    target: str
    read_only: bool = False


@dataclass
class ContainerSpec:
    image: str
    command: list[str]
    environment: dict[str, str]
    labels: dict[str, str]
    user: str
    name: str
    binds: list[BindMount] = field(default_factory=list)
    tmpfs: list[str] = field(default_factory=list)  # empty folders laid over paths
    working_dir: str = "/workspace"
    network: str | None = "bridge"
    memory: str | None = "4g"
    cpus: float | None = 2.0
    pids_limit: int | None = 512


def labels_for(repo_key: str, task_id: str, run: int, pid: int) -> dict[str, str]:
    return {
        naming.LABEL_TOOL: "1",
        naming.LABEL_REPO: repo_key,
        naming.LABEL_TASK: task_id,
        naming.LABEL_RUN: str(run),
        naming.LABEL_HOST_PID: str(pid),
    }


def create(client: DockerClient, spec: ContainerSpec) -> Container:
    """Create (not start) the container."""
    from docker.errors import APIError, ImageNotFound
    from docker.types import Mount

    mounts = [
        Mount(target=b.target, source=b.source, type="bind", read_only=b.read_only)
        for b in spec.binds
    ]
    mounts += [
        Mount(target=t, source=None, type="tmpfs", tmpfs_size=65536, tmpfs_mode=0o555)
        for t in spec.tmpfs
    ]
    kwargs: dict[str, Any] = {
        "command": spec.command,
        "environment": spec.environment,
        "labels": spec.labels,
        "user": spec.user,
        "name": spec.name,
        "working_dir": spec.working_dir,
        "mounts": mounts,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "detach": True,
        "stdin_open": False,
        "tty": False,
    }
    if spec.network:
        kwargs["network_mode"] = spec.network
    if spec.memory:
        kwargs["mem_limit"] = spec.memory
    if spec.cpus:
        kwargs["nano_cpus"] = int(spec.cpus * 1e9)
    if spec.pids_limit:
        kwargs["pids_limit"] = spec.pids_limit
    try:
        return client.containers.create(spec.image, **kwargs)
    except ImageNotFound:
        raise GittaskError(
            f"image {spec.image} not found", "run `claude-container build` to build it"
        ) from None
    except APIError as exc:
        raise GittaskError(f"cannot create the container: {_api_reason(exc)}") from None


def start(container: Container, image: str) -> None:
    from docker.errors import APIError

    try:
        container.start()
    except APIError as exc:
        reason = _api_reason(exc)
        missing = re.search(r'exec: "([^"]+)": executable file not found', reason)
        if missing:
            raise GittaskError(
                f"the image {image} has no `{missing.group(1)}` command, which the agent needs",
                "install it in the image (.claude-container/Dockerfile.claude) and run "
                "`claude-container build`",
            ) from None
        raise GittaskError(f"cannot start the container: {reason}") from None


def _api_reason(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    text = str(explanation or exc).strip()
    return " ".join(text.split())[:400]


@dataclass
class StreamResult:
    exit_code: int | None
    stopped: StopReason | None
    duration: float


class RunInterrupted(Exception):
    """Raised in the main thread by SIGINT/SIGTERM/SIGHUP during a run."""

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


def stream(
    container: Container,
    on_chunk: Callable[[bytes], None],
    finished: Callable[[], bool],
    timeout: float,
    silence: float,
    grace: float,
    on_stop: Callable[[StopReason], None] | None = None,
) -> StreamResult:
    """Pass the container's output to ``on_chunk`` until it exits or must be stopped.

    Stops (kills) it when the wall-clock ``timeout`` passes, when it prints
    nothing for ``silence`` seconds, or ``grace`` seconds after ``finished()``
    turned true while it keeps running. An interrupt (``RunInterrupted`` or
    ``KeyboardInterrupt``) kills it and is re-raised.
    """
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue()

    def reader() -> None:
        try:
            for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=True):
                chunks.put(chunk)
        except BaseException as exc:  # handed to the main thread
            chunks.put(exc)
        finally:
            chunks.put(None)

    begun = time.monotonic()
    last_output = begun
    finished_at: float | None = None
    stopped: StopReason | None = None
    thread = threading.Thread(target=reader, name="container-logs", daemon=True)
    thread.start()
    try:
        while True:
            now = time.monotonic()
            if stopped is None:
                if now - begun >= timeout:
                    stopped = "timeout"
                elif now - last_output >= silence:
                    stopped = "idle"
                elif finished_at is not None and now - finished_at >= grace:
                    stopped = "after_result"
                if stopped is not None:
                    if on_stop is not None:
                        on_stop(stopped)
                    kill(container)
            try:
                item = chunks.get(timeout=0.25)
            except queue.Empty:
                continue
            if item is None:
                break
            if isinstance(item, BaseException):
                if stopped is None:
                    raise GittaskError(f"lost the container's output: {_first_line(item)}")
                break
            last_output = time.monotonic()
            on_chunk(item)
            if finished_at is None and finished():
                finished_at = last_output
    except (RunInterrupted, KeyboardInterrupt):
        kill(container)
        raise
    exit_code = wait(container)
    return StreamResult(exit_code, stopped, time.monotonic() - begun)


def wait(container: Container, timeout: int = 30) -> int | None:
    from docker.errors import DockerException

    try:
        status = container.wait(timeout=timeout)
    except (DockerException, OSError, ValueError):
        return None
    except Exception:  # requests' ReadTimeout and the like
        return None
    code = status.get("StatusCode") if isinstance(status, dict) else None
    return int(code) if isinstance(code, int) else None


def kill(container: Container) -> None:
    from docker.errors import DockerException

    with contextlib.suppress(DockerException, OSError):
        container.kill()


def remove(client: DockerClient | None, container_id: str, attempts: int = 5) -> bool:
    """Remove a container, running or not; True when it is gone."""
    from docker.errors import DockerException, NotFound

    if client is None:
        return False
    for attempt in range(attempts):
        try:
            client.api.remove_container(container_id, force=True, v=True)
            return True
        except NotFound:
            return True
        except (DockerException, OSError):  # "removal already in progress", a busy engine
            time.sleep(0.2 * (attempt + 1))
    return False


# -- listing (task list, clean) --------------------------------------------------------


@dataclass
class TaskContainer:
    id: str
    name: str
    status: str  # docker's state: running, exited, created, ...
    task_id: str
    run: int
    host_pid: int
    created: str


def task_containers(client: DockerClient, repo_key: str | None = None) -> list[TaskContainer]:
    """Every container this tool started (for one repository when ``repo_key`` is given)."""
    filters = [f"{naming.LABEL_TOOL}=1"]
    if repo_key:
        filters.append(f"{naming.LABEL_REPO}={repo_key}")
    found = []
    for item in client.api.containers(all=True, filters={"label": filters}):
        labels = item.get("Labels") or {}
        names = item.get("Names") or [""]
        try:
            run = int(labels.get(naming.LABEL_RUN) or 0)
            pid = int(labels.get(naming.LABEL_HOST_PID) or 0)
        except ValueError:
            run, pid = 0, 0
        found.append(
            TaskContainer(
                id=str(item.get("Id", "")),
                name=str(names[0]).lstrip("/"),
                status=str(item.get("State") or item.get("Status") or ""),
                task_id=str(labels.get(naming.LABEL_TASK) or ""),
                run=run,
                host_pid=pid,
                created=time.strftime(
                    "%Y-%m-%d %H:%M", time.localtime(int(item.get("Created") or 0))
                ),
            )
        )
    return found
