"""The Docker engine: :class:`DockerEngine`, and the calls ``build``, ``doctor`` and ``clean`` use.

Uses the docker SDK (imported inside functions: it costs start-up time). The
container gets exactly what its :class:`~gittask.runner.engine.ContainerSpec`
says (the policy is :mod:`gittask.runner.sandbox`): the host user's uid:gid, the
capabilities dropped, ``no-new-privileges``, pid/memory/CPU limits, the network
mode and only the mounts listed (no Docker socket, no ``~/.ssh``).
"""

from __future__ import annotations

import contextlib
import io
import re
import tarfile
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gittask.errors import GittaskError
from gittask.runner import naming
from gittask.runner.engine import BindMount as BindMount
from gittask.runner.engine import ContainerSpec, ContainerState, TaskContainer
from gittask.runner.engine import labels_for as labels_for
from gittask.runner.watch import RunInterrupted as RunInterrupted
from gittask.text import first_line

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

    from gittask.runner.ssh_bridge import SshBridge

ENGINE_HINT = "start it with `sudo systemctl start docker` (or run `dockerd`), then try again"


class EngineUnavailable(GittaskError):
    pass


def connect(timeout: int = 30, pinned: str | None = None) -> DockerClient:
    """A client for the Docker engine that answers a ping, or a one-line error;
    ``pinned``: the project's ``engine`` setting (see :mod:`gittask.runner.endpoint`)."""
    import docker
    from docker.errors import DockerException

    from gittask.runner.endpoint import DEFAULT_HOST, resolve

    endpoint = resolve(pinned=pinned)
    where = f"cannot reach the Docker engine at {endpoint.describe()}"
    hint = ENGINE_HINT
    if endpoint.url != DEFAULT_HOST:
        hint = (
            "start that engine, or point DOCKER_HOST / `docker context use` at one that "
            "runs; `docker info` shows the same endpoint"
        )
    bridge = _ssh_bridge(endpoint.url) if endpoint.url.startswith("ssh://") else None
    try:
        client = docker.DockerClient(
            base_url=bridge.url if bridge else endpoint.url, tls=endpoint.tls, timeout=timeout
        )
        client.ping()
    except DockerException as exc:
        reason = bridge.last_error if bridge and bridge.last_error else _engine_reason(exc)
        raise EngineUnavailable(f"{where}: {reason}", hint) from None
    except OSError as exc:
        raise EngineUnavailable(f"{where}: {exc.strerror or exc}", hint) from None
    return client


_bridges: dict[str, SshBridge] = {}


def _ssh_bridge(url: str) -> SshBridge:
    """One bridge per ``ssh://`` engine and process (see :mod:`gittask.runner.ssh_bridge`)."""
    from gittask.runner.ssh_bridge import SshBridge

    if url not in _bridges:
        _bridges[url] = SshBridge(url)
    return _bridges[url]


def _engine_reason(exc: BaseException) -> str:
    """Why the engine did not answer, in words (not requests' nested reprs)."""
    text = str(exc)
    for needle, words in (
        ("No such file or directory", "no socket there"),
        ("Connection refused", "connection refused"),
        ("Permission denied", "permission denied (are you in the docker group?)"),
        ("timed out", "no answer (timed out)"),
        ("Name or service not known", "unknown host name"),
    ):
        if needle in text:
            return words
    return first_line(exc)


def ensure_image(client: DockerClient, image: str) -> None:
    from docker.errors import APIError, ImageNotFound

    try:
        client.images.get(image)
    except ImageNotFound:
        raise GittaskError(
            f"image {image} not found", "run `claude-container build` to build it"
        ) from None
    except APIError as exc:
        raise GittaskError(f"cannot inspect image {image}: {first_line(exc)}") from None


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
        "command": list(spec.command),
        "environment": dict(spec.environment),
        "labels": dict(spec.labels),
        "user": spec.user,
        "name": spec.name,
        "working_dir": spec.working_dir,
        "mounts": mounts,
        "cap_drop": list(spec.cap_drop),
        "security_opt": list(spec.security_opt),
        "detach": True,
        "stdin_open": False,
        "tty": False,
    }
    if spec.network:
        kwargs["network_mode"] = spec.network
    if spec.memory:
        kwargs["mem_limit"] = spec.memory
    if spec.memory_swap:
        kwargs["memswap_limit"] = spec.memory_swap
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


