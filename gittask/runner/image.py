"""The agent image: build it from ``.claude-container/Dockerfile.claude``, check it exists.

Uses the docker SDK's low-level API (imported inside functions: it costs
start-up time) so the build's progress can be streamed line by line. Failures
are one-line :class:`GittaskError`; an unreachable engine is
:class:`~gittask.runner.container.EngineUnavailable` with how to start one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from gittask.errors import GittaskError
from gittask.text import one_line

if TYPE_CHECKING:
    from docker import DockerClient

Progress = Callable[[str], None]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def docker_client(pinned: str | None = None) -> DockerClient:
    """A client for the engine that answers, or a one-line error saying how to start one;
    ``pinned``: the project's ``engine`` setting."""
    from gittask.runner.container import connect

    return connect(pinned=pinned)


def _client(client: DockerClient | None) -> DockerClient:
    return client if client is not None else docker_client()


def declared_args(dockerfile_text: str) -> set[str]:
    """The build arguments a Dockerfile declares (``ARG NAME`` or ``ARG NAME=default``)."""
    names: set[str] = set()
    for match in re.finditer(r"^\s*ARG\s+(.+)$", dockerfile_text, re.MULTILINE | re.IGNORECASE):
        for item in match.group(1).split():
            name = item.split("=", 1)[0]
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                names.add(name)
    return names


def image_exists(tag: str, client: DockerClient | None = None) -> bool:
    """Whether the engine has an image called ``tag``."""
    from docker.errors import APIError, ImageNotFound

    docker_client = _client(client)
    try:
        docker_client.images.get(tag)
    except ImageNotFound:
        return False
    except APIError as exc:
        raise GittaskError(f"cannot inspect image {tag}: {_reason(exc)}") from None
    return True


def remove_image(tag: str, client: DockerClient | None = None) -> bool:
    """Remove the image ``tag``; True when it is gone (or was never there)."""
    from docker.errors import APIError, ImageNotFound

    docker_client = _client(client)
    try:
        docker_client.images.remove(tag, noprune=False)
    except ImageNotFound:
        return True
    except APIError as exc:
        raise GittaskError(f"cannot remove image {tag}: {_reason(exc)}") from None
    return True


def build_image(
    context: Path,
    tag: str,
    dockerfile: str = "Dockerfile.claude",
    nocache: bool = False,
    progress: Progress | None = None,
    client: DockerClient | None = None,
    exclude: tuple[str, ...] = (),
    buildargs: dict[str, str] | None = None,
    extra: dict[str, Path | None] | None = None,
    labels: dict[str, str] | None = None,
    network: str | None = None,
) -> str:
    """Build ``context/dockerfile`` as ``tag``; returns the image id.

    The context is the folder minus what its ``.dockerignore`` and ``exclude``
    (patterns relative to it) leave out, plus ``extra`` (archive name: a file to
    add, or None for an empty folder). ``buildargs`` are passed as
    ``--build-arg`` (only give arguments the Dockerfile declares); ``labels``
    label the image; ``network`` is the build's network mode (``none``: offline).

    Each line of the build's output goes to ``progress`` as it arrives; an
    error in the stream (a failed RUN step, a missing base image) raises a
    one-line GittaskError.
    """
    from docker.errors import DockerException

    say = progress or (lambda line: None)
    archive = _context_archive(context, dockerfile, exclude, extra or {})
    docker_client = _client(client)
    try:
        stream = docker_client.api.build(
            fileobj=archive,
            custom_context=True,
            dockerfile=dockerfile,
            tag=tag,
            decode=True,
            nocache=nocache,
            rm=True,
            forcerm=True,
            pull=False,
            buildargs=buildargs or None,
            labels=labels or None,
            network_mode=network,
        )
        image_id, last_lines = _follow(stream, tag, say)
    except DockerException as exc:  # an APIError too
        raise GittaskError(f"building {tag} failed: {_reason(exc)}") from None
    except OSError as exc:
        raise GittaskError(f"building {tag} failed: {exc}") from None
    finally:
        archive.close()
    if image_id is None:
        # the stream ended without an id: ask the engine for what the tag names now
        try:
            image_id = str(docker_client.images.get(tag).id)
        except DockerException:
            detail = last_lines[-1] if last_lines else "no output"
            raise GittaskError(f"building {tag} failed: {detail}") from None
    return image_id


def _follow(stream: Iterable[object], tag: str, say: Progress) -> tuple[str | None, list[str]]:
    """Each line of the build's output to ``say``; the image id it names (or None)
    and its last lines. An error event is one GittaskError line."""
    image_id: str | None = None
    last_lines: list[str] = []
    for event in stream:
        if not isinstance(event, dict):
            continue
        failure = _event_error(event)
        if failure is not None:
            raise GittaskError(f"building {tag} failed: {failure}")
        aux = event.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
            image_id = aux["ID"]
        for line in _event_lines(event):
            last_lines = ([*last_lines, line])[-5:]
            match = re.match(r"Successfully built ([0-9a-f]+)", line)
            if match and image_id is None:
                image_id = match.group(1)
            say(line)
    return image_id, last_lines


def _context_archive(
    context: Path, dockerfile: str, exclude: tuple[str, ...], extra: dict[str, Path | None]
) -> IO[bytes]:
    """The build context as a tar file (what ``api.build(path=...)`` sends, minus
    ``exclude``, plus ``extra``); a missing Dockerfile or unreadable file is one error."""
    if not (context / dockerfile).is_file():
        raise GittaskError(
            f"{context / dockerfile} does not exist", "run `claude-container init` to create it"
        )
    try:
        return _tar(context, dockerfile, exclude, extra)
    except OSError as exc:
        raise GittaskError(f"cannot read the build context {context}: {exc}") from None


def _tar(
    context: Path, dockerfile: str, exclude: tuple[str, ...], extra: dict[str, Path | None]
) -> IO[bytes]:
    import tarfile

    from docker import utils

    patterns = list(exclude)
    ignore = context / ".dockerignore"
    if ignore.is_file():
        lines = ignore.read_text(encoding="utf-8").splitlines()
        patterns += [x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#")]
    archive: IO[bytes] = utils.tar(str(context), exclude=patterns, dockerfile=(dockerfile, None))
    if extra:
        with tarfile.open(fileobj=archive, mode="a") as tar:
            for name, source in extra.items():
                if source is None:
                    info = tarfile.TarInfo(name)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
                else:
                    tar.add(str(source), arcname=name, recursive=False)
        archive.seek(0)
    return archive


def _event_error(event: dict[str, Any]) -> str | None:
    detail = event.get("errorDetail")
    message = event.get("error")
    if isinstance(detail, dict) and detail.get("message"):
        message = detail["message"]
    if not message:
        return None
    return _one_line(str(message))


def _event_lines(event: dict[str, Any]) -> list[str]:
    """The readable lines of one build event (``stream`` text or a ``status``)."""
    text = event.get("stream")
    if isinstance(text, str):
        return [line for line in (_ANSI.sub("", x).rstrip() for x in text.splitlines()) if line]
    status = event.get("status")
    if isinstance(status, str):
        progress = event.get("progress")
        ident = event.get("id")
        parts = [str(ident) + ":" if ident else "", status, str(progress or "")]
        return [" ".join(p for p in parts if p)]
    return []


def _one_line(text: str, limit: int = 400) -> str:
    return one_line(_ANSI.sub("", text), limit)


def _reason(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return _one_line(str(explanation or exc))
