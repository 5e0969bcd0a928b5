"""``build``: the agent image from ``Dockerfile.claude``, reused when nothing changed."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gittask.config import (
    CONFIG_DIR,
    CONFIG_FILE,
    DOCKERFILE,
    ProjectConfig,
)
from gittask.errors import GittaskError
from gittask.store.repo import GitRepo
from gittask.store.workcopy import WORKCOPY_DIR

if TYPE_CHECKING:
    from docker import DockerClient

from gittask.workflow.project.initialise import image_user_ids
from gittask.workflow.project.paths import image_tag, project_dir


@dataclass
class BuildResult:
    tag: str
    image_id: str
    size: int  # bytes, as the engine reports it
    claude_code_version: str | None  # what the image was built to hold
    base: str | None  # None: the Dockerfile names its own base
    install: str | None  # npm or host; None: the Dockerfile installs the agent its own way
    cached: bool  # nothing changed: the image was already built from these inputs
    seconds: float
    codex_version: str | None = None  # agent codex: the Codex release it holds

    def describe(self) -> str:
        verb = "up to date" if self.cached else "built"
        parts = [f"image {self.image_id.removeprefix('sha256:')[:12]}", f"{self.size / 1e6:.0f} MB"]
        if self.claude_code_version:
            parts.append(f"Claude Code {self.claude_code_version}")
        if self.codex_version:
            parts.append(f"Codex {self.codex_version}")
        if self.base:
            parts.append(f"base {self.base}")
        if self.install:
            parts.append(f"installed by {'the host' if self.install == 'host' else 'npm'}")
        parts.append(f"{self.seconds:.1f} s")
        return f"{verb}: {self.tag} ({', '.join(parts)})"

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "image_id": self.image_id,
            "size": self.size,
            "claude_code_version": self.claude_code_version,
            "codex_version": self.codex_version,
            "base": self.base,
            "install": self.install,
            "cached": self.cached,
            "seconds": round(self.seconds, 3),
        }


#: Image labels written by ``build``.
BUILD_KEY_LABEL = "gittask.build-key"

VERSION_LABEL = "gittask.claude-code-version"

CODEX_VERSION_LABEL = "gittask.codex-version"

DEBOOTSTRAP = "debootstrap"


def build_project_image(
    repo: GitRepo,
    nocache: bool = False,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    client: DockerClient | None = None,
    base_from_debian: bool = False,
) -> BuildResult:
    """Validate and build the project's image (skipped when nothing changed).

    The base is the ``base_image`` setting (``debootstrap``, or *base_from_debian*:
    made from Debian's packages, see :mod:`gittask.runner.debian_base`). Claude
    Code ``claude_code_version`` is installed by npm inside the build, or by the
    host's npm and copied in (``claude_install``; ``auto`` means host with a
    debootstrap base), then the build runs with no network at all.
    """
    import time

    from gittask.runner.dockerfile import AGENT_BIN_DIR, validate_dockerfile
    from gittask.runner.image import build_image, declared_args, docker_client

    started = time.monotonic()
    say = progress or (lambda line: None)
    root = project_dir(repo)
    folder = root / CONFIG_DIR
    path = folder / DOCKERFILE
    if not path.is_file():
        raise GittaskError(f"{path} does not exist", "run `claude-container init` first")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GittaskError(f"cannot read {path}: {exc.strerror or exc}") from None
    problems = validate_dockerfile(text)
    if problems and not force:
        raise GittaskError(
            f"{CONFIG_DIR}/{DOCKERFILE} is not fit to run the agent: " + "; ".join(problems),
            "fix it, or build anyway with --force",
        )
    for problem in problems:
        say(f"warning: {problem}")
    config = ProjectConfig.load(root)
    tag = image_tag(repo, config)
    codex = config.agent == "codex"
    version = config.codex_version if codex else config.claude_code_version
    base = DEBOOTSTRAP if base_from_debian else config.base_image
    install = config.codex_install if codex else config.claude_install
    if install == "auto":
        install = "host" if base == DEBOOTSTRAP else "npm"
    declared = declared_args(text)
    version_arg, install_arg = (
        ("CODEX_VERSION", "CODEX_INSTALL") if codex else ("CLAUDE_CODE_VERSION", "CLAUDE_INSTALL")
    )
    if codex and "CLAUDE_CODE_VERSION" in declared and "CODEX_VERSION" not in declared:
        raise GittaskError(
            f"the agent is codex but {CONFIG_DIR}/{DOCKERFILE} installs Claude Code",
            f"delete {CONFIG_DIR}/{DOCKERFILE} and run `claude-container init` to write "
            "the Codex one (init --force would also reset the settings)",
        )
    if not codex and "CODEX_VERSION" in declared and "CLAUDE_CODE_VERSION" not in declared:
        raise GittaskError(
            f"the agent is {config.agent} but {CONFIG_DIR}/{DOCKERFILE} installs Codex",
            f"set agent to codex, or delete {CONFIG_DIR}/{DOCKERFILE} and run "
            "`claude-container init`",
        )
    engine = client or docker_client(pinned=config.engine)  # where the runs go
    if base == DEBOOTSTRAP:
        from gittask.runner.debian_base import ensure_base

        if "BASE_IMAGE" not in declared:
            raise GittaskError(
                f"{CONFIG_DIR}/{DOCKERFILE} has no ARG BASE_IMAGE, so its base cannot be "
                "the one made from Debian's packages",
                "regenerate it with `claude-container init --force`",
            )
        base = ensure_base(engine, progress=say, rebuild=nocache)
    binary: Path | None = None
    from gittask.runner.npm_package import CLAUDE_CODE, CODEX, agent_binary

    npm_agent = CODEX if codex else CLAUDE_CODE
    if install == "host":
        binary = agent_binary(npm_agent, version, progress=say)
    # the image's user gets the uid/gid of whoever builds it, whatever the
    # committed file's defaults say (a teammate's init wrote theirs)
    uid, gid, note = image_user_ids()
    wanted = {
        "USER_UID": str(uid),
        "USER_GID": str(gid),
        "BASE_IMAGE": base,
        version_arg: version,
        install_arg: install,
    }
    buildargs = {k: v for k, v in wanted.items() if k in declared}
    if "USER_UID" in buildargs and note:
        say(f"note: {note}")
    # the task working copy (records, logs) lives in the same folder: not context
    skip = (WORKCOPY_DIR.relative_to(CONFIG_DIR).as_posix(),)
    key = _build_key(engine, folder, skip, buildargs, base, install, binary)
    # what the summary names: only what the Dockerfile takes from the settings
    shown_base = base if "BASE_IMAGE" in declared else None
    shown_install = install if install_arg in declared else None
    current = labelled_image(engine, tag)
    if current is not None and not current[1].get(BUILD_KEY_LABEL) and not force:
        raise GittaskError(
            f"image {tag} was not built by claude-container (no {BUILD_KEY_LABEL} label): "
            "building would put another image under that name; nothing was built",
            "set another name with `config set image NAME`, or replace it with build --force",
        )
    if not nocache and current is not None and current[1].get(BUILD_KEY_LABEL) == key:
        return _result(engine, tag, shown_base, shown_install, True, started)
    extra: dict[str, Path | None] = {AGENT_BIN_DIR: None}
    if binary is not None:
        for name, source in npm_agent.image_files(binary).items():
            extra[f"{AGENT_BIN_DIR}/{name}"] = source
    labels: dict[str, str] = {}
    if "GITTASK_BUILD_KEY" in declared:  # labelled by the Dockerfile itself: no extra step
        buildargs["GITTASK_BUILD_KEY"] = key
    else:
        labels = {BUILD_KEY_LABEL: key}
        if version_arg in declared:
            labels[CODEX_VERSION_LABEL if codex else VERSION_LABEL] = version
    build_image(
        folder,
        tag,
        dockerfile=DOCKERFILE,
        nocache=nocache,
        progress=say,
        client=engine,
        exclude=skip,
        buildargs=buildargs,
        extra=extra,
        labels=labels,
        network="none" if install == "host" else None,
    )
    return _result(engine, tag, shown_base, shown_install, False, started)


def labelled_image(client: DockerClient, tag: str) -> tuple[str, dict[str, str], int] | None:
    """``(id, labels, size)`` of the image ``tag``, or None if the engine lacks it."""
    from docker.errors import DockerException

    try:
        image = client.images.get(tag)
    except DockerException:
        return None
    labels = (image.attrs.get("Config") or {}).get("Labels") or {}
    return str(image.id), dict(labels), int(image.attrs.get("Size") or 0)


def _result(
    client: DockerClient,
    tag: str,
    base: str | None,
    install: str | None,
    cached: bool,
    started: float,
) -> BuildResult:
    import time

    found = labelled_image(client, tag)
    if found is None:
        raise GittaskError(f"the build finished but the engine has no image {tag}")
    image_id, labels, size = found
    return BuildResult(
        tag=tag,
        image_id=image_id,
        size=size,
        claude_code_version=labels.get(VERSION_LABEL),
        codex_version=labels.get(CODEX_VERSION_LABEL),
        base=base,
        install=install,
        cached=cached,
        seconds=time.monotonic() - started,
    )


def _build_key(
    client: DockerClient,
    folder: Path,
    skip: tuple[str, ...],
    buildargs: dict[str, str],
    base: str,
    install: str,
    binary: Path | None,
) -> str:
    """A digest of everything the image is made from: context files, arguments, the
    base image's id, the binary's identity. Equal keys: nothing to rebuild."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(_context_files(folder, skip)):
        if name == CONFIG_FILE:
            continue  # the settings that shape the image are in buildargs
        digest.update(name.encode() + b"\0")
        try:
            digest.update(hashlib.sha256((folder / name).read_bytes()).digest())
        except OSError:
            digest.update(b"?")
    for name, value in sorted(buildargs.items()):
        digest.update(f"{name}={value}\0".encode())
    found = labelled_image(client, base)
    digest.update(f"base={found[0] if found else base}\0install={install}\0".encode())
    if binary is not None:
        stat = binary.stat()
        digest.update(f"binary={binary}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def _context_files(folder: Path, skip: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = Path(dirpath).relative_to(folder).as_posix()
        dirnames[:] = [d for d in dirnames if (f"{rel}/{d}" if rel != "." else d) not in skip]
        for filename in filenames:
            names.append(f"{rel}/{filename}" if rel != "." else filename)
    return names
