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
