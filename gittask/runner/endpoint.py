"""Which Docker engine to talk to, chosen as the docker CLI chooses it.

1. ``DOCKER_HOST`` (with ``DOCKER_TLS_VERIFY`` / ``DOCKER_CERT_PATH``);
2. else the context named by ``DOCKER_CONTEXT``;
3. else the project's ``engine`` setting (``config set engine CONTEXT``, or an
   engine URL such as ``ssh://user@host``), when it pins one;
4. else the ``currentContext`` of the docker CLI's config file
   (``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``);
5. else the default socket, ``unix:///var/run/docker.sock``.

An engine is *remote* when it is not reached through a unix socket of this
machine (``ssh://``, ``tcp://``): its host cannot see this machine's folders,
so a run's worktree goes to it as git objects (:mod:`gittask.runner.worktree.bundle`).

A context is how rootless engines, colima and Docker Desktop are reached; an
engine that does not answer is reported with the endpoint tried and how it was
chosen.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gittask.errors import GittaskError

DEFAULT_HOST = "unix:///var/run/docker.sock"


@dataclass
class Endpoint:
    url: str
    how: str  # "DOCKER_HOST", "docker context 'x' (DOCKER_CONTEXT)", ...
    tls: Any = None  # docker.tls.TLSConfig, or None

    def describe(self) -> str:
        return f"{self.url} ({self.how})"

    @property
    def remote(self) -> bool:
        """Not a unix socket of this machine: the engine's host has other folders."""
        return not self.url.startswith(("unix://", "npipe://"))


def _config_file(env: Mapping[str, str]) -> Path:
    folder = env.get("DOCKER_CONFIG")
    if folder:
        return Path(folder) / "config.json"
    return Path(env.get("HOME") or Path.home()) / ".docker" / "config.json"


def _current_context(env: Mapping[str, str]) -> tuple[str | None, str]:
    """The context name and where it came from (None: the default context)."""
    name = env.get("DOCKER_CONTEXT")
    if name:
        return name, "DOCKER_CONTEXT"
    path = _config_file(env)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, ""
    current = data.get("currentContext") if isinstance(data, dict) else None
    if isinstance(current, str) and current.strip():
        home = str(Path(env.get("HOME") or Path.home()))
        shown = str(path).replace(home, "~", 1) if str(path).startswith(home) else str(path)
        return current.strip(), shown
    return None, ""


def _context_endpoint(name: str, source: str, env: Mapping[str, str]) -> Endpoint:
    """The endpoint a named context holds (its meta.json under contexts/meta/<sha256>)."""
    import hashlib

    how = f"docker context '{name}', from {source}"
    folder = _config_file(env).parent / "contexts"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    meta = folder / "meta" / digest / "meta.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
        host = data["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        raise GittaskError(
            f"the docker context '{name}' ({source}) does not exist or has no docker endpoint",
            "list them with `docker context ls`; `docker context use default` goes back "
            "to the local engine",
        ) from None
    tls = None
    tls_dir = folder / "tls" / digest / "docker"
    if tls_dir.is_dir():
        from docker.tls import TLSConfig

        skip = bool(data["Endpoints"]["docker"].get("SkipTLSVerify"))
        cert, key, ca = (tls_dir / n for n in ("cert.pem", "key.pem", "ca.pem"))
        tls = TLSConfig(
            client_cert=(str(cert), str(key)) if cert.is_file() and key.is_file() else None,
            ca_cert=str(ca) if ca.is_file() else None,
            verify=not skip and ca.is_file(),
        )
    return Endpoint(str(host), how, tls)


def resolve(env: Mapping[str, str] | None = None, pinned: str | None = None) -> Endpoint:
    """The engine the docker CLI would use in this environment; ``pinned``: the
    project's ``engine`` setting (a context name or an engine URL)."""
    env = os.environ if env is None else env
    host = env.get("DOCKER_HOST")
    if host:
        from docker.utils import kwargs_from_env

        params = kwargs_from_env(environment=dict(env))
        return Endpoint(str(params.get("base_url") or host), "DOCKER_HOST", params.get("tls"))
    if pinned and not env.get("DOCKER_CONTEXT"):
        if "://" in pinned:
            return Endpoint(pinned, "config engine")
        return _context_endpoint(pinned, "config engine", env)
    name, source = _current_context(env)
    if name is not None and name != "default":
        return _context_endpoint(name, source, env)
    return Endpoint(DEFAULT_HOST, "the default socket: no DOCKER_HOST, no docker context")
