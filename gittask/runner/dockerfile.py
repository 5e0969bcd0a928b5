"""The default agent image (``.claude-container/Dockerfile.claude``) and a validator.

:func:`default_dockerfile` generates a Dockerfile for Claude Code: a pinned Node
LTS base, git, a pinned ``@anthropic-ai/claude-code``, a non-root user whose
uid/gid match the host user (so files written in the mounted worktree belong to
them), ``WORKDIR /workspace`` and a ``CLAUDE_CONFIG_DIR`` with onboarding marked
done.  It contains no secret: credentials are passed at container start only.

:func:`validate_dockerfile` checks any Dockerfile (generated or edited by the
user) for the problems that would make a run unsafe or fail: no ``FROM``, running
as root, something that looks like a secret, no ``WORKDIR /workspace``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from gittask.runner.agents.base import WORKDIR
from gittask.runner.agents.claude import CLAUDE_CONFIG_DIR, CONTAINER_HOME
from gittask.runner.agents.codex import CODEX_HOME

__all__ = [
    "AGENT_BIN_DIR",
    "CLAUDE_CODE_VERSION",
    "CODEX_VERSION",
    "CONTAINER_USER",
    "DOCKERFILE_NAME",
    "NODE_IMAGE",
    "check_version",
    "default_dockerfile",
    "validate_dockerfile",
]

#: Exact Claude Code release installed by the generated image (setting
#: ``claude_code_version``; ``npm view @anthropic-ai/claude-code version``).
CLAUDE_CODE_VERSION = "2.1.332"
#: Exact Codex release installed by the image of ``agent = codex`` (setting
#: ``codex_version``; ``npm view @openai/codex version``).
CODEX_VERSION = "0.171.0"
#: Where ``codex_install = host`` puts Codex's platform folder (``bin/codex``…).
CODEX_DIR = "/opt/agent/codex"
#: The default base (setting ``base_image``): Node.js LTS on Debian, so npm can
#: install Claude Code inside the build.
NODE_IMAGE = "node:22-bookworm-slim"
#: File name under ``.claude-container/``.
DOCKERFILE_NAME = "Dockerfile.claude"
#: Name of the non-root user in the image.
CONTAINER_USER = "agent"
#: Folder of the build context where ``claude_install = host`` puts the binary.
AGENT_BIN_DIR = "agent-bin"

_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
_MAX_ID = 2**31 - 1

_TEMPLATE = """\
# Agent image for claude-container: generated, then yours to edit.
# `claude-container build` validates it: keep a non-root USER at the end,
# WORKDIR {workdir}, and never put a credential in it (no ENV/ARG with keys,
# no copied credential files); they are passed at container start only.
# `build` sets the ARGs from the settings base_image, claude_code_version and
# claude_install, and USER_UID/USER_GID from whoever builds. Few steps, the big
# one last: on some storage drivers every step copies the whole image.
ARG BASE_IMAGE={node_image}
FROM ${{BASE_IMAGE}}

ARG USER_UID={uid}
ARG USER_GID={gid}
ARG CLAUDE_CODE_VERSION={version}
ARG CLAUDE_INSTALL=npm

ENV HOME={home} \\
    CLAUDE_CONFIG_DIR={config_dir} \\
    DISABLE_AUTOUPDATER=1 \\
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1

