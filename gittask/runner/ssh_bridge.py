"""``ssh://`` engines through the ssh program, as the docker CLI reaches them.

The docker CLI talks to an ``ssh://[user@]host[:port]`` engine by running
``ssh host docker system dial-stdio`` for each connection: the far side's
docker CLI connects to its engine (its ``DOCKER_HOST`` or context) and relays
the bytes. :class:`SshBridge` does the same for the docker SDK: it listens on a
unix socket of its own (a private folder) and relays each connection through
one such ssh process. So the user's ssh config, keys and agent apply, and the
SDK needs no ssh library of its own (paramiko, ~0.3 s more on every start).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlparse

from gittask.errors import GittaskError


def ssh_command(url: str) -> list[str]:
    """``ssh [-l USER] [-p PORT] -- HOST docker system dial-stdio`` for an ``ssh://`` URL."""
    parsed = urlparse(url)
    if parsed.scheme != "ssh" or not parsed.hostname:
        raise GittaskError(f"not an ssh engine URL: {url!r}", "write it as ssh://user@host")
    command = ["ssh"]
    if parsed.username:
        command += ["-l", parsed.username]
    if parsed.port:
        command += ["-p", str(parsed.port)]
    return [*command, "--", parsed.hostname, "docker", "system", "dial-stdio"]


class SshBridge:
    """A local unix socket whose connections go to the engine through ssh."""

    def __init__(self, url: str) -> None:
        self.command = ssh_command(url)
        self.folder = Path(tempfile.mkdtemp(prefix="gittask-ssh-"))
        self.path = self.folder / "docker.sock"
        self.last_error = ""  # what ssh said when a connection failed
        self._procs: list[subprocess.Popen[bytes]] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.path))
        self._server.listen(16)
        threading.Thread(target=self._accept, name="gittask-ssh", daemon=True).start()
        atexit.register(self.close)

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        self._procs.append(proc)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        into, out = proc.stdin.fileno(), proc.stdout.fileno()

        def upstream() -> None:
            with contextlib.suppress(OSError, ValueError):
                while data := conn.recv(65536):
                    os.write(into, data)
            with contextlib.suppress(OSError, ValueError):
                proc.stdin.close()  # type: ignore[union-attr]

        threading.Thread(target=upstream, daemon=True).start()
        with contextlib.suppress(OSError, ValueError):
            while data := os.read(out, 65536):
                conn.sendall(data)
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()
        error = proc.stderr.read().decode("utf-8", "replace").strip()
        if proc.wait() != 0 and error:
            self.last_error = error.splitlines()[-1]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._server.close()
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        shutil.rmtree(self.folder, ignore_errors=True)
