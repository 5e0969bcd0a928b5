"""``build`` makes the real agent image here, with no registry: a Debian base from
debootstrap, the pinned Claude Code from the host's npm, the build offline; then
``build --check`` and ``doctor`` run it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import init_repo, run_cli
from tests.real_image import CLAUDE_CODE_TEST_VERSION, REAL_IMAGE, build_real_image, cache_env
from tests.run_support import docker_available

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine")


def _inspect(tag: str) -> dict[str, object]:
    out = subprocess.run(
        ["docker", "image", "inspect", tag], capture_output=True, text=True, check=True
    ).stdout
    data: dict[str, object] = json.loads(out)[0]
    return data


def test_the_real_image_holds_claude_code_git_and_a_non_root_user(claude_image: str) -> None:
    config = _inspect(claude_image)["Config"]
    assert isinstance(config, dict)
    assert config["User"] == "1000:1000"  # root builds give the image uid 1000
    assert config["WorkingDir"] == "/workspace"
    assert "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1" in config["Env"]
    assert config["Labels"]["gittask.claude-code-version"] == CLAUDE_CODE_TEST_VERSION
    # what the agent itself sees, with no network at all
    proc = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            claude_image,
            "sh",
            "-c",
            "claude --version; id -u; git --version; ls /etc/ssl/certs/ca-certificates.crt",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{CLAUDE_CODE_TEST_VERSION} (Claude Code)"
    assert lines[1] == "1000"
    assert lines[2].startswith("git version 2.")


def test_a_second_build_with_nothing_changed_reuses_the_image(claude_image: str) -> None:
    before = _inspect(claude_image)["Id"]
    report = build_real_image()
    assert report["cached"] is True
    assert report["image_id"] == before
    assert "Step " not in str(report["stderr"])  # no build ran at all
    assert report["claude_code_version"] == CLAUDE_CODE_TEST_VERSION
    assert report["base"] == "claude-container-base:bookworm"
    assert report["install"] == "host"


def test_build_check_and_doctor_run_the_image(tmp_path: Path, claude_image: str) -> None:
    repo = init_repo(tmp_path / "repo")
    assert run_cli(repo, "init").returncode == 0
    assert run_cli(repo, "config", "set", "image", REAL_IMAGE).returncode == 0
    proc = run_cli(repo, "build", "--base-from-debian", "--check", env=cache_env(), timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert f"ok   claude       Claude Code {CLAUDE_CODE_TEST_VERSION}" in proc.stdout
    assert "ok   user         image user uid 1000" in proc.stdout
    assert "ok   git          git version 2." in proc.stdout

    doctor = run_cli(repo, "doctor", "--json", env={"ANTHROPIC_API_KEY": "sk-test-doctor"})
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["claude"]["ok"] and CLAUDE_CODE_TEST_VERSION in checks["claude"]["detail"]
    assert checks["git"]["ok"] and checks["engine"]["ok"]
    assert checks["credentials"]["ok"]
    assert checks["network"]["ok"] and checks["network"]["detail"].startswith("allowlist: only")
    assert not checks["remote"]["ok"]  # no origin: said, but not fatal

    # no credential: doctor says how to fix it and fails
    bare = run_cli(repo, "doctor", env={"ANTHROPIC_API_KEY": "", "CLAUDE_CODE_OAUTH_TOKEN": ""})
    assert bare.returncode == 1
    assert "FAIL credentials" in bare.stdout and "export ANTHROPIC_API_KEY" in bare.stdout


def test_doctor_names_a_missing_image(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    assert run_cli(repo, "init").returncode == 0
    assert run_cli(repo, "config", "set", "image", "gittask-test-no-such-image:1").returncode == 0
    proc = run_cli(repo, "doctor", env={"ANTHROPIC_API_KEY": "x"})
    assert proc.returncode == 1
    assert "FAIL image" in proc.stdout and "claude-container build" in proc.stdout