# -- the Engine ------------------------------------------------------------------------


class DockerEngine:
    """:class:`gittask.runner.engine.Engine` on a Docker engine (the docker SDK)."""

    name = "docker"

    def __init__(self, client: DockerClient, remote: bool = False) -> None:
        self.client = client
        self.remote = remote  # its host cannot see this machine's folders
        self._images: dict[str, str] = {}  # container id -> image, for start's message

    @classmethod
    def connect(cls, timeout: int = 30, pinned: str | None = None) -> DockerEngine:
        from gittask.runner.endpoint import resolve

        return cls(connect(timeout, pinned), remote=resolve(pinned=pinned).remote)

    def _container(self, container_id: str) -> Container:
        from docker.errors import DockerException

        try:
            return self.client.containers.get(container_id)
        except DockerException as exc:
            raise GittaskError(f"container {container_id[:12]}: {_api_reason(exc)}") from None

    def ensure_image(self, image: str) -> None:
        ensure_image(self.client, image)

    def create(self, spec: ContainerSpec) -> str:
        container_id = str(create(self.client, spec).id)
        self._images[container_id] = spec.image
        return container_id

    def start(self, container_id: str) -> None:
        image = self._images.get(container_id, "the image")
        start(self._container(container_id), image)

    def output(self, container_id: str) -> Iterator[bytes]:
        logs = self._container(container_id).logs(
            stream=True, follow=True, stdout=True, stderr=True
        )
        yield from logs

    def stop(self, container_id: str) -> None:
        from docker.errors import DockerException

        with contextlib.suppress(DockerException, OSError, GittaskError):
            kill(self._container(container_id))

    def wait(self, container_id: str, timeout: float = 30) -> int | None:
        try:
            container = self._container(container_id)
        except GittaskError:
            return None
        return wait(container, int(timeout))

    def remove(self, container_id: str) -> bool:
        self._images.pop(container_id, None)
        return remove(self.client, container_id)

    def inspect(self, container_id: str) -> ContainerState | None:
        from docker.errors import NotFound

        try:
            attrs = self.client.api.inspect_container(container_id)
        except NotFound:
            return None
        state = attrs.get("State") or {}
        code = state.get("ExitCode")
        return ContainerState(
            id=str(attrs.get("Id", container_id)),
            status=str(state.get("Status") or ""),
            exit_code=int(code)
            if isinstance(code, int) and state.get("Status") == "exited"
            else None,
            labels=dict((attrs.get("Config") or {}).get("Labels") or {}),
        )

    def containers(self, repo_key: str | None = None) -> list[TaskContainer]:
        return task_containers(self.client, repo_key)

    def copy_in(self, container_id: str, path: str, data: bytes, mode: int = 0o644) -> None:
        folder, _, name = path.rpartition("/")
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            tar.addfile(info, io.BytesIO(data))
        if not self._container(container_id).put_archive(folder or "/", archive.getvalue()):
            raise GittaskError(f"cannot copy {path} into container {container_id[:12]}")

    def copy_in_archive(self, container_id: str, archive: bytes) -> None:
        from docker.errors import DockerException

        try:
            done = self._container(container_id).put_archive("/", archive)
        except DockerException as exc:
            raise GittaskError(
                f"cannot copy the workspace into container {container_id[:12]}: {_api_reason(exc)}"
            ) from None
        if not done:
            raise GittaskError(f"cannot copy the workspace into container {container_id[:12]}")

    def copy_out(self, container_id: str, path: str) -> bytes:
        from docker.errors import DockerException

        try:
            stream, _stat = self._container(container_id).get_archive(path)
        except DockerException as exc:
            raise GittaskError(
                f"cannot copy {path} out of the container: {_api_reason(exc)}"
            ) from None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream)), mode="r") as tar:
            member = next((m for m in tar.getmembers() if m.isfile()), None)
            extracted = tar.extractfile(member) if member is not None else None
            if extracted is None:
                raise GittaskError(f"{path} in the container is not a file")
            return extracted.read()
