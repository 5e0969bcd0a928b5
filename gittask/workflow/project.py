"""The project commands: ``init``, ``build``, ``config`` and ``clean``.

- :func:`init_project` writes ``.claude-container/container_config.json`` and
  ``Dockerfile.claude`` (never overwriting an edited one without ``force``),
  ignores the derived working copy in ``.gitignore`` and makes plain
  ``git fetch``/``git push`` carry the task refs. Running it twice changes nothing.
- :func:`build_project_image` validates the Dockerfile and builds the image
  under the project's tag (config ``image``, else derived from the repository).
  The context is the ``.claude-container`` folder minus the task working copy;
  declared ``USER_UID``/``USER_GID`` build arguments get the builder's ids.
- :func:`config_show` / :func:`config_get` / :func:`config_set`: typed keys from
  :mod:`gittask.config`; a bad key or value changes nothing.
- :func:`plan_clean` / :func:`apply_clean`: what crashed runs left (found by
  :mod:`gittask.runner.leftovers`, live runs never touched), the project's image,
  and, only when asked with ``yes``, the task data itself.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gittask.config import (
    CONFIG_DIR,
    CONFIG_FILE,
    DEFAULT_REMOTE,
    DOCKERFILE,
    KEYS,
    ProjectConfig,
    remote_of,
)
from gittask.errors import GittaskError, UsageError
from gittask.files import write_atomic
from gittask.runner import live, naming
from gittask.store import layout, runlogs
from gittask.store.fastpath import INDEX_FILE
from gittask.store.repo import GitRepo
from gittask.store.workcopy import WORKCOPY_DIR

if TYPE_CHECKING:
    from docker import DockerClient

    from gittask.runner.leftovers import Leftovers

#: The line ``init`` adds to ``.gitignore`` (the derived, browsable copy of the tasks).
GITIGNORE_LINE = f"{WORKCOPY_DIR.as_posix()}/"
#: uid/gid given to the image's user when the CLI runs as root (Claude Code refuses root).
FALLBACK_UID = 1000


def project_dir(repo: GitRepo) -> Path:
    """The main worktree's folder, where ``.claude-container`` lives."""
    root = repo.main_workdir or repo.workdir
    if root is None:
        raise GittaskError(
            "this is a bare repository: claude-container needs a checkout",
            "run it inside a clone with a working tree",
        )
    return root


def config_dir(repo: GitRepo) -> Path:
    return project_dir(repo) / CONFIG_DIR


def image_tag(repo: GitRepo, config: ProjectConfig | None = None) -> str:
    """Config ``image`` if set, else the tag derived from the repository."""
    config = config or ProjectConfig.load(project_dir(repo))
    return str(config["image"] or naming.default_image_tag(repo))


# -- init ------------------------------------------------------------------------------


@dataclass
class InitResult:
    written: list[str] = field(default_factory=list)  # created or replaced (--force)
    unchanged: list[str] = field(default_factory=list)  # already what init writes
    kept: list[str] = field(default_factory=list)  # edited by the user: left alone
    lines: list[str] = field(default_factory=list)  # what was done, for the user
    settings: list[str] = field(default_factory=list)  # git settings changed

    @property
    def changed(self) -> bool:
        return bool(self.written)


def image_user_ids() -> tuple[int, int, str | None]:
    """uid/gid for the image's user: the host user's; a note when they cannot be."""
    uid, gid = os.getuid(), os.getgid()
    if uid != 0:
        return uid, gid, None
    try:
        sudo_uid, sudo_gid = int(os.environ["SUDO_UID"]), int(os.environ["SUDO_GID"])
    except (KeyError, ValueError):
        sudo_uid = sudo_gid = 0
    if sudo_uid > 0:
        return sudo_uid, sudo_gid, f"running as root via sudo: the image's user gets uid {sudo_uid}"
    return (
        FALLBACK_UID,
        FALLBACK_UID,
        f"running as root: the image's user gets uid {FALLBACK_UID} "
        "(Claude Code refuses to run as root)",
    )


def default_config_text(root: Path) -> str:
    """What ``init`` writes as ``container_config.json``: every key at its default."""
    values = {key: spec.default for key, spec in KEYS.items()}
    return json.dumps(values, indent=2) + "\n"  # as ProjectConfig.save writes it


def _write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text, mode=0o644)


