"""A second Docker engine on this machine that cannot see this machine's folders.

Started by the test (stopped by its pid at the end): its own ``--data-root``,
``--exec-root`` and unix socket under /var/tmp, ``--bridge=none
--iptables=false --storage-driver=vfs``, in a mount namespace of its own where
``/tmp`` is an empty tmpfs. The tests' folders all live under /tmp, so any
bind mount of a client path fails on it ("bind source path does not exist"):
a run that succeeds there had nothing mounted from the client.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def can_start_engine() -> str | None:
    """Why a second engine cannot be started here (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (dockerd, a mount namespace)"
    for program in ("dockerd", "unshare", "docker"):
        if shutil.which(program) is None:
            return f"no {program} program"
    return None


def docker(host: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "-H", host, *args], capture_output=True, text=True, check=False, timeout=120
    )


@contextmanager
def second_engine(images: tuple[str, ...] = ()) -> Iterator[str]:
    """A second engine's ``unix://`` URL, with ``images`` copied in from the default one."""
    root = Path(tempfile.mkdtemp(prefix="gittask-engine-", dir="/var/tmp"))
    sock = root / "docker.sock"
    host = f"unix://{sock}"
    script = (
        "mount -t tmpfs gittask-hidden /tmp && exec dockerd "
        f"--data-root {root}/data --exec-root {root}/exec --pidfile {root}/docker.pid "
        f"--host {host} --bridge=none --iptables=false --ip-masq=false --storage-driver=vfs"
    )
    with open(root / "dockerd.log", "wb") as log:
        proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 90
        while docker(host, "info").returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the second engine did not start: "
                    + (root / "dockerd.log").read_text(errors="replace")[-2000:]
                )
            time.sleep(0.3)
        for image in images:
            saved = subprocess.run(["docker", "save", image], capture_output=True, check=True)
            loaded = subprocess.run(
                ["docker", "-H", host, "load"], input=saved.stdout, capture_output=True
            )
            assert loaded.returncode == 0, loaded.stderr
        yield host
    finally:
        proc.terminate()  # the engine we started, by its pid
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def can_start_sshd() -> str | None:
    for program in ("/usr/sbin/sshd", "ssh", "ssh-keygen"):
        if shutil.which(program) is None:
            return f"no {program} (apt-get install openssh-server)"
    return None


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def ssh_engine(engine: str) -> Iterator[tuple[str, dict[str, str]]]:
    """``ssh://`` to the engine at ``engine``, through an sshd on 127.0.0.1 with a test
    key; and the environment that reaches it (``PATH`` with an ``ssh`` that reads the
    test's ssh config: ssh takes its config from the user's passwd home, not ``HOME``).

    The sshd (stopped by its pid at the end) gives its sessions
    ``DOCKER_HOST=<engine>``, so ``docker system dial-stdio`` on the far side
    reaches the second engine.
    """
    root = Path(tempfile.mkdtemp(prefix="gittask-sshd-", dir="/var/tmp"))
    for key in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / key)], check=True
        )
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    port = _free_port()
    (root / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root}/host_key\n"
        f"PidFile {root}/sshd.pid\nAuthorizedKeysFile {root}/authorized_keys\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\n"
        f"SetEnv DOCKER_HOST={engine}\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
    (root / "bin").mkdir()
    ssh = root / "bin" / "ssh"
    ssh.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -F {root}/ssh_config "$@"\n')
    ssh.chmod(0o755)
    (root / "ssh_config").write_text(
        f"Host gittask-engine\n  HostName 127.0.0.1\n  Port {port}\n  User root\n"
        f"  IdentityFile {root}/client_key\n  IdentitiesOnly yes\n"
        "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
    )
    with open(root / "sshd.log", "wb") as log:
        proc = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(root / "sshd_config")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        extra = {"PATH": f"{root}/bin:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        env = {**os.environ, **extra}
        while True:
            probe = subprocess.run(
                ["ssh", "gittask-engine", "docker", "info", "--format", "{{.ID}}"],
                capture_output=True, text=True, env=env, check=False, timeout=30,
            )  # fmt: skip
            if probe.returncode == 0:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not answer: {probe.stderr[-500:]}")
            time.sleep(0.3)
        yield "ssh://gittask-engine", extra
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
