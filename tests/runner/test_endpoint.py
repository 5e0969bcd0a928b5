"""The Docker endpoint, chosen as the docker CLI chooses it, and named when it fails."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gittask.errors import GittaskError
from gittask.runner.endpoint import DEFAULT_HOST, resolve
from tests.conftest import run_cli


def make_context(config_dir: Path, name: str, host: str, current: bool = True) -> None:
    meta = config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host}}})
    )
    if current:
        (config_dir / "config.json").write_text(json.dumps({"currentContext": name}))


def test_docker_host_wins(tmp_path: Path) -> None:
    make_context(tmp_path / ".docker", "colima", "unix:///colima.sock")
    found = resolve({"HOME": str(tmp_path), "DOCKER_HOST": "unix:///elsewhere.sock"})
    assert (found.url, found.how) == ("unix:///elsewhere.sock", "DOCKER_HOST")


def test_current_context_from_the_cli_config(tmp_path: Path) -> None:
    make_context(tmp_path / ".docker", "rootless", "unix:///run/user/1000/docker.sock")
    found = resolve({"HOME": str(tmp_path)})
    assert found.url == "unix:///run/user/1000/docker.sock"
    assert found.how == "docker context 'rootless', from ~/.docker/config.json"


def test_docker_context_variable_and_docker_config(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    make_context(config, "desktop", "unix:///desktop.sock", current=False)
    make_context(config, "other", "tcp://10.0.0.1:2375")
    env = {"HOME": str(tmp_path), "DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "desktop"}
    found = resolve(env)
    assert (found.url, found.how) == (
        "unix:///desktop.sock",
        "docker context 'desktop', from DOCKER_CONTEXT",
    )
    del env["DOCKER_CONTEXT"]
    assert resolve(env).url == "tcp://10.0.0.1:2375"


def test_default_and_unknown_contexts(tmp_path: Path) -> None:
    assert resolve({"HOME": str(tmp_path)}).url == DEFAULT_HOST
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text('{"currentContext": "default"}')
    assert resolve({"HOME": str(tmp_path)}).url == DEFAULT_HOST
    with pytest.raises(GittaskError, match="docker context 'gone'"):
        resolve({"HOME": str(tmp_path), "DOCKER_CONTEXT": "gone"})


def test_an_unreachable_engine_names_the_endpoint_and_why(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_context(home / ".docker", "colima", f"unix://{tmp_path}/colima.sock")
    proc = run_cli(repo, "doctor", env={"HOME": str(home)})
    assert proc.returncode == 1
    line = next(x for x in proc.stdout.splitlines() if "engine" in x)
    assert f"cannot reach the Docker engine at unix://{tmp_path}/colima.sock" in line
    assert "docker context 'colima', from ~/.docker/config.json" in line
    assert "no socket there" in line and "'No such file" not in line


def test_the_project_engine_pins_one_unless_the_environment_names_one(tmp_path: Path) -> None:
    make_context(tmp_path / ".docker", "other", "tcp://10.0.0.9:2376")
    make_context(tmp_path / ".docker", "pinned", "ssh://me@build-host", current=False)
    env = {"HOME": str(tmp_path)}
    found = resolve(env, pinned="pinned")
    assert (found.url, found.how) == (
        "ssh://me@build-host",
        "docker context 'pinned', from config engine",
    )
    assert found.remote  # its host has other folders: the workspace goes as a bundle
    by_url = resolve(env, pinned="unix:///var/run/other.sock")
    assert by_url.url == "unix:///var/run/other.sock" and not by_url.remote
    assert resolve({**env, "DOCKER_CONTEXT": "other"}, pinned="pinned").url == "tcp://10.0.0.9:2376"
    assert (
        resolve({**env, "DOCKER_HOST": "unix:///h.sock"}, pinned="pinned").url == "unix:///h.sock"
    )
    assert resolve(env).url == "tcp://10.0.0.9:2376" and resolve(env).remote


def test_an_ssh_engine_is_reached_as_the_docker_cli_reaches_it() -> None:
    from gittask.runner.ssh_bridge import ssh_command

    assert ssh_command("ssh://me@build-box:2222") == [
        "ssh", "-l", "me", "-p", "2222", "--", "build-box", "docker", "system", "dial-stdio",
    ]  # fmt: skip
    assert ssh_command("ssh://build-box")[-5:-3] == ["--", "build-box"]
    with pytest.raises(GittaskError, match="not an ssh engine URL"):
        ssh_command("tcp://build-box:2376")