def _place(path: Path, text: str, force: bool, result: InitResult, label: str) -> None:
    try:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
    except OSError:
        current = None
    if current == text:
        result.unchanged.append(label)
        return
    if current is not None and not force:
        result.kept.append(label)
        result.lines.append(f"kept {label} (edited; use --force to replace it)")
        return
    _write_file(path, text)
    result.written.append(label)
    result.lines.append(f"{'replaced' if current is not None else 'wrote'} {label}")


def ensure_gitignore(root: Path) -> bool:
    """Add the working copy's line to ``.gitignore``, keeping the user's lines; True if added."""
    path = root / ".gitignore"
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except OSError as exc:
        raise GittaskError(f"cannot read {path}: {exc.strerror or exc}") from None
    wanted = GITIGNORE_LINE.rstrip("/")
    for line in text.splitlines():
        if line.strip().lstrip("/").rstrip("/") == wanted:
            return False
    if text and not text.endswith("\n"):
        text += "\n"
    text += GITIGNORE_LINE + "\n"
    _write_file(path, text)
    return True


def _configure_remote(repo: GitRepo, remote: str) -> list[str]:
    """Configure git for the task refs; one line per setting changed, or a status line."""
    from gittask.store.sync import configure_remote

    done = configure_remote(repo, remote)
    if repo.config_get(f"remote.{remote}.url") is None:
        done.append(f"no remote '{remote}': task state stays local until you add one")
    elif done:
        done.append(
            f"plain git push/pull are unchanged; task state goes to '{remote}' with each "
            "command (config sync.auto) or `task sync`"
        )
    return done


def uninit_project(repo: GitRepo) -> list[str]:
    """Remove every git setting ``init`` (or the first task command) made.

    The project's files (``.claude-container/``, the ``.gitignore`` line) and the
    task data are left alone: they are the team's, and ``clean --task-data``
    removes the data.
    """
    from gittask.store.sync import unconfigure_remote

    done = unconfigure_remote(repo)
    if not done:
        done.append("no claude-container git settings to remove")
    done.append(
        f"kept {CONFIG_DIR}/ and the task data (clean --task-data --yes removes the data); "
        "the next command that writes a task configures git again"
    )
    return done


def init_project(repo: GitRepo, force: bool = False) -> InitResult:
    """Set the project up for claude-container (idempotent)."""
    from gittask.runner.dockerfile import default_dockerfile

    root = project_dir(repo)
    result = InitResult()
    folder = root / CONFIG_DIR
    _place(
        folder / CONFIG_FILE,
        default_config_text(root),
        force,
        result,
        f"{CONFIG_DIR}/{CONFIG_FILE}",
    )
    uid, gid, note = image_user_ids()
    try:
        dockerfile = default_dockerfile(uid, gid)
    except ValueError as exc:
        raise GittaskError(str(exc)) from None
    _place(folder / DOCKERFILE, dockerfile, force, result, f"{CONFIG_DIR}/{DOCKERFILE}")
    if note and f"{CONFIG_DIR}/{DOCKERFILE}" in result.written:
        result.lines.append(note)
    if ensure_gitignore(root):
        result.written.append(".gitignore")
        result.lines.append(f"added {GITIGNORE_LINE} to .gitignore")
    try:
        remote = remote_of(ProjectConfig.load(root))
    except UsageError:
        remote = DEFAULT_REMOTE  # a broken kept config: its remote setting cannot be read
    settings = _configure_remote(repo, remote)
    result.lines += settings
    result.settings = [line for line in settings if line.startswith(("set ", "added ", "removed "))]
    if not result.written and not result.settings:
        result.lines.insert(0, "already initialised: nothing to change")
    return result


# -- build -----------------------------------------------------------------------------


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

    def describe(self) -> str:
        verb = "up to date" if self.cached else "built"
        parts = [f"image {self.image_id.removeprefix('sha256:')[:12]}", f"{self.size / 1e6:.0f} MB"]
        if self.claude_code_version:
            parts.append(f"Claude Code {self.claude_code_version}")
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
            "base": self.base,
            "install": self.install,
            "cached": self.cached,
            "seconds": round(self.seconds, 3),
        }


