"""Every project setting, with its type, default, check and meaning: the one table.

**Adding a setting is one line** in :class:`ProjectConfig`::

    pids_limit: int = setting(512, whole(), "container process limit")

- the annotation is the setting's type where it is read: ``config.pids_limit``;
- ``setting(default, kind, meaning)``: the kind (:mod:`gittask.config.kinds`:
  ``whole(minimum=...)``, ``positive_number``, ``flag``, ``choice(...)``, ``text``,
  ``optional(kind)``, ...) parses and checks what ``config set`` and the file give,
  and names the expected type in errors; the meaning is what ``config show`` prints;
- a dotted key is read with underscores: ``logs_max_bytes: int = setting(...,
  key="logs.max_bytes")`` is ``logs.max_bytes`` on disk and on the command line;
- a setting whose default is ``None`` takes an ``optional(...)`` kind, and
  ``config set KEY null`` clears it.

Nothing else needs to change: ``config get/set/unset/show``, the defaults ``init``
writes and the checks on load all come from this table. Secrets never go here:
``env`` holds only the *names* of host variables passed to the agent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gittask.config.file import config_path, project_root, read_stored
from gittask.config.kinds import (
    Kind,
    branch,
    choice,
    env_names,
    flag,
    hosts,
    image_ref,
    memory_size,
    optional,
    positive_number,
    release,
    repo_name,
    text,
    whole,
)
from gittask.errors import UsageError
from gittask.model.deps import SUCCESS_MODES
from gittask.store.layout import DEFAULT_REMOTE

if TYPE_CHECKING:
    from gittask.store.repo import GitRepo

T = TypeVar("T")
MiB = 1024 * 1024
INSTALL = choice("auto", "npm", "host", lower=True)


def setting(default: T, kind: Kind[T], meaning: str, *, key: str | None = None) -> T:
    """One row of the table (a dataclass field that carries its kind and meaning)."""
    about = {"kind": kind, "meaning": meaning, "key": key}
    return field(default=default, metadata=about)


@dataclass(frozen=True)
class ProjectConfig:
    """The project's settings, typed; ``ProjectConfig()`` is every default."""

    image: str | None = setting(
        None, optional(text), "Docker image to run (default: derived from the repository)"
    )
    agent: str = setting(
        "claude", choice("claude", "codex", "command"), "which agent runs: claude, codex or command"
    )
    base_image: str = setting(
        "node:22-bookworm-slim",
        image_ref,
        "base of the agent image; 'debootstrap' makes one from Debian's packages",
    )
    claude_code_version: str = setting("2.1.332", release, "Claude Code release the image installs")
    claude_install: str = setting(
        "auto",
        INSTALL,
        "how Claude Code gets into the image: npm (in the build), host (the host's npm; "
        "the build needs no network) or auto (host with a debootstrap base)",
    )
    codex_version: str = setting(
        "0.171.0", release, "Codex release the image installs (agent codex)"
    )
    codex_install: str = setting(
        "auto",
        INSTALL,
        "how Codex gets into the image (agent codex): npm, host or auto, as claude_install",
    )
    agent_command: str | None = setting(
        None, optional(text), "shell command run by the 'command' agent"
    )
    base_branch: str | None = setting(
        None, optional(branch), "branch new tasks start from (default: origin's default)"
    )
    timeout_seconds: int = setting(3600, whole(), "wall-clock limit for one run")
    silence_timeout_seconds: int = setting(900, whole(), "kill a run that prints nothing this long")
    heartbeat_seconds: int = setting(
        30,
        whole(minimum=0),
        "while the agent prints nothing, say every N seconds that it works (elapsed time, "
        "last tool call) in the live view; 0: never",
    )
    notify: str = setting(
        "both",
        choice("bell", "desktop", "both", "none", lower=True),
        "when a --detach run ends: the terminal bell where it was started, a desktop "
        "notification (notify-send, osascript) where one can be shown, both, or none",
    )
    memory: str = setting("4g", memory_size, "container memory limit")
    cpus: float = setting(2.0, positive_number, "container CPU limit")
    pids_limit: int = setting(512, whole(), "container process limit")
    network: str = setting(
        "allowlist",
        text,
        "how the agent's container reaches the network: allowlist (only the model API and "
        "network.allow, through the run's proxy; everything else refused and logged), "
        "none, or a Docker network mode such as host (unfiltered)",
    )
    network_allow: tuple[str, ...] = setting(
        (),
        hosts,
        "hosts the agent may reach besides its model API (network allowlist): "
        "host (ports 443 and 80), host:port, *.domain, [IPv6]:port",
        key="network.allow",
    )
    allow_host_network: bool = setting(
        False,
        flag,
        "let network host give the agent this machine's network (else each run needs "
        "--allow-host-network)",
    )
    env: tuple[str, ...] = setting((), env_names, "names of host variables passed to the agent")
    model: str | None = setting(
        None, optional(text), "the agent's model (claude --model, codex -m)"
    )
    max_turns: int | None = setting(None, optional(whole()), "Claude --max-turns")
    max_budget_usd: float | None = setting(
        None, optional(positive_number), "Claude --max-budget-usd"
    )
    max_retries: int | None = setting(
        None, optional(whole(minimum=0)), "Claude API retries (default 3)"
    )
    append_system_prompt: str | None = setting(
        None, optional(text), "text added to Claude's system prompt (--append-system-prompt)"
    )
    remote: str = setting(DEFAULT_REMOTE, text, "git remote tasks and branches are pushed to")
    github_repo: str | None = setting(
        None, optional(repo_name), "owner/name of the GitHub repository (default: origin)"
    )
    github_api_url: str | None = setting(
        None, optional(text), "GitHub API base URL (GitHub Enterprise)"
    )
    pr_draft: bool = setting(True, flag, "open pull requests as drafts")
    description_max_bytes: int = setting(
        MiB,
        whole(),
        "largest task description or feedback text, in bytes (longer input is refused)",
        key="description.max_bytes",
    )
    logs_max_bytes: int = setting(
        5 * MiB,
        whole(),
        "bytes kept of each run log stored in git (before gzip; its start and its end)",
        key="logs.max_bytes",
    )
    logs_run_max_bytes: int = setting(
        20 * MiB,
        whole(minimum=4096),
        "bytes kept of the agent's output of one run on this machine: its start and its "
        "end, the middle cut with a line saying so",
        key="logs.run_max_bytes",
    )
    logs_live_max_bytes: int = setting(
        MiB,
        whole(minimum=4096),
        "bytes of the agent's output shown live during a run; past it, its last lines are "
        "shown at the end (`task logs` has the rest)",
        key="logs.live_max_bytes",
    )
    files_max_bytes: int = setting(
        50 * MiB,
        whole(),
        "largest file the agent's commits may push, in bytes (a larger one, a nested "
        "repository or a symlink out of the worktree needs --allow-odd-files)",
        key="files.max_bytes",
    )
    dependencies_success: str = setting(
        "merged",
        choice(*SUCCESS_MODES, lower=True),
        "when a dependency counts as done: merged (its pull request) or finished (a run)",
        key="dependencies.success",
    )
    sync_auto: bool = setting(
        True,
        flag,
        "publish every task change to the remote at once (false: only `task sync`)",
        key="sync.auto",
    )
    # remote engines and workers (gittask/runner/endpoint.py, gittask/workflow/worker/)
    engine: str | None = setting(
        None,
        optional(text),
        "docker context (or engine URL: ssh://user@host, tcp://host:2376) the runs and "
        "build go to, after DOCKER_HOST and DOCKER_CONTEXT (default: the current context)",
    )
    workspace: str = setting(
        "auto",
        choice("auto", "bind", "bundle", lower=True),
        "how a run's worktree reaches the container: bind (a mount), bundle (git objects "
        "copied in and out: an engine on another host), or auto (bundle for ssh:// and "
        "tcp:// engines)",
    )
    worker_lease_seconds: int = setting(
        120,
        whole(),
        "a worker's claim on a task lasts this long unless renewed",
        key="worker.lease_seconds",
    )
    worker_max_attempts: int = setting(
        3,
        whole(),
        "claims of a queued task by workers before it is left failed",
        key="worker.max_attempts",
    )
    worker_poll_seconds: float = setting(
        5.0,
        positive_number,
        "how often a worker looks at the remote (its queue, stop requests)",
        key="worker.poll_seconds",
    )

    @classmethod
    def load(cls, root: Path) -> ProjectConfig:
        """The settings of the project at ``root`` (defaults where its file says nothing)."""
        path = config_path(root)
        return cls.from_stored(read_stored(path), where=f"{path}: ")

    @classmethod
    def from_stored(cls, stored: dict[str, object], where: str = "") -> ProjectConfig:
        """Settings from the file's object: unknown keys are left out, and JSON null
        is the default; a value of the wrong type is one error line."""
        values: dict[str, Any] = {}
        for key, one in SETTINGS.items():
            if stored.get(key) is not None:
                values[one.attribute] = one.parse(stored[key], where)
        return cls(**values)

    def get(self, key: str) -> object:
        """A setting by its key (``logs.max_bytes``); typed reads use the attributes."""
        return getattr(self, lookup(key).attribute)


