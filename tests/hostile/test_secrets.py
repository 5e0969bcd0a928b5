"""Credentials go to the agent's processes and nowhere else; the container is bounded.

The threats:

- ``ANTHROPIC_API_KEY`` (and Codex's key) sat in the container's configuration:
  ``docker inspect`` showed it to anyone who may talk to the engine, and the
  engine wrote it to ``config.v2.json`` on its disk. Now it travels as a file on
  a tmpfs (``0600``, mounted read-only), exported by a wrapper before the agent
  starts, and removed when the run ends, also on Ctrl-C; ``clean`` removes
  what a killed run left. Checked with the real ``claude`` and ``codex``
  against the scripted APIs: the key reaches the server, ``docker inspect`` of
  the running container does not hold it.
- The leak check of the agent's commits looked for the value as it is only:
  base64, URL-encoded, reversed, hex and cut into lines went through.
- Swap was not capped: the memory limit could be passed by swapping.
- ``network host`` (the agent reaches every service of the machine) needed no
  more than a setting; now it needs ``--allow-host-network`` (or the setting
  ``allow_host_network``) and warns.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from gittask.config import ConfigFile
from gittask.runner import credentials
from gittask.runner.logs import Scrubber
from gittask.workflow.database import open_database
from gittask.workflow.records import record_task
from gittask.workflow.run import RunRequest, RunResult, preflight, run_task
from tests.conftest import Team, git
from tests.memory_engine import MemoryContainer, MemoryEngine
from tests.real_image import CLAUDE_PROJECT_SETTINGS
from tests.run_support import SECRET, Project, build_image, docker_available

# -- the container's configuration never holds a credential -----------------------------------


def _docker_root() -> Path | None:
    proc = subprocess.run(
        ["docker", "info", "-f", "{{.DockerRootDir}}"], capture_output=True, text=True, check=False
    )
    return Path(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else None


def _while_running(project: Project, proc: subprocess.Popen[str]) -> dict[str, Any]:
    """The run's container, inspected while it runs: ``docker inspect``'s JSON, the
    engine's own ``config.v2.json`` (when readable) and the credential folder."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for container_id in project.containers():
            out = subprocess.run(
                ["docker", "inspect", container_id], capture_output=True, text=True, check=False
            ).stdout
            if not out.strip():
                continue
            (data,) = json.loads(out)
            if not data["State"]["Running"]:
                continue
            root = _docker_root()
            stored = root / "containers" / data["Id"] / "config.v2.json" if root else None
            on_disk = stored.read_text() if stored and os.access(stored, os.R_OK) else ""
            mounts = {m["Destination"]: m for m in data["Mounts"]}
            folder = Path(mounts[credentials.IN_CONTAINER]["Source"])
            files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
            return {
                "inspect": out,
                "data": data,
                "config.v2.json": on_disk,
                "folder": folder,
                "folder_mode": stat.S_IMODE(folder.stat().st_mode),
                "files": files,
                "mount": mounts[credentials.IN_CONTAINER],
            }
        time.sleep(0.1)
    raise AssertionError("the run's container never ran")


def _config_holds_no(seen: dict[str, Any], *values: str) -> None:
    assert seen["config.v2.json"] or os.getuid() != 0  # root reads the engine's own file
    for value in values:
        assert value not in seen["inspect"]
        assert value not in seen["config.v2.json"]
    env = seen["data"]["Config"]["Env"]
    assert not any(
        e.startswith(("ANTHROPIC_API_KEY=", "OPENAI_API_KEY=", "CODEX_API_KEY=")) for e in env
    )
    assert seen["mount"]["RW"] is False  # read-only
    assert seen["folder_mode"] == 0o700 and set(seen["files"].values()) == {0o600}
    host = seen["data"]["HostConfig"]
    assert host["Memory"] > 0 and host["MemorySwap"] == host["Memory"]  # no swap