#: Image labels written by ``build``.
BUILD_KEY_LABEL = "gittask.build-key"
VERSION_LABEL = "gittask.claude-code-version"
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
    version = str(config["claude_code_version"])
    base = DEBOOTSTRAP if base_from_debian else str(config["base_image"])
    install = str(config["claude_install"])
    if install == "auto":
        install = "host" if base == DEBOOTSTRAP else "npm"
    declared = declared_args(text)
    engine = client or docker_client()
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
    if install == "host":
        from gittask.runner.npm_package import claude_binary

        binary = claude_binary(version, progress=say)
    # the image's user gets the uid/gid of whoever builds it, whatever the
    # committed file's defaults say (a teammate's init wrote theirs)
    uid, gid, note = image_user_ids()
    wanted = {
        "USER_UID": str(uid),
        "USER_GID": str(gid),
        "BASE_IMAGE": base,
        "CLAUDE_CODE_VERSION": version,
        "CLAUDE_INSTALL": install,
    }
    buildargs = {k: v for k, v in wanted.items() if k in declared}
    if "USER_UID" in buildargs and note:
        say(f"note: {note}")
    # the task working copy (records, logs) lives in the same folder: not context
    skip = (WORKCOPY_DIR.relative_to(CONFIG_DIR).as_posix(),)
    key = _build_key(engine, folder, skip, buildargs, base, install, binary)
    # what the summary names: only what the Dockerfile takes from the settings
    shown_base = base if "BASE_IMAGE" in declared else None
    shown_install = install if "CLAUDE_INSTALL" in declared else None
    if not nocache:
        current = _labelled(engine, tag)
        if current is not None and current[1].get(BUILD_KEY_LABEL) == key:
            return _result(engine, tag, shown_base, shown_install, True, started)
    extra: dict[str, Path | None] = {AGENT_BIN_DIR: None}
    if binary is not None:
        extra[f"{AGENT_BIN_DIR}/claude"] = binary
    labels: dict[str, str] = {}
    if "GITTASK_BUILD_KEY" in declared:  # labelled by the Dockerfile itself: no extra step
        buildargs["GITTASK_BUILD_KEY"] = key
    else:
        labels = {BUILD_KEY_LABEL: key}
        if "CLAUDE_CODE_VERSION" in declared:
            labels[VERSION_LABEL] = version
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


