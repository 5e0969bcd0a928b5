"""The egress allow-list without Docker: entries, matching, HTTP heads, and the
proxy itself on a real unix socket in front of real loopback servers.

What the agent's container does through it (the real Claude Code, the forwarder
in the real image) is in ``tests/hostile/test_egress.py``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gittask.runner.egress import AllowList, EgressProxy, endpoint_of, parse_rule
from gittask.runner.egress.head import BadRequest, ResponseHead, parse_request
from gittask.runner.egress.proxy import MAX_LOGGED

# -- entries and matching ----------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "shown"),
    [
        ("example.com", "example.com:443,80"),
        ("Example.COM.", "example.com:443,80"),
        ("example.com:8443", "example.com:8443"),
        ("*.example.com", "*.example.com:443,80"),
        ("*.example.com:8080", "*.example.com:8080"),
        ("10.0.0.7", "10.0.0.7:443,80"),
        ("10.0.0.7:3000", "10.0.0.7:3000"),
        ("[2001:DB8:0::1]:443", "[2001:db8::1]:443"),
        ("[::1]", "[::1]:443,80"),
        ("localhost:8080", "localhost:8080"),
    ],
)
def test_an_entry_is_read_and_normalised(entry: str, shown: str) -> None:
    assert str(parse_rule(entry)) == shown


@pytest.mark.parametrize(
    "entry",
    [
        "",
        "https://example.com",
        "example.com/path",
        "user@example.com",
        "exa mple.com",
        "exa_mple.com",
        "-example.com",
        "example.com:0",
        "example.com:65536",
        "example.com:http",
        ":443",
        "2001:db8::1",  # an IPv6 address needs brackets
        "[2001:db8::1",
        "[not-v6]:443",
        "127.1",  # an address spelled oddly is no name
        "*.com",
        "*.10.0.0.7",
        "*",
        "bücher.de",  # the punycode form (xn--bcher-kva.de) is accepted
    ],
)
def test_a_bad_entry_is_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        parse_rule(entry)


def test_the_model_api_is_its_host_and_its_port_only() -> None:
    assert str(endpoint_of("https://api.anthropic.com")) == "api.anthropic.com:443"
    assert str(endpoint_of("http://127.0.0.1:8080/v1")) == "127.0.0.1:8080"
    assert str(endpoint_of("https://gateway.example.com:9443/anthropic/")) == (
        "gateway.example.com:9443"
    )
    assert str(endpoint_of("http://[::1]:9/")) == "[::1]:9"
    for bad in ("ftp://example.com", "api.anthropic.com", "http://", "http://x:99999"):
        with pytest.raises(ValueError):
            endpoint_of(bad)


def test_only_what_is_listed_is_allowed() -> None:
    allow = AllowList.of(
        ["github.com", "*.npmjs.org", "10.0.0.7:3000", "[2001:db8::1]:443"],
        ["https://api.anthropic.com"],
    )
    allowed = [
        ("api.anthropic.com", 443),
        ("API.Anthropic.com.", 443),
        ("github.com", 443),
        ("github.com", 80),
        ("registry.npmjs.org", 443),
        ("a.b.npmjs.org", 80),
        ("10.0.0.7", 3000),
        ("[2001:db8:0:0::1]", 443),
        ("2001:db8::1", 443),
    ]
    refused = [
        ("api.anthropic.com", 80),  # the API's port only
        ("api.anthropic.com.evil.example", 443),
        ("evil.example", 443),
        ("github.com", 22),
        ("gist.github.com", 443),  # a name below a listed host is another host
        ("npmjs.org", 443),  # *. is below the domain, not the domain itself
        ("evilnpmjs.org", 443),
        ("10.0.0.7", 443),
        ("10.0.0.8", 3000),
        ("127.0.0.1", 443),
        ("localhost", 443),
        ("0x7f.1", 443),
        ("github.com\r\nHost: evil", 443),
        ("", 443),
    ]
    assert [t for t in allowed if not allow.allows(*t)] == []
    assert [t for t in refused if allow.allows(*t)] == []


def test_a_command_agent_with_no_entries_reaches_nothing() -> None:
    allow = AllowList.of([], [])
    assert str(allow) == "nothing"
    assert not allow.allows("api.anthropic.com", 443)


def test_the_setting_takes_a_list_and_refuses_a_bad_entry(tmp_path: Path) -> None:
    from gittask.config import ConfigFile, ProjectConfig
    from gittask.errors import UsageError

    defaults = ProjectConfig()
    assert defaults.network == "allowlist" and defaults.network_allow == ()
    config = ConfigFile.open(tmp_path)
    assert config.set("network.allow", "github.com, *.npmjs.org pypi.org:443") == (
        "github.com",
        "*.npmjs.org",
        "pypi.org:443",
    )
    with pytest.raises(UsageError, match=r"network\.allow.*https://pypi\.org.*not a URL"):
        config.set("network.allow", "github.com https://pypi.org")


# -- request and response heads -------------------------------------------------------


def test_connect_names_the_destination() -> None:
    request = parse_request(b"CONNECT API.anthropic.com:443 HTTP/1.1\r\nHost: x")
    assert (request.tunnel, request.host, request.port) == (True, "api.anthropic.com", 443)
    v6 = parse_request(b"CONNECT [::1]:8443 HTTP/1.1")
    assert (v6.destination, v6.port) == ("[::1]:8443", 8443)


def test_a_plain_http_request_goes_upstream_for_its_uri_host_and_once() -> None:
    request = parse_request(
        b"POST http://127.0.0.1:8080/v1/messages?beta=true HTTP/1.1\r\n"
        b"Host: evil.example\r\nProxy-Authorization: Basic eDp5\r\n"
        b"Proxy-Connection: keep-alive\r\nConnection: keep-alive\r\n"
        b"Content-Length: 2\r\nx-api-key: k"
    )
    assert (request.tunnel, request.destination) == (False, "127.0.0.1:8080")
    assert request.upstream_head == (
        b"POST /v1/messages?beta=true HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
        b"Content-Length: 2\r\nx-api-key: k\r\nConnection: close\r\n\r\n"
    )


@pytest.mark.parametrize(
    "head",
    [
        b"GET / HTTP/1.1\r\nHost: example.com",  # origin form: not a proxy request
        b"GET https://example.com/ HTTP/1.1",  # the proxy does not speak TLS upstream
        b"CONNECT example.com HTTP/1.1",  # no port
        b"CONNECT example.com:0 HTTP/1.1",
        b"GET http://user:pw@example.com/ HTTP/1.1",
        b"GET http://example.com/ HTTP/1.1\r\nX: a\nHost: evil",
        b"GET http://example.com/\nx HTTP/1.1",
        b"GET http://exa mple.com/ HTTP/1.1",
        b"GET http://example.com/ HTTP/2",
        b"GET  http://example.com/ HTTP/1.1",
        b"\x00\x01\x02",
        b"",
    ],
)
def test_a_request_the_proxy_cannot_judge_is_refused(head: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_request(head)


def test_the_answer_says_connection_close_wherever_its_head_is_cut() -> None:
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
        b"Keep-Alive: timeout=5\r\nContent-Length: 5\r\n\r\nhello"
    )
    for cut in range(1, len(answer)):
        response = ResponseHead()
        out = response.feed(answer[:cut]) + response.feed(answer[cut:]) + response.flush()
        assert out == (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
            b"Connection: close\r\n\r\nhello"
        ), cut


# -- the proxy on a real unix socket ---------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers)))  # type: ignore[attr-defined]
        body = f"hello from {self.server.server_address[1]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.port = self.server_address[1]


@pytest.fixture
def servers() -> Iterator[tuple[_Server, _Server]]:
    """Two loopback HTTP servers: the first will be allowed, the second not."""
    pair = (_Server(), _Server())
    for server in pair:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield pair
    for server in pair:
        server.shutdown()
        server.server_close()


class _Proxy:
    def __init__(self, path: Path, allow: AllowList) -> None:
        self.lines: list[str] = []
        self.proxy = EgressProxy(path, allow, self.lines.append).start()
        self.path = path

    def connect(self) -> socket.socket:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(10)
        client.connect(str(self.path))
        return client

    def exchange(self, data: bytes) -> bytes:
        with self.connect() as client:
            client.sendall(data)
            return _read_all(client)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def proxy(tmp_path: Path, servers: tuple[_Server, _Server]) -> Iterator[_Proxy]:
    allowed, _ = servers
    running = _Proxy(tmp_path / "proxy.sock", AllowList.of([f"127.0.0.1:{allowed.port}"]))
    yield running
    running.proxy.stop()


def test_plain_http_to_an_allowed_server_is_relayed_and_closed(
    proxy: _Proxy, servers: tuple[_Server, _Server]
) -> None:
    allowed, _ = servers
    answer = proxy.exchange(
        f"GET http://127.0.0.1:{allowed.port}/x?y=1 HTTP/1.1\r\nHost: elsewhere\r\n\r\n".encode()
    )
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nConnection: close\r\n" in answer
    assert answer.endswith(f"hello from {allowed.port}\n".encode())
    path, headers = allowed.seen[0]
    assert path == "/x?y=1" and headers["Host"] == f"127.0.0.1:{allowed.port}"
    assert headers["Connection"] == "close"


def test_a_refused_destination_gets_403_and_a_log_line(
    proxy: _Proxy, servers: tuple[_Server, _Server]
) -> None:
    _, other = servers
    answer = proxy.exchange(f"GET http://127.0.0.1:{other.port}/ HTTP/1.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert f"127.0.0.1:{other.port} is not on this run's network allow-list".encode() in answer
    tunnel = proxy.exchange(b"CONNECT example.com:443 HTTP/1.1\r\n\r\n")
    assert tunnel.startswith(b"HTTP/1.1 403 ")
    assert other.seen == []
    assert [line for line in proxy.lines if "refused" in line] == [
        f"egress refused: GET 127.0.0.1:{other.port} (not the model API, not in network.allow)",
        "egress refused: CONNECT example.com:443 (not the model API, not in network.allow)",
    ]


def test_a_second_request_on_the_connection_never_reaches_another_host(
    proxy: _Proxy, servers: tuple[_Server, _Server]
) -> None:
    allowed, other = servers
    two = (
        f"GET http://127.0.0.1:{allowed.port}/first HTTP/1.1\r\n\r\n"
        f"GET http://127.0.0.1:{other.port}/second HTTP/1.1\r\n\r\n"
    ).encode()
    answer = proxy.exchange(two)
    assert answer.count(b"HTTP/1.1 200 ") <= 2  # the allowed server may answer both itself
    assert other.seen == []
    assert allowed.seen[0][0] == "/first"


def test_connect_tunnels_bytes_both_ways(proxy: _Proxy, servers: tuple[_Server, _Server]) -> None:
    allowed, _ = servers
    with proxy.connect() as client:
        client.sendall(f"CONNECT 127.0.0.1:{allowed.port} HTTP/1.1\r\n\r\n".encode())
        established = client.recv(4096)
        assert established == b"HTTP/1.1 200 Connection established\r\n\r\n"
        client.sendall(b"GET /tunnelled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = _read_all(client)
    assert answer.startswith(b"HTTP/1.1 200 ") and allowed.seen[0][0] == "/tunnelled"
    proxy.proxy.stop()
    assert f"127.0.0.1:{allowed.port} ×1" in proxy.lines[-1]


def test_malformed_and_unreachable_are_answered_and_logged(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    running = _Proxy(tmp_path / "p.sock", AllowList.of([f"127.0.0.1:{port}"]))
    try:
        assert running.exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        answer = running.exchange(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 502 ")
        # plain HTTP: closed unanswered, as a direct connection fails (no 502 "server error")
        assert running.exchange(f"GET http://127.0.0.1:{port}/ HTTP/1.1\r\n\r\n".encode()) == b""
    finally:
        running.proxy.stop()
    assert any("a malformed request" in line for line in running.lines)
    assert any(f"127.0.0.1:{port} could not be reached" in line for line in running.lines)
    assert "1 refused" in running.lines[-1] and "2 failed" in running.lines[-1]


def test_a_flood_of_refusals_is_counted_not_logged(proxy: _Proxy) -> None:
    for n in range(MAX_LOGGED + 50):
        assert proxy.exchange(f"CONNECT h{n}.example:443 HTTP/1.1\r\n\r\n".encode()).startswith(
            b"HTTP/1.1 403 "
        )
    proxy.proxy.stop()
    assert len(proxy.lines) == MAX_LOGGED + 2  # the cap, the line saying so, the totals
    assert f"{MAX_LOGGED + 50} refused" in proxy.lines[-1]


def test_stop_ends_open_tunnels_and_removes_the_socket(
    proxy: _Proxy, servers: tuple[_Server, _Server]
) -> None:
    allowed, _ = servers
    client = proxy.connect()
    client.sendall(f"CONNECT 127.0.0.1:{allowed.port} HTTP/1.1\r\n\r\n".encode())
    assert client.recv(4096).startswith(b"HTTP/1.1 200 ")
    silent = proxy.connect()  # never sends its head
    proxy.proxy.stop()
    assert client.recv(4096) == b"" and silent.recv(4096) == b""
    assert not proxy.path.exists()
    client.close()
    silent.close()


def test_a_socket_path_the_system_refuses_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gittask.errors import GittaskError
    from gittask.runner.egress import Egress

    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    monkeypatch.setenv("TMPDIR", str(deep))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    with pytest.raises(GittaskError, match="cannot start the run's egress proxy") as caught:
        Egress(AllowList.of([]), lambda line: None)
    assert "TMPDIR" in (caught.value.hint or "")
    assert list(deep.iterdir()) == []  # nothing left behind