def test_the_real_claude_reads_its_key_from_a_file(
    tmp_path: Path, claude_image: str, fake_anthropic: Any
) -> None:
    from tests.fake_anthropic import bash, text, write
    from tests.fake_anthropic.fixture import TEST_API_KEY

    if not docker_available():
        pytest.skip("no Docker engine")
    project = Project(tmp_path / "p", claude_image).setup()
    project.configure(**CLAUDE_PROJECT_SETTINGS)
    project.env.update(
        {"ANTHROPIC_API_KEY": TEST_API_KEY, "ANTHROPIC_BASE_URL": fake_anthropic.base_url}
    )
    fake_anthropic.turn(write("{cwd}/a.txt", "a\n"))
    fake_anthropic.turn(bash("sleep 4; echo slept"))
    fake_anthropic.turn(text("Wrote a.txt."))
    proc = project.popen("task", "create", "-m", "Write a.txt")
    seen = _while_running(project, proc)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    _config_holds_no(seen, TEST_API_KEY)
    assert seen["files"].keys() == {"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"}
    assert str(seen["folder"]).startswith("/dev/shm/")  # memory, not a disk
    # the key reached the API: every call carried it (a wrong or missing one is a 401)
    calls = fake_anthropic.message_requests
    assert len(calls) == 3 and all(c.reply.startswith("turn") for c in calls)
    assert all(c.headers.get("x-api-key") == "<masked>" for c in calls)
    assert not seen["folder"].exists()  # gone with the run
    assert project.containers() == []


def test_the_real_codex_reads_its_key_from_a_file(
    tmp_path: Path, codex_image: str, fake_openai: Any
) -> None:
    from tests.fake_openai import shell, text
    from tests.fake_openai.fixture import TEST_OPENAI_KEY

    if not docker_available():
        pytest.skip("no Docker engine")
    project = Project(tmp_path / "p", codex_image).setup()
    project.configure(
        agent="codex",
        model="gpt-5.5",
        network="host",
        allow_host_network=True,
        env=["OPENAI_BASE_URL"],
        memory="2g",
        timeout_seconds=240,
        silence_timeout_seconds=180,
    )
    project.env.update({"OPENAI_API_KEY": TEST_OPENAI_KEY, "OPENAI_BASE_URL": fake_openai.base_url})
    fake_openai.turn(shell("sleep 4; echo hi > hi.txt"))
    fake_openai.turn(text("Wrote hi.txt."))
    proc = project.popen("task", "create", "-m", "Write hi.txt")
    seen = _while_running(project, proc)
    out, err = proc.communicate(timeout=400)
    assert proc.returncode == 0, out + err
    _config_holds_no(seen, TEST_OPENAI_KEY)
    assert seen["files"].keys() == {"OPENAI_API_KEY", "OPENAI_BASE_URL"}
    calls = fake_openai.response_requests
    assert len(calls) == 2 and all(c.headers.get("authorization") for c in calls)
    assert all(not c.reply.startswith(("bad key", "error 401")) for c in calls)
    assert not seen["folder"].exists()


# -- the credential files go when the run ends ------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    if not docker_available():
        pytest.skip("no Docker engine")
    proj = Project(tmp_path / "p", build_image()).setup()
    yield proj
    assert proj.containers() == [], "a container was left behind"


def _folder_of_the_run(project: Project, proc: subprocess.Popen[str]) -> Path:
    seen = _while_running(project, proc)
    _config_holds_no(seen, SECRET)
    folder: Path = seen["folder"]
    assert (folder / "ANTHROPIC_API_KEY").read_text() == SECRET
    return folder


def test_ctrl_c_removes_the_credential_files(project: Project) -> None:
    proc = project.popen("task", "create", "-m", "Wait AGENT:SLEEP=30 AGENT:ENV")
    folder = _folder_of_the_run(project, proc)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not folder.exists()