# git (the agent runs git status/diff in its worktree) and CA certificates,
# unless the base has them (a base made with --base-from-debian does); Claude
# Code from npm unless the host's npm provides it (the COPY below); a non-root
# user with the builder's uid/gid (the node image's `node` user, uid 1000, is
# replaced; a uid/gid another account uses is accepted).
RUN set -eu; \\
    if ! command -v git >/dev/null || [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then \\
        apt-get update; \\
        apt-get install -y --no-install-recommends ca-certificates git; \\
        rm -rf /var/lib/apt/lists/*; \\
    fi; \\
    if [ "$CLAUDE_INSTALL" = npm ]; then \\
        npm install -g "@anthropic-ai/claude-code@${{CLAUDE_CODE_VERSION}}"; \\
        npm cache clean --force; \\
    fi; \\
    if getent passwd node >/dev/null; then userdel --remove node; fi; \\
    if getent group node >/dev/null; then groupdel node; fi; \\
    if ! getent group "$USER_GID" >/dev/null; then groupadd --gid "$USER_GID" {user}; fi; \\
    useradd --uid "$USER_UID" --gid "$USER_GID" --non-unique --create-home \\
        --home-dir {home} --shell /bin/sh {user}; \\
    mkdir -p {workdir} {config_dir}; \\
    printf '%s\\n' '{{"hasCompletedOnboarding": true}}' > {config_dir}/.claude.json; \\
    chown -R "$USER_UID:$USER_GID" {workdir} {home}; \\
    git config --system --add safe.directory '*'

USER ${{USER_UID}}:${{USER_GID}}
WORKDIR {workdir}
CMD ["claude", "--version"]

# what `build` compares to skip a build when nothing changed
ARG GITTASK_BUILD_KEY=""
LABEL gittask.build-key="${{GITTASK_BUILD_KEY}}" \\
      gittask.claude-code-version="${{CLAUDE_CODE_VERSION}}"

# claude_install = host: the binary the host's npm installed ({agent_bin}/claude);
# with npm the folder is empty and this adds nothing.
COPY {agent_bin}/ /usr/local/bin/
"""


_CODEX_TEMPLATE = """\
# Agent image for claude-container (agent = codex): generated, then yours to edit.
# `claude-container build` validates it: keep a non-root USER at the end,
# WORKDIR {workdir}, and never put a credential in it (no ENV/ARG with keys,
# no copied credential files); they are passed at container start only.
# `build` sets the ARGs from the settings base_image, codex_version and
# codex_install, and USER_UID/USER_GID from whoever builds. Few steps, the big
# one last: on some storage drivers every step copies the whole image.
ARG BASE_IMAGE={node_image}
FROM ${{BASE_IMAGE}}

ARG USER_UID={uid}
ARG USER_GID={gid}
ARG CODEX_VERSION={version}
ARG CODEX_INSTALL=npm

ENV HOME={home} \\
    CODEX_HOME={codex_home} \\
    PATH={codex_dir}/bin:{codex_dir}/codex-path:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# git (the agent runs git status/diff in its worktree) and CA certificates,
# unless the base has them (a base made with --base-from-debian does); Codex
# from npm unless the host's npm provides it (the COPY below); a non-root user
# with the builder's uid/gid (the node image's `node` user, uid 1000, is
# replaced; a uid/gid another account uses is accepted).
RUN set -eu; \\
    if ! command -v git >/dev/null || [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then \\
        apt-get update; \\
        apt-get install -y --no-install-recommends ca-certificates git; \\
        rm -rf /var/lib/apt/lists/*; \\
    fi; \\
    if [ "$CODEX_INSTALL" = npm ]; then \\
        npm install -g "@openai/codex@${{CODEX_VERSION}}"; \\
        npm cache clean --force; \\
    fi; \\
    if getent passwd node >/dev/null; then userdel --remove node; fi; \\
    if getent group node >/dev/null; then groupdel node; fi; \\
    if ! getent group "$USER_GID" >/dev/null; then groupadd --gid "$USER_GID" {user}; fi; \\
    useradd --uid "$USER_UID" --gid "$USER_GID" --non-unique --create-home \\
        --home-dir {home} --shell /bin/sh {user}; \\
    mkdir -p {workdir} {codex_home}; \\
    chown -R "$USER_UID:$USER_GID" {workdir} {home}; \\
    git config --system --add safe.directory '*'

USER ${{USER_UID}}:${{USER_GID}}
WORKDIR {workdir}
CMD ["codex", "--version"]

# what `build` compares to skip a build when nothing changed
ARG GITTASK_BUILD_KEY=""
LABEL gittask.build-key="${{GITTASK_BUILD_KEY}}" \\
      gittask.codex-version="${{CODEX_VERSION}}"

# codex_install = host: Codex's platform folder from the host's npm ({agent_bin}/codex:
# bin/codex, bin/codex-code-mode-host, codex-path/rg); with npm it is empty.
COPY {agent_bin}/ /opt/agent/
"""


def check_version(claude_code_version: str) -> str:
    """*claude_code_version* if it is an exact release, else ValueError."""
    if not _VERSION.match(claude_code_version):
        raise ValueError(
            f"Claude Code version must be an exact release such as {CLAUDE_CODE_VERSION}, "
            f"not {claude_code_version!r}"
        )
    return claude_code_version


def default_dockerfile(
    uid: int,
    gid: int,
    claude_code_version: str = CLAUDE_CODE_VERSION,
    *,
    agent: str = "claude",
    codex_version: str = CODEX_VERSION,
) -> str:
    """The default ``Dockerfile.claude`` for a host user with *uid*/*gid*.

    *agent* ``codex`` gives the image that installs Codex ``codex_version``
    instead of Claude Code (any other agent gets Claude Code's image).  Raises
    ValueError for uid 0 (Claude Code refuses to skip permission prompts as
    root; run claude-container as a normal user) and for a version that is not
    an exact ``X.Y.Z`` release.
    """
    for label, value in (("uid", uid), ("gid", gid)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_ID:
            raise ValueError(f"invalid {label}: {value!r}")
    if uid == 0:
        raise ValueError(
            "refusing to build an agent image that runs as root (uid 0): Claude Code "
            "will not skip permission prompts as root; run claude-container as a normal user"
        )
    if agent == "codex":
        if not _VERSION.match(codex_version):
            raise ValueError(
                f"Codex version must be an exact release such as {CODEX_VERSION}, "
                f"not {codex_version!r}"
            )
        return _CODEX_TEMPLATE.format(
            node_image=NODE_IMAGE,
            uid=uid,
            gid=gid,
            version=codex_version,
            user=CONTAINER_USER,
            home=CONTAINER_HOME,
            codex_home=CODEX_HOME,
            codex_dir=CODEX_DIR,
            workdir=WORKDIR,
            agent_bin=AGENT_BIN_DIR,
        )
    check_version(claude_code_version)
    return _TEMPLATE.format(
        node_image=NODE_IMAGE,
        uid=uid,
        gid=gid,
        version=claude_code_version,
        user=CONTAINER_USER,
        home=CONTAINER_HOME,
        config_dir=CLAUDE_CONFIG_DIR,
        workdir=WORKDIR,
        agent_bin=AGENT_BIN_DIR,
    )


# --------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True)
class _Instruction:
    line: int  # 1-based line where it starts
    keyword: str  # upper case
    args: str


# Values that are credentials whatever they are called.
_SECRET_VALUES = [
    (re.compile(r"sk-ant-[A-Za-z0-9_-]{16,}"), "an Anthropic API key or token"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{32,}"), "an API key (sk-…)"),
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}"), "a GitHub token"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}"), "a GitHub token"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), "a GitLab token"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key"),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
]
# Variable names that hold credentials (ANTHROPIC_API_KEY, GH_TOKEN, DB_PASSWORD…).
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:API_?KEY|ACCESS_?KEY|SECRET(?:_?KEY)?|(?:AUTH_|OAUTH_|ACCESS_|REFRESH_)?TOKEN"
    r"|PASSWORD|PASSWD|CREDENTIALS?|PRIVATE_?KEY)$",
    re.IGNORECASE,
)
# Files that hold credentials and must not be copied into an image.
_SECRET_FILES = re.compile(
    r"(?:\.credentials\.json|\.netrc|\.npmrc|\.pypirc|\.git-credentials|id_(?:rsa|ed25519|ecdsa)\b"
    r"|\.ssh/|\.aws/credentials|\.docker/config\.json)"
)


def validate_dockerfile(text: str) -> list[str]:
    """Problems that make *text* unfit as an agent image, one line each; [] if none."""
    problems: list[str] = []
    instructions = _parse(text)
    for lineno, raw in enumerate(text.splitlines(), start=1):
        for pattern, what in _SECRET_VALUES:
            if pattern.search(raw):
                problems.append(f"line {lineno}: contains what looks like {what}")
                break

    froms = [i for i in instructions if i.keyword == "FROM"]
    if not froms:
        problems.append("no FROM instruction")
    last_stage = instructions[instructions.index(froms[-1]) :] if froms else instructions

    args: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword in ("ARG", "ENV"):
            for name, value in _assignments(ins):
                if ins.keyword == "ARG" and value is not None:
                    args[name] = value
                if _SECRET_NAME.search(name):
                    problems.append(
                        f"line {ins.line}: {ins.keyword} {name} would store a credential in the "
                        "image; pass credentials at container start instead"
                    )
        elif ins.keyword in ("COPY", "ADD") and _SECRET_FILES.search(ins.args):
            problems.append(
                f"line {ins.line}: {ins.keyword} copies a credential file into the image"
            )

    users = [i for i in last_stage if i.keyword == "USER"]
    if not users:
        problems.append("the image runs as root: add a non-root USER at the end")
    elif _is_root(_expand(_first_word(users[-1].args), args)):
        problems.append(
            f"line {users[-1].line}: the image runs as root: the last USER must be non-root"
        )

    workdirs = [i for i in last_stage if i.keyword == "WORKDIR"]
    if not workdirs or _expand(_first_word(workdirs[-1].args), args).rstrip("/") != WORKDIR:
        problems.append(f"missing WORKDIR {WORKDIR} (the agent's worktree is mounted there)")
    return problems


def _parse(text: str) -> list[_Instruction]:
    """Instructions with their line continuations joined and comments dropped."""
    instructions: list[_Instruction] = []
    current: list[str] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue  # blank line or comment (a parser directive is a comment too)
        if current and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are ignored
        if not current:
            start = lineno
        if stripped.endswith("\\"):
            current.append(stripped[:-1])
            continue
        current.append(stripped)
        _append(instructions, start, " ".join(current))
        current = []
    if current:
        _append(instructions, start, " ".join(current))
    return instructions


def _append(instructions: list[_Instruction], line: int, joined: str) -> None:
    keyword, _, args = joined.strip().partition(" ")
    if keyword:
        instructions.append(_Instruction(line, keyword.upper(), args.strip()))


def _assignments(ins: _Instruction) -> list[tuple[str, str | None]]:
    """``(name, value)`` pairs of an ARG or ENV (value None for a bare ``ARG NAME``)."""
    try:
        words = shlex.split(ins.args)
    except ValueError:
        words = ins.args.split()
    if not words:
        return []
    if ins.keyword == "ENV" and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]  # legacy form: ENV NAME value
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, value = word.partition("=")
        pairs.append((name, value if eq else None))
    return pairs


def _first_word(args: str) -> str:
    return args.split()[0] if args.split() else ""


def _expand(value: str, args: dict[str, str]) -> str:
    """Substitute ``$NAME``/``${NAME}``/``${NAME:-default}`` from ARG defaults."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        default = match.group(2)
        return args.get(name) or (default or "")

    return re.sub(
        r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)", sub, value
    )


def _is_root(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in ("", "root", "0")
