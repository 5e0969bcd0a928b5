"""The Docker implementation of the engine interface, on a real engine (what only Docker shows)."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from gittask.errors import GittaskError
from gittask.runner import credentials
from gittask.runner.container import DockerEngine
from gittask.runner.engine import BindMount, ContainerSpec, labels_for
from gittask.runner.watch import Limits, watch
from tests.run_support import build_image, docker_available

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine")


@pytest.fixture(scope="module")
def image() -> str:
    return build_image()


@pytest.fixture
def engine() -> Iterator[DockerEngine]:
    engine = DockerEngine.connect()
    made: list[str] = []
    original = engine.create

    def create(spec: ContainerSpec) -> str:
        made.append(original(spec))
        return made[-1]

    engine.create = create  # type: ignore[method-assign]
    yield engine
    for container_id in made:
        engine.remove(container_id)


def spec(image: str, script: str, key: str, files: Path | None = None) -> ContainerSpec:
    binds = (BindMount(str(files), credentials.IN_CONTAINER, read_only=True),) if files else ()
    return ContainerSpec(
        image=image,
        command=credentials.wrap(("sh", "-c", script)) if files else ("sh", "-c", script),
        environment={"GREETING": "hello"},
        labels=labels_for(key, "feedbeef" * 4, 1, os.getpid()),
        user=f"{os.getuid()}:{os.getgid()}",
        name=f"gittask-engine-test-{secrets.token_hex(4)}",
        binds=binds,
        working_dir="/tmp",
        network="none",
        memory="64m",
        memory_swap="64m",
        credential_names=("TOKEN", "ODD") if files else (),
    )


def test_a_container_s_whole_life(engine: DockerEngine, image: str) -> None:
    key = f"engine-test-{secrets.token_hex(4)}"
    script = (
        'cat /tmp/in.txt; echo "$GREETING $TOKEN"; printf "[%s]\\n" "$ODD"; '
        "echo out > /tmp/out.txt; exit 3"
    )
    odd = "a b'c\"$(x) `y`\n\n"  # quotes, no expansion, trailing newlines kept
    files = credentials.CredentialFiles.write({"TOKEN": "s3cret-value", "ODD": odd})
    container_id = engine.create(spec(image, script, key, files.path))
    config = json.dumps(engine.client.api.inspect_container(container_id))
    assert "s3cret-value" not in config  # the credential is not in its configuration
    host = engine.client.api.inspect_container(container_id)["HostConfig"]
    assert host["Memory"] == host["MemorySwap"] == 64 * 1024 * 1024  # no swap
    engine.copy_in(container_id, "/tmp/in.txt", b"copied in\n", mode=0o644)
    state = engine.inspect(container_id)
    assert state is not None and state.status == "created"
    assert [c.id for c in engine.containers(key)] == [container_id]
    engine.start(container_id)
    chunks: list[bytes] = []
    result = watch(engine, container_id, chunks.append, lambda: False, Limits(60, 60, 10))
    assert result.exit_code == 3 and result.stopped is None
    assert b"".join(chunks) == b"copied in\nhello s3cret-value\n[" + odd.encode() + b"]\n"
    assert engine.copy_out(container_id, "/tmp/out.txt") == b"out\n"
    state = engine.inspect(container_id)
    assert state is not None and (state.status, state.exit_code) == ("exited", 3)
    assert engine.remove(container_id) and engine.inspect(container_id) is None
    assert engine.containers(key) == []
    files.remove()
    assert not files.path.exists()


def test_a_container_past_its_time_is_killed(engine: DockerEngine, image: str) -> None:
    container_id = engine.create(spec(image, "echo started; sleep 60", "engine-test-timeout"))
    engine.start(container_id)
    stops: list[str] = []
    result = watch(
        engine, container_id, lambda chunk: None, lambda: False, Limits(2, 60, 10), stops.append
    )
    assert result.stopped == "timeout" and stops == ["timeout"]
    assert result.duration < 30


def test_a_missing_image_is_one_line(engine: DockerEngine) -> None:
    with pytest.raises(GittaskError) as caught:
        engine.ensure_image("gittask-no-such-image:never")
    assert "not found" in caught.value.message and "\n" not in str(caught.value)


def test_credential_files_that_did_not_arrive_are_one_line(
    engine: DockerEngine, image: str, tmp_path: Path
) -> None:
    """An engine that cannot see the folder (another machine or mount namespace) shows
    the agent an empty one: the wrapper says so instead of starting it without keys."""
    empty = tmp_path / "empty"
    empty.mkdir()
    container_id = engine.create(spec(image, "echo started", "engine-test-empty", empty))
    engine.start(container_id)
    chunks: list[bytes] = []
    result = watch(engine, container_id, chunks.append, lambda: False, Limits(60, 60, 10))
    assert result.exit_code == 125
    assert b"the credential files did not reach the container" in b"".join(chunks)
    assert b"started" not in b"".join(chunks)