def test_clean_removes_what_a_killed_run_left(project: Project) -> None:
    proc = project.popen("task", "create", "-m", "Wait AGENT:SLEEP=30")
    folder = _folder_of_the_run(project, proc)
    proc.kill()  # kill -9: no cleanup ran
    proc.communicate(timeout=30)
    assert folder.exists()
    cleaned = project.cli("clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert not folder.exists()
    assert f"credential files a killed run left ({folder})" in cleaned.stdout + cleaned.stderr


def test_a_finished_run_leaves_no_credential_file(project: Project) -> None:
    proc = project.popen("task", "create", "-m", "Say AGENT:ENV AGENT:SLEEP=2")
    folder = _folder_of_the_run(project, proc)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "ANTHROPIC_API_KEY is set" in out  # exported from the file for the agent
    assert not folder.exists()


# -- network host needs asking for ------------------------------------------------------------


def test_network_host_is_refused_without_the_flag_and_warns_with_it(project: Project) -> None:
    project.configure(network="host")
    before = git(project.work, "for-each-ref")
    refused = project.cli("task", "create", "-m", "Use the host network")
    assert refused.returncode == 1
    (line,) = [x for x in refused.stderr.splitlines() if x.startswith("error: ")]
    assert "network host" in line and "nothing was started" in line
    assert "--allow-host-network" in refused.stderr and "Traceback" not in refused.stderr
    assert git(project.work, "for-each-ref") == before  # nothing recorded
    allowed = project.cli("task", "create", "-m", "Use the host network", "--allow-host-network")
    assert allowed.returncode == 0, allowed.stderr
    assert "warning: network host: the agent's container shares this machine's network" in (
        allowed.stderr
    )
    project.configure(allow_host_network=True)  # or the setting, once for the project
    again = project.cli("task", "create", "-m", "Again")
    assert again.returncode == 0 and "warning: network host" in again.stderr


# -- the leak check sees through the usual disguises -------------------------------------------

#: Characters URL-encoding changes, so that its form differs from the value.
TOKEN = "tok/0123456789+abcdef=s3cret"


def _b64_inside(value: str) -> str:
    # inside a longer text, at an alignment where the value's own encoding differs
    return base64.b64encode(f"KEY={value}\n".encode()).decode()


def _split(value: str) -> str:
    return "\n".join(value[i : i + 5] for i in range(0, len(value), 5))


DISGUISES: dict[str, Callable[[str], str]] = {
    "base64": lambda v: base64.b64encode(v.encode()).decode(),
    "base64 inside a longer text": _b64_inside,
    "base64 wrapped at 20 columns": lambda v: _split(_b64_inside(v)).replace("\n", "\r\n"),
    "url-safe base64": lambda v: base64.urlsafe_b64encode(f"x{v}".encode()).decode(),
    "URL-encoded": lambda v: f"https://example.com/?key={quote(v, safe='')}",
    "URL-encoded, lower case": lambda v: quote(v, safe="").lower(),
    "every byte URL-encoded": lambda v: "".join(f"%{b:02x}" for b in v.encode()),
    "reversed": lambda v: v[::-1],
    "split across lines": _split,
    "split across indented lines": lambda v: _split(v).replace("\n", "\n    "),
    "hex": lambda v: v.encode().hex(),
}


@pytest.fixture
def work(team: Team, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = team.clone("work")
    config = ConfigFile.open(path)
    for key, value in {
        "agent": "command",
        "agent_command": "do-the-task",
        "image": "agent:test",
        "env": "GITTASK_TEST_TOKEN",
    }.items():
        config.set(key, value)
    config.save()
    monkeypatch.setenv("GITTASK_TEST_TOKEN", TOKEN)
    return path


def _run(work: Path, write: Callable[[MemoryContainer], None]) -> RunResult:
    db = open_database(work)
    task = record_task(db, "Save the settings", None, None)

    def program(c: MemoryContainer) -> int:
        write(c)
        return 0

    engine = MemoryEngine(program)
    return run_task(db, RunRequest(task_id=task.id), preflight(db, engine=engine))


@pytest.mark.parametrize("disguise", sorted(DISGUISES))
def test_a_disguised_credential_in_the_work_is_refused(
    work: Path, team: Team, disguise: str
) -> None:
    encoded = DISGUISES[disguise](TOKEN)
    assert TOKEN not in encoded

    def write(c: MemoryContainer) -> None:
        value = c.env()["GITTASK_TEST_TOKEN"]  # what the agent was given
        assert value == TOKEN
        (c.host("/workspace") / "settings.txt").write_text(
            f"saved:\n{DISGUISES[disguise](value)}\n"
        )

    result = _run(work, write)
    assert not result.success and result.error is not None
    assert "refused the agent's work" in result.error and "settings.txt" in result.error
    assert "GITTASK_TEST_TOKEN" in result.error and encoded not in result.error
    branch = result.task.branch_name
    assert git(work, "rev-parse", "--verify", "-q", f"refs/heads/{branch}", check=False) == ""
    assert team.remote_ref(f"refs/heads/{branch}") == ""


def test_a_look_alike_is_not_refused(work: Path, team: Team) -> None:
    """Other base64 and hex text, and a part of the value, go through."""

    def write(c: MemoryContainer) -> None:
        (c.host("/workspace") / "data.txt").write_text(
            base64.b64encode(b"tok/0123456789+abcdef=public").decode()
            + "\n"
            + TOKEN[:10]
            + "\n"
            + b"another value".hex()
            + "\n"
        )

    result = _run(work, write)
    assert result.success, result.error


@pytest.mark.parametrize("disguise", ["base64", "URL-encoded", "reversed", "hex"])
def test_the_logs_mask_the_disguises_too(disguise: str) -> None:
    encoded = DISGUISES[disguise](TOKEN)
    masked = Scrubber([TOKEN]).text(f"the agent printed {encoded} here")
    assert encoded not in masked and masked.startswith("the agent printed ") and "***" in masked
