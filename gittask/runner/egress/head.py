"""The HTTP a forward proxy reads: a request's head, and the answer's head it rewrites.

A client behind an HTTP proxy sends either ``CONNECT host:port`` (a tunnel, for
HTTPS and WebSockets) or a plain-HTTP request whose target is an absolute URI
(``POST http://127.0.0.1:8080/v1/messages HTTP/1.1``). :func:`parse_request`
reads either into the destination the allow-list judges and, for plain HTTP,
the head to send upstream: origin-form target, ``Host`` from the URI, the
proxy's own headers dropped, ``Connection: close``. One connection carries one
request, so a second request can never ride along to another host;
:class:`ResponseHead` adds ``Connection: close`` to the answer as well, so the
client does not try to reuse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from gittask.runner.egress.allow import normal_host, split_authority

#: The most a request or response head may take (bigger: refused / passed as is).
MAX_HEAD = 64 * 1024
END = b"\r\n\r\n"

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_VERSION = re.compile(r"^HTTP/1\.[01]$")
#: Hop-by-hop headers and the proxy's own: never sent upstream.
_DROPPED = frozenset(
    ("connection", "proxy-connection", "keep-alive", "proxy-authorization", "te", "trailer")
)


class BadRequest(ValueError):
    """A request the proxy cannot forward; the text is a short reason (no request bytes)."""


@dataclass(frozen=True)
class Request:
    method: str
    host: str  # normalised (see allow.normal_host)
    port: int
    tunnel: bool  # CONNECT
    upstream_head: bytes = b""  # plain HTTP: what goes to the server first
    upgrade: bool = False  # plain HTTP asking for a protocol switch (WebSocket)

    @property
    def destination(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _host_port(authority: str, default: int | None) -> tuple[str, int]:
    try:
        host_text, port_text = split_authority(authority)
    except ValueError as exc:
        raise BadRequest(f"bad target: {exc}") from None
    host = normal_host(host_text)
    if host is None:
        raise BadRequest("the target is not a host name or address")
    if port_text is None:
        if default is None:
            raise BadRequest("CONNECT needs host:port")
        return host, default
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise BadRequest("bad port")
    return host, int(port_text)


def _headers(lines: list[str]) -> list[tuple[str, str]]:
    headers = []
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.match(name) or "\n" in value or "\r" in value:
            raise BadRequest("a malformed header line")
        headers.append((name, value.strip()))
    return headers


def parse_request(head: bytes) -> Request:
    """The request whose head (up to and without the blank line) is *head*."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover (latin-1 decodes every byte)
        raise BadRequest("undecodable head") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if (
        "\n" in lines[0]
        or "\r" in lines[0]
        or len(parts) != 3
        or not _TOKEN.match(parts[0])
        or not _VERSION.match(parts[2])
    ):
        raise BadRequest("a malformed request line")
    method, target, _version = parts
    headers = _headers(lines[1:])
    if method == "CONNECT":
        host, port = _host_port(target, None)
        return Request(method, host, port, tunnel=True)
    if not target.lower().startswith("http://"):
        raise BadRequest("only CONNECT and http:// targets are proxied")
    try:
        url = urlsplit(target)
    except ValueError:
        raise BadRequest("a malformed URL") from None
    if url.username is not None or url.password is not None or not url.netloc:
        raise BadRequest("a malformed URL")
    host, port = _host_port(url.netloc, 80)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    options = {
        word.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for word in value.split(",")
    }
    upgrade = "upgrade" in options and any(name.lower() == "upgrade" for name, _ in headers)
    kept = [(n, v) for n, v in headers if n.lower() not in _DROPPED and n.lower() != "host"]
    if not upgrade:
        kept = [(n, v) for n, v in kept if n.lower() != "upgrade"]
    out = [f"{method} {path} HTTP/1.1", f"Host: {url.netloc}"]
    out += [f"{n}: {v}" for n, v in kept]
    out.append("Connection: upgrade" if upgrade else "Connection: close")
    upstream = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
    return Request(method, host, port, tunnel=False, upstream_head=upstream, upgrade=upgrade)


def answer(status: int, reason: str, text: str) -> bytes:
    """A complete short plain-text answer from the proxy itself."""
    body = (text.rstrip("\n") + "\n").encode("utf-8", "replace")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode("latin-1") + body


class ResponseHead:
    """Passes a server's bytes to the client, with ``Connection: close`` in the final
    response head (informational ``1xx`` heads go through unchanged). A head that
    is malformed or too big is passed through as it came."""

    def __init__(self) -> None:
        self._buffer = b""
        self.done = False

    def feed(self, data: bytes) -> bytes:
        if self.done:
            return data
        self._buffer += data
        out = b""
        while not self.done:
            end = self._buffer.find(END)
            if end < 0:
                if len(self._buffer) > MAX_HEAD:
                    self.done = True
                    out += self._buffer
                    self._buffer = b""
                return out
            head, self._buffer = self._buffer[:end], self._buffer[end + len(END) :]
            status = head.split(b" ", 2)[1:2]
            if status and status[0].startswith(b"1") and not status[0].startswith(b"101"):
                out += head + END  # 100 Continue and the like: the real head follows
                continue
            self.done = True
            out += _closing(head) + self._buffer
            self._buffer = b""
        return out

    def flush(self) -> bytes:
        rest, self._buffer = self._buffer, b""
        return rest


def _closing(head: bytes) -> bytes:
    lines = head.split(b"\r\n")
    if lines[0].split(b" ", 2)[1:2] == [b"101"]:
        return head  # switching protocols: the connection goes on as it is
    kept = [
        line
        for line in lines[1:]
        if line.split(b":", 1)[0].strip().lower() not in (b"connection", b"keep-alive")
    ]
    return b"\r\n".join([lines[0], *kept, b"Connection: close"]) + END
