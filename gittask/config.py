"""Project configuration: ``.claude-container/container_config.json``.

Committed with the project so a team shares it. Every key has a default, a
type and a check; ``config set`` parses text into the right type and refuses
bad values with a one-line reason. Secrets never go here: ``env`` holds only
the *names* of host variables passed to the agent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gittask.errors import UsageError
from gittask.files import write_atomic
from gittask.store.layout import DEFAULT_REMOTE as DEFAULT_REMOTE

if TYPE_CHECKING:
    from gittask.store.repo import GitRepo

CONFIG_DIR = ".claude-container"
CONFIG_FILE = "container_config.json"
DOCKERFILE = "Dockerfile.claude"


def _positive_int(text: Any) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


def _non_negative_int(text: Any) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be a whole number, 0 or more")
    return value


def _positive_float(text: Any) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError("must be a positive number")
    return value


def _memory(text: Any) -> str:
    value = str(text).strip().lower()
    if not re.fullmatch(r"\d+[bkmg]?", value):
        raise ValueError("must look like 512m or 4g")
    return value


def _bool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise ValueError("must be true or false")


def _agent(text: Any) -> str:
    value = str(text).strip()
    if value not in ("claude", "codex", "command"):
        raise ValueError("must be 'claude', 'codex' or 'command'")
    return value


def _workspace(text: Any) -> str:
    value = str(text).strip().lower()
    if value not in ("auto", "bind", "bundle"):
        raise ValueError("must be auto, bind or bundle")
    return value


def _claude_install(text: Any) -> str:
    value = str(text).strip().lower()
    if value not in ("auto", "npm", "host"):
        raise ValueError("must be auto, npm or host")
    return value


def _release(text: Any) -> str:
    value = str(text).strip()
    if not re.fullmatch(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?", value):
        raise ValueError("must be an exact release such as 2.1.332")
    return value


def _image_ref(text: Any) -> str:
    value = str(text).strip()
    if not re.fullmatch(r"[a-z0-9][\w.\-/:@]*", value):
        raise ValueError("must be an image reference such as debian:bookworm-slim, or debootstrap")
    return value


def _env_names(text: Any) -> list[str]:
    items = text if isinstance(text, list) else re.split(r"[,\s]+", str(text))
    names = [str(i).strip() for i in items if str(i).strip()]
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(
                f"'{name}' is not an environment variable name (names only, no values)"
            )
    return names


def _optional_str(text: Any) -> str | None:
    value = str(text).strip() if text is not None else ""
    return value or None


def _repo_name(text: Any) -> str | None:
    value = _optional_str(text)
    if value is not None and not re.fullmatch(r"[\w.-]+/[\w.-]+", value):
        raise ValueError("must be owner/name")
    return value


def _branch(text: Any) -> str | None:
    value = _optional_str(text)
    if value is not None and (value.startswith("-") or " " in value or ".." in value):
        raise ValueError("is not a valid branch name")
    return value


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def parse_optional(text: Any) -> Any:
        if text is None or str(text).strip().lower() in ("", "none", "null"):
            return None
        return parse(text)

    return parse_optional


@dataclass(frozen=True)
class Key:
    default: Any
    parse: Callable[[Any], Any]
    help: str


KEYS: dict[str, Key] = {
    "image": Key(None, _optional_str, "Docker image to run (default: derived from the repository)"),
    "agent": Key("claude", _agent, "which agent runs: claude, codex or command"),
    "base_image": Key(
        "node:22-bookworm-slim",
        _image_ref,
        "base of the agent image; 'debootstrap' makes one from Debian's packages",
    ),
    "claude_code_version": Key("2.1.332", _release, "Claude Code release the image installs"),
    "claude_install": Key(
        "auto",
        _claude_install,
        "how Claude Code gets into the image: npm (in the build), host (the host's npm; "
        "the build needs no network) or auto (host with a debootstrap base)",
    ),
    "codex_version": Key("0.171.0", _release, "Codex release the image installs (agent codex)"),
    "codex_install": Key(
        "auto",
        _claude_install,
        "how Codex gets into the image (agent codex): npm, host or auto, as claude_install",
    ),
    "agent_command": Key(None, _optional_str, "shell command run by the 'command' agent"),
    "base_branch": Key(None, _branch, "branch new tasks start from (default: origin's default)"),
    "timeout_seconds": Key(3600, _positive_int, "wall-clock limit for one run"),
    "silence_timeout_seconds": Key(900, _positive_int, "kill a run that prints nothing this long"),
    "memory": Key("4g", _memory, "container memory limit"),
    "cpus": Key(2.0, _positive_float, "container CPU limit"),
    "pids_limit": Key(512, _positive_int, "container process limit"),
    "network": Key("bridge", _optional_str, "Docker network mode for the agent's container"),
    "env": Key([], _env_names, "names of host variables passed to the agent"),
    "model": Key(None, _optional_str, "the agent's model (claude --model, codex -m)"),
    "max_turns": Key(None, _optional(_positive_int), "Claude --max-turns"),
    "max_budget_usd": Key(None, _optional(_positive_float), "Claude --max-budget-usd"),
    "max_retries": Key(None, _optional(_non_negative_int), "Claude API retries (default 3)"),
    "append_system_prompt": Key(
        None, _optional_str, "text added to Claude's system prompt (--append-system-prompt)"
    ),
    "remote": Key(DEFAULT_REMOTE, _optional_str, "git remote tasks and branches are pushed to"),
    "github_repo": Key(None, _repo_name, "owner/name of the GitHub repository (default: origin)"),
    "github_api_url": Key(None, _optional_str, "GitHub API base URL (GitHub Enterprise)"),
    "pr_draft": Key(True, _bool, "open pull requests as drafts"),
    "description.max_bytes": Key(
        1024 * 1024,
        _positive_int,
        "largest task description or feedback text, in bytes (longer input is refused)",
    ),
    "logs.max_bytes": Key(
        5 * 1024 * 1024, _positive_int, "bytes kept of each run log stored in git (before gzip)"
    ),
    "engine": Key(
        None,
        _optional_str,
        "docker context the runs go to (default: DOCKER_HOST, DOCKER_CONTEXT, the current "
        "context, as the docker CLI chooses)",
    ),
    "workspace": Key(
        "auto",
        _workspace,
        "how a run's worktree reaches the container: bind (a mount), bundle (git objects "
        "copied in and out: an engine on another host), or auto (bundle for ssh:// and "
        "tcp:// engines)",
    ),
    "worker.lease_seconds": Key(
        120, _positive_int, "a worker's claim on a task lasts this long unless renewed"
    ),
    "worker.max_attempts": Key(
        3, _positive_int, "claims of a queued task by workers before it is left failed"
    ),
    "worker.poll_seconds": Key(
        5.0, _positive_float, "how often a worker looks at the remote (queue, stop requests)"
    ),
    "sync.auto": Key(
        True, _bool, "publish every task change to the remote at once (false: only `task sync`)"
    ),
}


#: What ``config set`` reads as "no value" (stored as JSON null).
NULL_WORDS = ("", "null", "none")


def parse_value(key: str, value: Any) -> Any:
    """Text (or a JSON value) to the key's type. ``null``, ``none`` or nothing clear
    a key whose default is no value; a key with a real default refuses ``null`` and
    nothing (and points at ``config unset``)."""
    spec = KEYS.get(key)
    if spec is None:
        raise UsageError(f"unknown config key '{key}'", "valid keys: " + ", ".join(sorted(KEYS)))
    word = value.strip().lower() if isinstance(value, str) else None
    if spec.default is None and (value is None or word in NULL_WORDS):
        return None
    if value is None or word in ("", "null"):  # ("none" is a network mode)
        raise UsageError(
            f"{key} cannot be empty",
            f"'config unset {key}' goes back to the default, {json.dumps(spec.default)}",
        )
    try:
        return spec.parse(value)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"bad value for {key}: {value!r} {exc}".strip()) from None


@dataclass
class ProjectConfig:
    path: Path
    values: dict[str, Any]

    @classmethod
    def load(cls, root: Path) -> ProjectConfig:
        path = root / CONFIG_DIR / CONFIG_FILE
        values = {k: spec.default for k, spec in KEYS.items()}
        if path.is_file():
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UsageError(
                    f"cannot read {path}: {exc}",
                    "fix the JSON or run 'claude-container init --force'",
                ) from None
            if not isinstance(stored, dict):
                raise UsageError(f"{path} does not hold a JSON object")
            for key, value in stored.items():
                if key in KEYS:
                    try:
                        values[key] = KEYS[key].parse(value) if value is not None else None
                    except (ValueError, TypeError) as exc:
                        raise UsageError(f"{path}: bad value for {key}: {exc}") from None
        return cls(path=path, values=values)

    def __getitem__(self, key: str) -> Any:
        if key not in KEYS:
            raise UsageError(
                f"unknown config key '{key}'", "valid keys: " + ", ".join(sorted(KEYS))
            )
        return self.values[key]

    def set(self, key: str, value: Any) -> Any:
        parsed = parse_value(key, value)
        self.values[key] = parsed
        return parsed

    def unset(self, key: str) -> Any:
        """Back to the default; returns it."""
        self[key]  # an unknown key is refused
        self.values[key] = KEYS[key].default
        return self.values[key]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(self.values, indent=2) + "\n")


def project_root(repo: GitRepo) -> Path:
    """Where the project's ``.claude-container`` folder lives: the main checkout's
    root, also from a linked worktree (a bare repository: its git folder)."""
    return repo.main_workdir or repo.workdir or repo.common_dir


def load_config(repo: GitRepo) -> ProjectConfig:
    """The project's configuration, wherever in the repository a command runs."""
    return ProjectConfig.load(project_root(repo))


def configured_remote(root: Path) -> str:
    """The ``remote`` key read quickly and leniently (for the read path): ``origin``
    unless the project's config names another; a broken file is left to the
    commands that validate it."""
    try:
        stored = json.loads((root / CONFIG_DIR / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return DEFAULT_REMOTE
    value = stored.get("remote") if isinstance(stored, dict) else None
    return value if isinstance(value, str) and value.strip() else DEFAULT_REMOTE


def remote_of(config: ProjectConfig) -> str:
    """The git remote tasks and branches go to: the ``remote`` key, else ``origin``."""
    return str(config["remote"] or DEFAULT_REMOTE)
