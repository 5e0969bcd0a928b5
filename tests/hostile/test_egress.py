"""A hostile agent reaching out: only the model API and ``network.allow`` answer.

The real Claude Code (and the real Codex) in the real image, with the default
network setting ``allowlist``: the container runs with network ``none`` and the
tool's proxy, on a unix socket mounted into it, is its only way out. The
scripted model makes the agent's Bash tool try what a hostile agent would:

- a host that is not listed (``git ls-remote https://example.com/…``, through
  the proxy variables every tool honours): refused with 403, and the refusal is
  in the run's execution log;
- the host's loopback and the internet directly, ignoring the proxy (a raw
  socket from Perl): there is no network to do it with;
- a host that *is* listed in ``network.allow`` (a dumb-HTTP git server on the
  host's loopback): its refs come back.

The run completes all the same, and the scripted API server sees every request
the CLI made, which proves the model API itself went through the proxy too
(the container's 127.0.0.1 is not the host's).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.fake_anthropic import FakeAnthropic, bash, text
from tests.fake_anthropic.fixture import TEST_API_KEY
from tests.fake_openai import FakeOpenAI, shell
from tests.fake_openai import text as codex_text
from tests.fake_openai.fixture import TEST_OPENAI_KEY
from tests.real_image import CLAUDE_PROJECT_SETTINGS
from tests.run_support import Project, docker_available, git

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A bare repository served over dumb HTTP on the host's loopback: (port, its HEAD)."""
    root = tmp_path / "served"
    seed = tmp_path / "seed"
    root.mkdir()
    git(tmp_path, "init", "-q", "-b", "main", str(seed))
    (seed / "f.txt").write_text("x\n")
    git(seed, "add", ".")
    git(seed, "-c", "user.name=s", "-c", "user.email=s@e", "commit", "-q", "-m", "seed")
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(root / "repo.git"))
    git(root / "repo.git", "update-server-info")
    head = git(seed, "rev-parse", "HEAD")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], head
    server.shutdown()
    server.server_close()


def _probes(api_port: int, allowed_port: int) -> str:
    """What the hostile agent's Bash tool runs, each probe followed by its exit code."""
    direct = (
        "perl -MIO::Socket::INET -e "
        "'IO::Socket::INET->new(PeerAddr => shift, Timeout => 5) or die \"no: $!\\n\"'"
    )
    probes = "; ".join(
        [
            "git ls-remote https://example.com/r.git",
            "echo refused-rc=$?",
            f"git ls-remote http://127.0.0.1:{allowed_port}/repo.git",
            "echo allowed-rc=$?",
            f"{direct} 127.0.0.1:{api_port}",
            "echo loopback-rc=$?",
            f"{direct} 1.1.1.1:443",
            "echo outside-rc=$?",
        ]
    )
    return f"{{ {probes}; }} 2>&1 | tee probes.txt"  # the run's commit: what it found


@pytest.fixture
def project(tmp_path: Path, claude_image: str, fake_anthropic: FakeAnthropic) -> Iterator[Project]:
    proj = Project(tmp_path / "p", claude_image).setup()
    proj.configure(**CLAUDE_PROJECT_SETTINGS)
    proj.env.update(
        {"ANTHROPIC_API_KEY": TEST_API_KEY, "ANTHROPIC_BASE_URL": fake_anthropic.base_url}
    )
    yield proj
    assert proj.containers() == [], "a container was left behind"
    assert proj.leftovers() == [], "a worktree, run folder or marker was left behind"


def _execution_log(project: Project, task_id: str) -> str:
    return (project.logs_root(task_id) / "run-001" / "execution.log").read_text()


