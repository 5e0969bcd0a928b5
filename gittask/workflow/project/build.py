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
from gittask.runner.dockerfile import AGENT_BIN_DIR
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


@dataclass(frozen=True)
class _Plan:
    """What the settings and the Dockerfile ask of one build."""

    agent: str
    codex: bool
    version: str  # the agent's release
    base: str  # the base_image setting, or DEBOOTSTRAP
    install: str  # npm or host ("auto" decided)
    declared: frozenset[str]  # the Dockerfile's ARGs
    version_arg: str  # CLAUDE_CODE_VERSION or CODEX_VERSION
    install_arg: str

    @classmethod
    def of(cls, config: ProjectConfig, dockerfile: str, base_from_debian: bool) -> _Plan:
        from gittask.runner.image import declared_args

        codex = config.agent == "codex"
        base = DEBOOTSTRAP if base_from_debian else config.base_image
        install = config.codex_install if codex else config.claude_install
        if install == "auto":
            install = "host" if base == DEBOOTSTRAP else "npm"
        return cls(
            agent=config.agent,
            codex=codex,
            version=config.codex_version if codex else config.claude_code_version,
            base=base,
            install=install,
            declared=frozenset(declared_args(dockerfile)),
            version_arg="CODEX_VERSION" if codex else "CLAUDE_CODE_VERSION",
            install_arg="CODEX_INSTALL" if codex else "CLAUDE_INSTALL",
        )

    def check(self) -> None:
        """The Dockerfile installs the configured agent, and takes a made base if asked to."""
        claude, codex = "CLAUDE_CODE_VERSION" in self.declared, "CODEX_VERSION" in self.declared
        if self.codex and claude and not codex:
            raise GittaskError(
                f"the agent is codex but {CONFIG_DIR}/{DOCKERFILE} installs Claude Code",
                f"delete {CONFIG_DIR}/{DOCKERFILE} and run `claude-container init` to write "
                "the Codex one (init --force would also reset the settings)",
            )
        if not self.codex and codex and not claude:
            raise GittaskError(
                f"the agent is {self.agent} but {CONFIG_DIR}/{DOCKERFILE} installs Codex",
                f"set agent to codex, or delete {CONFIG_DIR}/{DOCKERFILE} and run "
                "`claude-container init`",
            )
        if self.base == DEBOOTSTRAP and "BASE_IMAGE" not in self.declared:
            raise GittaskError(
                f"{CONFIG_DIR}/{DOCKERFILE} has no ARG BASE_IMAGE, so its base cannot be "
                "the one made from Debian's packages",
                "regenerate it with `claude-container init --force`",
            )


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

    from gittask.runner.image import build_image, docker_client
    from gittask.runner.npm_package import CLAUDE_CODE, CODEX, agent_binary

    started = time.monotonic()
    say = progress or (lambda line: None)
    folder = project_dir(repo) / CONFIG_DIR
    dockerfile = _dockerfile(folder, force, say)
    config = ProjectConfig.load(folder.parent)
    tag = image_tag(repo, config)
    plan = _Plan.of(config, dockerfile, base_from_debian)
    plan.check()
    engine = client or docker_client(pinned=config.engine)  # where the runs go
    base = plan.base
    if base == DEBOOTSTRAP:
        from gittask.runner.debian_base import ensure_base

        base = ensure_base(engine, progress=say, rebuild=nocache)
    npm_agent = CODEX if plan.codex else CLAUDE_CODE
    binary = agent_binary(npm_agent, plan.version, progress=say) if plan.install == "host" else None
    buildargs = _buildargs(plan, base, say)
    # the task working copy (records, logs) lives in the same folder: not context
    skip = (WORKCOPY_DIR.relative_to(CONFIG_DIR).as_posix(),)
    key = _build_key(engine, folder, skip, buildargs, base, plan.install, binary)
    if _up_to_date(engine, tag, key, force) and not nocache:
        return _result(engine, tag, plan, base, True, started)
    extra: dict[str, Path | None] = {AGENT_BIN_DIR: None}  # the agent's files, host install
    if binary is not None:
        extra.update({f"{AGENT_BIN_DIR}/{n}": f for n, f in npm_agent.image_files(binary).items()})
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
        labels=_labels(plan, key, buildargs),
        network="none" if plan.install == "host" else None,
    )
    return _result(engine, tag, plan, base, False, started)


def _dockerfile(folder: Path, force: bool, say: Callable[[str], None]) -> str:
    """The project's Dockerfile, checked (its problems refuse the build unless ``force``)."""
    from gittask.runner.dockerfile import validate_dockerfile

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
    return text


def _up_to_date(engine: DockerClient, tag: str, key: str, force: bool) -> bool:
    """Whether the image ``tag`` was built from these inputs; an image another tool
    made under that name is refused unless ``force``."""
    current = labelled_image(engine, tag)
    if current is None:
        return False
    if not current[1].get(BUILD_KEY_LABEL) and not force:
        raise GittaskError(
            f"image {tag} was not built by claude-container (no {BUILD_KEY_LABEL} label): "
            "building would put another image under that name; nothing was built",
            "set another name with `config set image NAME`, or replace it with build --force",
        )
    return current[1].get(BUILD_KEY_LABEL) == key


def _buildargs(plan: _Plan, base: str, say: Callable[[str], None]) -> dict[str, str]:
    """The build arguments the Dockerfile declares, from the settings and the builder."""
    # the image's user gets the uid/gid of whoever builds it, whatever the
    # committed file's defaults say (a teammate's init wrote theirs)
    uid, gid, note = image_user_ids()
    wanted = {
        "USER_UID": str(uid),
        "USER_GID": str(gid),
        "BASE_IMAGE": base,
        plan.version_arg: plan.version,
        plan.install_arg: plan.install,
    }
    buildargs = {k: v for k, v in wanted.items() if k in plan.declared}
    if "USER_UID" in buildargs and note:
        say(f"note: {note}")
    return buildargs


def _labels(plan: _Plan, key: str, buildargs: dict[str, str]) -> dict[str, str]:
    """The image's labels: its build key and the agent's release (or, when the
    Dockerfile labels the image itself, the key as a build argument, no extra step)."""
    if "GITTASK_BUILD_KEY" in plan.declared:
        buildargs["GITTASK_BUILD_KEY"] = key
        return {}
    labels = {BUILD_KEY_LABEL: key}
    if plan.version_arg in plan.declared:
        labels[CODEX_VERSION_LABEL if plan.codex else VERSION_LABEL] = plan.version
    return labels


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
    client: DockerClient, tag: str, plan: _Plan, base: str, cached: bool, started: float
) -> BuildResult:
    """What was built (or found up to date), as the summary names it."""
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
        # only what the Dockerfile takes from the settings
        base=base if "BASE_IMAGE" in plan.declared else None,
        install=plan.install if plan.install_arg in plan.declared else None,
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