def _labelled(client: DockerClient, tag: str) -> tuple[str, dict[str, str], int] | None:
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

    found = _labelled(client, tag)
    if found is None:
        raise GittaskError(f"the build finished but the engine has no image {tag}")
    image_id, labels, size = found
    return BuildResult(
        tag=tag,
        image_id=image_id,
        size=size,
        claude_code_version=labels.get(VERSION_LABEL),
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
    found = _labelled(client, base)
    digest.update(f"base={found[0] if found else base}\0install={install}\0".encode())
    if binary is not None:
        stat = binary.stat()
        digest.update(f"binary={binary}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def _context_files(folder: Path, skip: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = Path(dirpath).relative_to(folder).as_posix()
        dirnames[:] = [
            d for d in dirnames if (f"{rel}/{d}" if rel != "." else d) not in skip
        ]
        for filename in filenames:
            names.append(f"{rel}/{filename}" if rel != "." else filename)
    return names


# -- config ----------------------------------------------------------------------------


def config_show(repo: GitRepo) -> dict[str, Any]:
    return dict(ProjectConfig.load(project_dir(repo)).values)


def config_get(repo: GitRepo, key: str) -> Any:
    return ProjectConfig.load(project_dir(repo))[key]


def config_set(repo: GitRepo, key: str, value: str) -> Any:
    """Parse, check and store one key; nothing is written on a bad key or value."""
    config = ProjectConfig.load(project_dir(repo))
    parsed = config.set(key, value)
    config.save()
    return parsed


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


# -- clean -----------------------------------------------------------------------------


@dataclass
class CleanPlan:
    leftovers: Leftovers
    images: list[str] = field(default_factory=list)
    task_data: list[str] = field(default_factory=list)  # refs and paths, as shown
    interrupted: list[str] = field(default_factory=list)  # task ids with a stale marker
    notes: list[str] = field(default_factory=list)
    client: DockerClient | None = None

    def describe(self) -> list[str]:
        lines = [f"container {c.name} (task {c.task_id[:8]})" for c in self.leftovers.containers]
        lines += [f"worktree {p.name}" for p in self.leftovers.worktrees]
        lines += [f"stale run marker of task {m.task_id[:8]}" for m in self.leftovers.markers]
        lines += [f"image {tag}" for tag in self.images]
        lines += [f"task data {item}" for item in self.task_data]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "containers": [
                {"id": c.id, "name": c.name, "task_id": c.task_id, "status": c.status}
                for c in self.leftovers.containers
            ],
            "worktrees": [str(p) for p in self.leftovers.worktrees],
            "stale_markers": [m.task_id for m in self.leftovers.markers],
            "interrupted_tasks": list(self.interrupted),
            "images": list(self.images),
            "task_data": list(self.task_data),
            "notes": list(self.notes),
        }


def _task_data_items(repo: GitRepo) -> list[tuple[str, Callable[[], None]]]:
    """What ``--task-data`` deletes: (shown name, remover), only what exists."""
    items: list[tuple[str, Callable[[], None]]] = []
    refs = [layout.DATA_REF, layout.NOTES_REF]
    # the local copies of a remote's task state: left behind, the next command
    # would merge them straight back (the remote itself is not touched)
    listed = repo.git(
        "for-each-ref",
        "--format=%(refname)",
        f"refs/remotes/*/{layout.REMOTE_BRANCH}",
        f"refs/notes/remotes/*/{layout.REMOTE_BRANCH}",
        runlogs.LOGS_REF_PREFIX,  # the run logs, and the copies fetched of a remote's
        runlogs.TRACKING_PREFIX,
        check=False,
    ).stdout.split()
    for ref in [*refs, *listed]:
        if repo.git("rev-parse", "--verify", "-q", ref, check=False).returncode == 0:
            items.append((ref, functools.partial(_delete_ref, repo, ref)))
    for path in sorted(repo.state_dir.glob(f"{INDEX_FILE}*")):
        items.append((str(path), functools.partial(path.unlink, missing_ok=True)))
    workcopy = project_dir(repo) / WORKCOPY_DIR
    if workcopy.exists():
        items.append((str(workcopy), lambda: shutil.rmtree(workcopy, ignore_errors=True)))
    return items


def _delete_ref(repo: GitRepo, ref: str) -> None:
    repo.git("update-ref", "-d", ref)


def plan_clean(
    repo: GitRepo,
    containers: bool = True,
    worktrees: bool = True,
    images: bool = False,
    task_data: bool = False,
) -> CleanPlan:
    """What ``clean`` would remove; nothing is changed."""
    from gittask.runner import leftovers

    client: DockerClient | None = None
    notes: list[str] = []
    if containers or images:
        from gittask.runner.container import EngineUnavailable, connect

        try:
            client = connect()
        except EngineUnavailable as exc:
            if images:
                raise
            notes.append(f"containers not checked: {exc.message}")
    found = leftovers.find(repo, client if containers else None)
    if not worktrees:
        found.worktrees = []
        found.markers = []
    plan = CleanPlan(leftovers=found, notes=notes, client=client)
    plan.interrupted = [m.task_id for m in live.all_markers(repo) if not m.alive]
    if images and client is not None:
        from gittask.runner.image import image_exists

        tag = image_tag(repo)
        if image_exists(tag, client):
            plan.images.append(tag)
        else:
            plan.notes.append(f"no image {tag} to remove")
    if task_data:
        plan.task_data = [name for name, _ in _task_data_items(repo)]
    return plan


def _settle_interrupted(repo: GitRepo, task_ids: list[str]) -> list[str]:
    """Records still ``running`` for a run whose process died here become ``failed``.

    Only runs of this machine (a dead local marker) are settled: a task running
    in another clone has no marker here and is left alone.
    """
    from gittask.workflow.database import database_for
    from gittask.workflow.run import recover_stale_run

    if not task_ids:
        return []
    db = database_for(repo)
    done = []
    for task_id in task_ids:
        if db.store.exists(task_id) and recover_stale_run(db, task_id):
            done.append(f"recorded task {task_id[:8]} as failed (its run's process died)")
    if done:
        from gittask.workflow.publish import after_change

        after_change(db)
    return done


def apply_clean(repo: GitRepo, plan: CleanPlan, task_data: bool = False) -> list[str]:
    """Remove what ``plan`` lists; one line per thing done."""
    from gittask.runner import leftovers

    if task_data:
        running = [m for m in live.all_markers(repo) if m.alive]
        if running:
            raise GittaskError(
                f"task {running[0].task_id[:8]} is running: nothing was removed",
                "wait for the run to end, then run clean --task-data again",
            )
    done = _settle_interrupted(repo, plan.interrupted) if plan.leftovers.markers else []
    done += leftovers.remove(repo, plan.client, plan.leftovers)
    for tag in plan.images:
        from gittask.runner.image import remove_image

        try:
            remove_image(tag, plan.client)
            done.append(f"removed image {tag}")
        except GittaskError as exc:
            done.append(f"could not remove image {tag}: {exc.message}")
    if task_data:
        for name, remove in _task_data_items(repo):
            with contextlib.suppress(FileNotFoundError):
                remove()
            done.append(f"removed {name}")
        from gittask.store.sync import unconfigure_remote

        done += unconfigure_remote(repo)
    return done
