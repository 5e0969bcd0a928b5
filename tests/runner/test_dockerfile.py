"""The generated Dockerfile.claude and the Dockerfile validator.

Here the generated file is checked by the validator and by reading it; it is
built for real (Debian base, host npm) by tests/cli/test_build_real.py.
"""

from __future__ import annotations

import re

import pytest

from gittask.runner.dockerfile import (
    CLAUDE_CODE_VERSION,
    NODE_IMAGE,
    default_dockerfile,
    validate_dockerfile,
)

GOOD_TAIL = "USER 1000:1000\nWORKDIR /workspace\n"


def test_generated_dockerfile_validates_clean() -> None:
    text = default_dockerfile(1234, 2345)
    assert validate_dockerfile(text) == []
    assert text.startswith("#") and "\nFROM " in text


def test_versions_are_pinned() -> None:
    text = default_dockerfile(1000, 1000)
    assert re.fullmatch(r"\d+\.\d+\.\d+", CLAUDE_CODE_VERSION)
    assert f"ARG BASE_IMAGE={NODE_IMAGE}\nFROM ${{BASE_IMAGE}}\n" in text
    assert re.fullmatch(r"node:\d+-[a-z]+-slim", NODE_IMAGE)  # an LTS major and a Debian release
    assert f"ARG CLAUDE_CODE_VERSION={CLAUDE_CODE_VERSION}\n" in text
    assert 'npm install -g "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}"' in text
    assert "ca-certificates" in text and " git " in text
    other = default_dockerfile(1000, 1000, claude_code_version="2.0.14")
    assert "ARG CLAUDE_CODE_VERSION=2.0.14\n" in other
    assert "# syntax" not in text  # a syntax directive would pull a frontend image


def test_the_user_is_the_host_user_and_not_root() -> None:
    text = default_dockerfile(1234, 2345)
    assert "ARG USER_UID=1234\n" in text and "ARG USER_GID=2345\n" in text
    assert "userdel --remove node" in text  # the node image's uid 1000 user makes room
    assert "--non-unique" in text
    last_user = [line for line in text.splitlines() if line.startswith("USER ")][-1]
    assert last_user == "USER ${USER_UID}:${USER_GID}"
    assert '\nWORKDIR /workspace\nCMD ["claude", "--version"]\n' in text
    # the 400 MB binary is the last layer: every step after it would copy it on vfs
    assert text.rstrip().splitlines()[-1] == "COPY agent-bin/ /usr/local/bin/"
    assert "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1" in text


def test_claude_config_dir_is_seeded_and_there_is_no_secret() -> None:
    text = default_dockerfile(1000, 1000)
    assert "CLAUDE_CONFIG_DIR=/home/agent/.claude" in text
    assert '{"hasCompletedOnboarding": true}' in text
    assert "/home/agent/.claude/.claude.json" in text
    for word in ("ANTHROPIC_API_KEY", "OAUTH_TOKEN", "credentials", "sk-ant"):
        assert word not in text


@pytest.mark.parametrize(
    ("uid", "gid", "version"),
    [
        (0, 1000, CLAUDE_CODE_VERSION),
        (-1, 1000, CLAUDE_CODE_VERSION),
        (1000, 2**32, "1.0.0"),
        (1000, 1000, "latest"),
        (1000, 1000, "^2.1.0"),
        (1000, 1000, "2.1"),
    ],
)
def test_bad_arguments_are_refused(uid: int, gid: int, version: str) -> None:
    with pytest.raises(ValueError):
        default_dockerfile(uid, gid, claude_code_version=version)


def test_root_uid_refusal_explains_why() -> None:
    with pytest.raises(ValueError, match="root"):
        default_dockerfile(0, 0)


