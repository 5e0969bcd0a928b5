"""The egress allow-list: the agent's container reaches only what it may.

With the setting ``network`` at ``allowlist`` (the default) the container has
no network at all (``none``) but a way out through this package:

    agent --HTTPS_PROXY--> forwarder on the container's 127.0.0.1:3128
          --unix socket (mounted)--> EgressProxy on the host, for this run only
          --TCP--> the model API, or a host of network.allow; anything else: 403

- :mod:`~gittask.runner.egress.allow`: the allow-list (entries, matching, the
  model API's endpoint);
- :mod:`~gittask.runner.egress.head`: the HTTP a forward proxy reads and rewrites;
- :mod:`~gittask.runner.egress.proxy`: the proxy (threads, unix socket, log);
- :mod:`~gittask.runner.egress.forwarder`: the container's end (a Perl relay
  started before the agent; the proxy variables).

It works with any local engine, also one without a bridge network or iptables
(``dockerd --bridge=none --iptables=false``), and needs nothing in the image but
``sh`` and Debian's essential ``perl-base``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from gittask.errors import GittaskError
from gittask.runner.egress.allow import AllowList, Rule, endpoint_of, parse_rule
from gittask.runner.egress.forwarder import (
    CONTAINER_DIR,
    FORWARDER,
    FORWARDER_NAME,
    PROXY_URL,
    SOCKET_NAME,
    proxy_environment,
    wrap,
)
from gittask.runner.egress.proxy import EgressProxy, Log

__all__ = [
    "ALLOWLIST",
    "CONTAINER_DIR",
    "PROXY_URL",
    "AllowList",
    "Egress",
    "EgressProxy",
    "Rule",
    "endpoint_of",
    "parse_rule",
    "proxy_environment",
    "wrap",
]

#: The ``network`` setting that turns this on (the container itself gets ``none``).
ALLOWLIST = "allowlist"


class Egress:
    """One run's way out: a folder (the proxy's socket, the forwarder) and the proxy.

    The folder is made in the temporary directory (a unix socket's path must be
    short) and mounted read-only into the container; :meth:`stop` ends the proxy
    and removes the folder."""

    def __init__(self, allow: AllowList, log: Log) -> None:
        self.allow = allow
        try:
            self.folder = Path(tempfile.mkdtemp(prefix="gittask-egress-"))
        except OSError as exc:
            raise GittaskError(f"cannot make the run's egress folder: {exc}") from None
        try:
            # readable and connectable whatever uid the engine maps the agent to: the
            # socket gives no one more than they have (it reaches what the host reaches)
            os.chmod(self.folder, 0o755)
            forwarder = self.folder / FORWARDER_NAME
            forwarder.write_text(FORWARDER, encoding="utf-8")
            os.chmod(forwarder, 0o644)
            self.proxy = EgressProxy(self.folder / SOCKET_NAME, allow, log).start()
        except BaseException as exc:
            shutil.rmtree(self.folder, ignore_errors=True)
            if isinstance(exc, OSError):  # a socket path too long for the system, ...
                raise GittaskError(
                    f"cannot start the run's egress proxy in {self.folder}: {exc}",
                    "set TMPDIR to a short local folder, or `config set network host`",
                ) from None
            raise

    def stop(self) -> None:
        try:
            self.proxy.stop()
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.folder)
