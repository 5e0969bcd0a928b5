"""An in-memory :class:`gittask.runner.engine.Engine`: a container is a Python function.

For the pipeline's tests, where Docker adds nothing: the "container" runs
``program(container)`` in a thread. The program sees the spec the sandbox
policy produced, writes through the spec's bind mounts (``host()`` maps a
container path to the host path behind it), prints with ``print()`` and ends
with its exit code. ``stop()`` sets ``killed`` (a program that waits should
watch it) and the container then exits with 137, as a killed one does.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gittask.errors import GittaskError
from gittask.runner import naming
from gittask.runner.engine import ContainerSpec, ContainerState, TaskContainer


@dataclass
class MemoryContainer:
    id: str
    spec: ContainerSpec
    status: str = "created"
    exit_code: int | None = None
    killed: threading.Event = field(default_factory=threading.Event)
    files: dict[str, bytes] = field(default_factory=dict)  # copy_in / copy_out
    chunks: queue.Queue[bytes | None] = field(default_factory=queue.Queue)
    thread: threading.Thread | None = None

    def host(self, path: str) -> Path:
        """The host path behind a container path (through the longest bind mount)."""
        best = max(
            (b for b in self.spec.binds if path == b.target or path.startswith(b.target + "/")),
            key=lambda b: len(b.target),
            default=None,
        )
        if best is None:
            raise AssertionError(f"{path} is not mounted in the container")
        if best.read_only:
            raise PermissionError(f"{path} is mounted read-only")
        return Path(best.source + path[len(best.target) :])

    def env(self) -> dict[str, str]:
        """What the agent's processes see: the environment, plus the credential files
        exported, as the command the sandbox wraps does in a real container."""
        from gittask.runner.credentials import IN_CONTAINER

        seen = dict(self.spec.environment)
        for bind in self.spec.binds:
            if bind.target == IN_CONTAINER and Path(bind.source).is_dir():
                for file in Path(bind.source).iterdir():
                    seen[file.name] = file.read_text(encoding="utf-8")
        return seen

    def print(self, text: str) -> None:
        self.chunks.put(text.encode())


Program = Callable[[MemoryContainer], int]


class MemoryEngine:
    name = "memory"

    def __init__(self, program: Program, images: tuple[str, ...] = ("agent:test",)) -> None:
        self.program = program
        self.images = set(images)
        self.created: dict[str, MemoryContainer] = {}  # every container ever created
        self.removed: list[str] = []
        self.refuse_remove = False  # an engine that stopped answering
        self._lock = threading.Lock()

    @property
    def live(self) -> list[str]:
        return [c for c in self.created if c not in self.removed]

    def ensure_image(self, image: str) -> None:
        if image not in self.images:
            raise GittaskError(f"image {image} not found", "run `claude-container build`")

    def create(self, spec: ContainerSpec) -> str:
        with self._lock:
            container_id = f"{len(self.created) + 1:064x}"
            self.created[container_id] = MemoryContainer(container_id, spec)
        return container_id

    def _get(self, container_id: str) -> MemoryContainer:
        if container_id not in self.created or container_id in self.removed:
            raise GittaskError(f"no such container {container_id[:12]}")
        return self.created[container_id]

    def start(self, container_id: str) -> None:
        container = self._get(container_id)

        def run() -> None:
            try:
                code = self.program(container)
            except Exception as exc:  # a crashing program is a crashing container
                container.print(f"{type(exc).__name__}: {exc}\n")
                code = 1
            container.exit_code = 137 if container.killed.is_set() else code
            container.status = "exited"
            container.chunks.put(None)

        container.status = "running"
        container.thread = threading.Thread(target=run, name=f"memory-{container_id[:8]}")
        container.thread.start()

    def output(self, container_id: str) -> Iterator[bytes]:
        container = self._get(container_id)
        while (chunk := container.chunks.get()) is not None:
            yield chunk

    def stop(self, container_id: str) -> None:
        if container_id in self.created:
            self.created[container_id].killed.set()

    def wait(self, container_id: str, timeout: float = 30) -> int | None:
        container = self.created[container_id]
        if container.thread is not None:
            container.thread.join(timeout)
        return container.exit_code

    def remove(self, container_id: str) -> bool:
        if self.refuse_remove:
            return False
        self.stop(container_id)
        self.wait(container_id, 5)
        if container_id in self.created and container_id not in self.removed:
            self.removed.append(container_id)
        return True

    def inspect(self, container_id: str) -> ContainerState | None:
        if container_id not in self.created or container_id in self.removed:
            return None
        c = self.created[container_id]
        return ContainerState(c.id, c.status, c.exit_code, dict(c.spec.labels))

    def containers(self, repo_key: str | None = None) -> list[TaskContainer]:
        found = []
        for container_id in self.live:
            c = self.created[container_id]
            labels = c.spec.labels
            if repo_key is not None and labels.get(naming.LABEL_REPO) != repo_key:
                continue
            found.append(
                TaskContainer(
                    id=c.id,
                    name=c.spec.name,
                    status=c.status,
                    task_id=labels.get(naming.LABEL_TASK, ""),
                    run=int(labels.get(naming.LABEL_RUN, "0")),
                    host_pid=int(labels.get(naming.LABEL_HOST_PID, "0")),
                    created="",
                )
            )
        return found

    def copy_in(self, container_id: str, path: str, data: bytes, mode: int = 0o644) -> None:
        self._get(container_id).files[path] = data

    def copy_in_archive(self, container_id: str, archive: bytes) -> None:
        import io
        import tarfile

        files = self._get(container_id).files
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
            for member in tar.getmembers():
                extracted = tar.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    files["/" + member.name] = extracted.read()

    def copy_out(self, container_id: str, path: str) -> bytes:
        files = self._get(container_id).files
        if path not in files:
            raise GittaskError(f"{path} is not in the container")
        return files[path]