@dataclass(frozen=True)
class Setting:
    """One row of the table, as ``config`` commands see it."""

    key: str  # on disk and on the command line: "logs.max_bytes"
    attribute: str  # in the code: config.logs_max_bytes
    default: object
    kind: Kind[Any]
    meaning: str

    def parse(self, value: object, where: str = "") -> object:
        """``value`` as this setting's type, or one error line saying what it expected."""
        try:
            return self.kind.parse(value)
        except (ValueError, TypeError) as exc:
            detail = f": {exc}" if str(exc) else ""
            raise UsageError(
                f"{where}bad value for {self.key}: {value!r}{detail} "
                f"(expected {self.kind.expected})"
            ) from None


#: Every setting by its key, in the table's order.
SETTINGS: dict[str, Setting] = {
    (f.metadata["key"] or f.name): Setting(
        key=f.metadata["key"] or f.name,
        attribute=f.name,
        default=f.default,
        kind=f.metadata["kind"],
        meaning=f.metadata["meaning"],
    )
    for f in fields(ProjectConfig)
}


def lookup(key: str) -> Setting:
    """The setting ``key`` names; an unknown key is one error line naming close ones."""
    found = SETTINGS.get(key)
    if found is not None:
        return found
    import difflib

    by_attribute = {s.attribute: s.key for s in SETTINGS.values()}
    if key in by_attribute:  # the name the code reads it by: that one
        close = [by_attribute[key]]
    else:
        close = [k for k in SETTINGS if len(key) >= 3 and (k.startswith(key) or key in k)]
        close += difflib.get_close_matches(key, list(SETTINGS), n=3, cutoff=0.6)
    close = list(dict.fromkeys(close))[:3]
    hint = (
        "did you mean "
        + " or ".join([", ".join(close[:-1]), close[-1]] if close[1:] else close)
        + "?"
        if close
        else "valid keys: " + ", ".join(sorted(SETTINGS))
    )
    raise UsageError(f"unknown config key '{key}'", hint)


def load_config(repo: GitRepo) -> ProjectConfig:
    """The project's configuration, wherever in the repository a command runs."""
    return ProjectConfig.load(project_root(repo))


def remote_of(config: ProjectConfig) -> str:
    """The git remote tasks and branches go to: the ``remote`` setting (``origin``)."""
    return config.remote