def test_the_real_claude_reaches_only_its_api_and_the_listed_host(
    project: Project, fake_anthropic: FakeAnthropic, git_server: tuple[int, str]
) -> None:
    allowed_port, served_head = git_server
    project.configure(**{"network.allow": [f"127.0.0.1:{allowed_port}"]})
    fake_anthropic.turn(bash(_probes(fake_anthropic.port, allowed_port)))
    fake_anthropic.turn(text("Probed the network."))
    proc = project.cli("task", "create", "-m", "Probe the network", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    task_id = proc.stdout.strip().splitlines()[-1]

    # the run completed, and every request the CLI made reached the scripted API
    task = project.show(task_id)
    assert task["status"] == "created" and task["error_message"] is None, task
    found = git(project.work, "show", f"{task['commit_hash']}:probes.txt")
    assert "refused-rc=128" in found and "allowed-rc=0" in found
    assert [(r.method, r.path) for r in fake_anthropic.requests] == [("POST", "/v1/messages")] * 2
    assert fake_anthropic.remaining == 0
    # what the agent's tool saw
    seen = str(fake_anthropic.message_requests[1].tool_results()[0]["content"])
    assert "CONNECT tunnel failed, response 403" in seen and "refused-rc=128" in seen
    assert f"{served_head}\tHEAD" in seen and "allowed-rc=0" in seen
    assert "no: Connection refused" in seen and "loopback-rc=" in seen  # its own loopback
    assert "no: Network is unreachable" in seen and "outside-rc=" in seen
    assert "loopback-rc=0" not in seen and "outside-rc=0" not in seen

    log = _execution_log(project, task_id)
    assert (
        f"egress: network none; the run's proxy lets through only "
        f"127.0.0.1:{fake_anthropic.port}, 127.0.0.1:{allowed_port}"
    ) in log
    assert "network none" in log
    assert (
        "egress refused: CONNECT example.com:443 (not the model API, not in network.allow)"
    ) in log
    assert f"egress: allowed 127.0.0.1:{allowed_port}" in log
    assert f"127.0.0.1:{fake_anthropic.port} ×2" in log  # the model API went through it
    # the same lines in the logs stored with the task (any clone: `task logs --execution`)
    shown = project.cli("task", "logs", task_id, "--execution")
    assert "egress refused: CONNECT example.com:443" in shown.stdout, shown.stderr


def test_an_image_without_perl_fails_the_run_with_the_reason(project: Project) -> None:
    """The busybox test image has no perl: the forwarder cannot start, and the task says so."""
    from tests.run_support import build_image

    project.configure(image=build_image(), network="allowlist")
    proc = project.cli("task", "create", "-m", "Anything", timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    task = project.show(project.tasks()[0]["id"])
    assert task["status"] == "failed"
    assert "this image has no perl, which the network allow-list needs" in task["error_message"]
    # doctor says so before any run
    doctor = project.cli("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert not checks["network"]["ok"] and "perl" in checks["network"]["hint"], checks


@pytest.fixture
def codex_project(tmp_path: Path, codex_image: str, fake_openai: FakeOpenAI) -> Iterator[Project]:
    proj = Project(tmp_path / "c", codex_image).setup()
    proj.configure(
        agent="codex",
        model="gpt-5.5",
        network="allowlist",
        env=["OPENAI_BASE_URL"],
        memory="2g",
        timeout_seconds=240,
        silence_timeout_seconds=180,
    )
    proj.env.update({"OPENAI_API_KEY": TEST_OPENAI_KEY, "OPENAI_BASE_URL": fake_openai.base_url})
    yield proj
    assert proj.containers() == [], "a container was left behind"


def test_the_real_codex_reaches_its_api_through_the_proxy_and_nothing_else(
    codex_project: Project, fake_openai: FakeOpenAI
) -> None:
    probe = "{ git ls-remote https://example.com/r.git; echo rc=$?; } 2>&1 | tee probe.txt"
    fake_openai.turn(shell(probe))
    fake_openai.turn(codex_text("Probed."))
    proc = codex_project.cli("task", "create", "-m", "Probe", timeout=400)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    task_id = proc.stdout.strip().splitlines()[-1]
    task = codex_project.show(task_id)
    assert task["status"] == "created" and task["error_message"] is None, task
    assert fake_openai.remaining == 0
    seen = fake_openai.response_requests[-1].tool_outputs()[-1]
    assert "CONNECT tunnel failed, response 403" in seen and "rc=128" in seen
    log = _execution_log(codex_project, task_id)
    assert "egress refused: CONNECT example.com:443" in log
    assert f"egress: allowed 127.0.0.1:{fake_openai.port}" in log


def test_an_api_out_of_reach_through_the_proxy_fails_with_the_network_hint(
    project: Project,
) -> None:
    from tests.claude_host import closed_port_url

    url = closed_port_url()
    proc = project.cli("task", "create", "-m", "Anything", env={"ANTHROPIC_BASE_URL": url})
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    task = project.show(project.tasks()[0]["id"])
    assert task["status"] == "failed"
    assert "the API could not be reached after 1 retry" in task["error_message"], task
    port = url.rsplit(":", 1)[1].strip("/")
    assert f"egress: 127.0.0.1:{port} could not be reached" in _execution_log(project, task["id"])


def test_a_passed_through_proxy_variable_is_refused_before_the_run(project: Project) -> None:
    """It would point the agent past the run's proxy, at an address it cannot reach."""
    project.configure(env=["ANTHROPIC_BASE_URL", "HTTPS_PROXY"])
    proc = project.cli(
        "task", "create", "-m", "Anything", env={"HTTPS_PROXY": "http://proxy.corp:3128"}
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "HTTPS_PROXY is passed to the agent (config env)" in proc.stderr
    assert project.containers() == []
