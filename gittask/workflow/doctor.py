"""``claude-container doctor`` and ``build --check``: is this machine ready to run a task?

Each check gives one :class:`Check` (name, ok, detail, hint). The image check
runs the image once (``--network none``): the agent's ``--version``, the
user's uid and ``git --version``, so a user learns before a task whether the
agent can start and whether it can run git in its worktree.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gittask.errors import GittaskError

if TYPE_CHECKING:
    from docker import DockerClient

    from gittask.store.repo import GitRepo

#: ``sh -c`` probe; $1 is the agent's executable (claude, codex)
_PROBE = (
    'printf "agent=%s\\n" "$("$1" --version 2>&1 | head -n 1)"; '
    'printf "uid=%s\\n" "$(id -u)"; '
    'printf "git=%s\\n" "$(git --version 2>/dev/null)"; '
    'printf "perl=%s\\n" "$(command -v perl 2>/dev/null)"'
)
#: what each agent's ``--version`` prints after its version number
_AGENT_LABELS = {"claude": ("Claude Code", "(Claude Code)"), "codex": ("Codex", "codex-cli")}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hint: str | None = None
    required: bool = True  # False: tasks still run without it (a warning)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "hint": self.hint,
            "required": self.required,
        }


@dataclass
class ImageReport:
    tag: str
    agent_version: str | None  # Claude Code or Codex: the number it prints
    image_uid: int | None
    git_version: str | None
    run_uid: int  # the uid runs use (the host user's)
    agent: str = "claude"
    perl: str | None = None  # network allowlist: the egress forwarder runs on it

    def checks(self) -> list[Check]:
        label = _AGENT_LABELS.get(self.agent, (self.agent, ""))[0]
        agent_ok = bool(self.agent_version and self.agent_version[0].isdigit())
        uid_note = (
            "runs use uid 0 with IS_SANDBOX=1 (you are root)"
            if self.run_uid == 0
            else f"runs use your uid {self.run_uid}"
        )
        agent_checks = [
            Check(
                self.agent,
                agent_ok,
                f"{label} {self.agent_version}" if agent_ok else str(self.agent_version),
                None if agent_ok else "rebuild the image: claude-container build --no-cache",
            ),
        ]
        if self.agent not in _AGENT_LABELS:
            agent_checks = []  # the command agent: its program is the user's business
        return [
            *agent_checks,
            Check(
                "user",
                self.image_uid is not None and self.image_uid != 0,
                f"image user uid {self.image_uid}; {uid_note}",
                None if self.image_uid else "the image runs as root: add a non-root USER",
            ),
            Check(
                "git",
                bool(self.git_version),
                self.git_version or "no git in the image",
                None if self.git_version else "install git in the image (the agent runs git)",
            ),
        ]


def probe_built_image(tag: str, agent: str = "claude", pinned: str | None = None) -> ImageReport:
    """:func:`probe_image` on the Docker engine the runs go to (``build --check``)."""
    from gittask.runner.image import docker_client

    return probe_image(docker_client(pinned), tag, agent)


def probe_image(client: DockerClient, tag: str, agent: str = "claude") -> ImageReport:
    """Run ``tag`` once to read its agent's version, uid and git version."""
    from docker.errors import DockerException, ImageNotFound

    try:
        client.images.get(tag)  # run() would try to pull a missing image
    except ImageNotFound:
        raise GittaskError(f"there is no image {tag}", "build it: claude-container build") from None
    except DockerException as exc:
        raise GittaskError(f"cannot inspect the image {tag}: {exc}") from None
    try:
        raw = client.containers.run(
            tag,
            ["sh", "-c", _PROBE, "probe", agent],
            entrypoint=[],
            network_mode="none",
            remove=True,
            stdout=True,
            stderr=True,
            environment={"DISABLE_AUTOUPDATER": "1"},
        )
    except ImageNotFound:
        raise GittaskError(f"there is no image {tag}", "build it: claude-container build") from None
    except DockerException as exc:
        first = str(exc).strip().splitlines()
        raise GittaskError(
            f"cannot run the image {tag}: {first[0] if first else type(exc).__name__}"
        ) from None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in ("agent", "uid", "git", "perl") and key not in fields:
            fields[key] = value.strip()
    version = fields.get("agent") or None
    suffix = _AGENT_LABELS.get(agent, ("", ""))[1]
    if version and suffix:
        # "2.1.332 (Claude Code)", "codex-cli 0.171.0": keep the number
        version = version.replace(suffix, "").strip()
    uid_text = fields.get("uid", "")
    return ImageReport(
        tag=tag,
        agent_version=version,
        image_uid=int(uid_text) if uid_text.isdigit() else None,
        git_version=fields.get("git") or None,
        run_uid=os.getuid(),
        agent=agent,
        perl=fields.get("perl") or None,
    )


def network_check(mode: str, report: ImageReport) -> Check:
    """How the agent's container reaches the network, and whether the image can."""
    from gittask.runner.egress import ALLOWLIST

    if mode != ALLOWLIST:
        what = "no network at all" if mode == "none" else "unfiltered"
        return Check("network", True, f"network {mode}: {what}", required=False)
    return Check(
        "network",
        report.perl is not None,
        "allowlist: only the model API and network.allow, through the tool's proxy"
        if report.perl
        else "allowlist, but the image has no perl for the egress forwarder",
        None
        if report.perl
        else "use a Debian-based image (perl-base), or set network host (--allow-host-network)",
    )


def run_checks(repo: GitRepo) -> list[Check]:
    """Engine, image, credentials, remote and GitHub token, one :class:`Check` each."""
    from gittask.config import load_config, remote_of
    from gittask.workflow.project import image_tag

    checks: list[Check] = []
    config = load_config(repo)
    try:
        from gittask.runner.container import connect

        client = connect(pinned=config.engine)
        version = client.version().get("Version", "?")
        checks.append(Check("engine", True, f"Docker engine {version}"))
    except GittaskError as exc:
        checks.append(Check("engine", False, exc.message, exc.hint))
        client = None
    tag = image_tag(repo, config)
    if client is not None:
        try:
            report = probe_image(client, tag, config.agent)
            checks.extend(report.checks())
            checks.append(network_check(config.network, report))
        except GittaskError as exc:
            checks.append(Check("image", False, exc.message, exc.hint))
    if config.agent == "claude":
        names = [n for n in ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN") if os.environ.get(n)]
        checks.append(
            Check(
                "credentials",
                bool(names),
                f"{', '.join(names)} set" if names else "no Claude credential in the environment",
                None if names else "export ANTHROPIC_API_KEY=... (or CLAUDE_CODE_OAUTH_TOKEN)",
            )
        )
    remote = remote_of(config)
    url = repo.config_get(f"remote.{remote}.url")
    checks.append(
        Check(
            "remote",
            url is not None,
            f"{remote} = {url}" if url else f"no remote '{remote}': task state stays local",
            None if url else f"git remote add {remote} <url>",
            required=False,
        )
    )
    token = any(os.environ.get(n) for n in ("GH_TOKEN", "GITHUB_TOKEN")) or bool(shutil.which("gh"))
    checks.append(
        Check(
            "github",
            token,
            "a GitHub token is available" if token else "no GitHub token: runs push, open no PR",
            None if token else "export GH_TOKEN=... to open pull requests",
            required=False,
        )
    )
    return checks