def one_problem(text: str, fragment: str) -> None:
    problems = validate_dockerfile(text)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("RUN true\n" + GOOD_TAIL, "no FROM"),
        ("FROM x\nWORKDIR /workspace\n", "runs as root"),
        ("FROM x\n" + GOOD_TAIL + "USER root\n", "runs as root"),
        ("FROM x\nWORKDIR /workspace\nUSER 0:0\n", "runs as root"),
        ("FROM x\nARG U=0\nWORKDIR /workspace\nUSER ${U}\n", "runs as root"),
        ("FROM x AS build\nUSER 1000\nFROM y\nWORKDIR /workspace\n", "runs as root"),
        ("FROM x\nUSER 1000\n", "missing WORKDIR /workspace"),
        ("FROM x\nUSER 1000\nWORKDIR /src\n", "missing WORKDIR /workspace"),
        ("FROM x\nUSER 1000\nWORKDIR /workspace\nWORKDIR /tmp\n", "missing WORKDIR /workspace"),
        ("FROM x\nENV ANTHROPIC_API_KEY=abc\n" + GOOD_TAIL, "ENV ANTHROPIC_API_KEY"),
        ("FROM x\nENV CLAUDE_CODE_OAUTH_TOKEN abc\n" + GOOD_TAIL, "ENV CLAUDE_CODE_OAUTH_TOKEN"),
        ("FROM x\nENV A=1 \\\n    GH_TOKEN=zz\n" + GOOD_TAIL, "GH_TOKEN"),
        ("FROM x\nARG NPM_TOKEN\n" + GOOD_TAIL, "ARG NPM_TOKEN"),
        ("FROM x\nenv db_password=hunter2\n" + GOOD_TAIL, "db_password"),
        (
            "FROM x\nRUN curl -H 'x-api-key: sk-ant-api03-AAAAAAAAAAAAAAAAAAAA' https://x\n"
            + GOOD_TAIL,
            "Anthropic API key",
        ),
        ("FROM x\nRUN echo ghp_" + "a1" * 18 + "\n" + GOOD_TAIL, "GitHub token"),
        ("FROM x\nRUN echo AKIA" + "B" * 16 + "\n" + GOOD_TAIL, "AWS access key"),
        (
            "FROM x\nRUN printf '%s' '-----BEGIN OPENSSH PRIVATE KEY-----' > k\n" + GOOD_TAIL,
            "private key",
        ),
        (
            "FROM x\nCOPY .claude/.credentials.json /home/agent/.claude/\n" + GOOD_TAIL,
            "credential file",
        ),
        ("FROM x\nADD id_ed25519 /root/.ssh/\n" + GOOD_TAIL, "credential file"),
    ],
)
def test_the_validator_catches_each_problem(text: str, fragment: str) -> None:
    one_problem(text, fragment)


@pytest.mark.parametrize(
    "text",
    [
        "FROM x\n" + GOOD_TAIL,
        "from x\nuser agent\nworkdir /workspace/\n",
        "# USER root in a comment\nFROM x AS base\nUSER 0\n"
        "FROM base\nUSER 1000\nWORKDIR /workspace\n",
        "FROM x\nENV MAX_TOKENS=100 TOKENIZER=fast KEYBOARD=us\n" + GOOD_TAIL,
        "FROM x\nARG APP_UID=1000\nUSER ${APP_UID}:${APP_UID}\nWORKDIR /workspace\n",
        "FROM x\nRUN apt-get update \\\n    # a comment inside\n && true\n" + GOOD_TAIL,
    ],
)
def test_the_validator_accepts_good_files(text: str) -> None:
    assert validate_dockerfile(text) == []


def test_problems_name_their_line() -> None:
    text = default_dockerfile(1000, 1000) + "ENV ANTHROPIC_API_KEY=x\nUSER root\n"
    problems = validate_dockerfile(text)
    line_count = len(text.splitlines())
    assert f"line {line_count - 1}: ENV ANTHROPIC_API_KEY" in problems[0]
    assert problems[1].startswith(f"line {line_count}: the image runs as root")
    assert len(problems) == 2
