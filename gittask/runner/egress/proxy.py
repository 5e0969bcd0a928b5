"""The filtering proxy: an HTTP forward proxy on a unix socket, for one run.

It serves ``CONNECT host:port`` (HTTPS, WebSockets) and plain-HTTP requests
with an absolute URI (see :mod:`gittask.runner.egress.head`), and only to the
destinations its :class:`~gittask.runner.egress.allow.AllowList` allows. A
refused request gets ``403`` with a line saying why, and one line in the run's
log; so do a malformed request (``400``), a destination that cannot be reached
(``502`` to a tunnel; a plain-HTTP request is closed unanswered, as a direct
connection would fail, so that the client reports the API out of reach rather
than failing)
and a connection over the limit (``503``). The first connection to
each allowed destination is logged too; :meth:`EgressProxy.stop` logs the
totals. At most :data:`MAX_LOGGED` such lines are written: a flood of refusals
is counted, not logged.

Each client connection is served by one thread (blocking sockets, one
selector for both directions); the threads are daemons and :meth:`stop` shuts
every connection down. The host side never reads more than a request head
before it has decided.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from gittask.runner.egress.allow import AllowList
from gittask.runner.egress.head import (
    END,
    MAX_HEAD,
    BadRequest,
    Request,
    ResponseHead,
    answer,
    parse_request,
)

#: Lines of the log the proxy writes at most (then it only counts).
MAX_LOGGED = 100
#: Destinations counted one by one (a flood of names is counted as "others").
MAX_KEYS = 1000
#: Connections served at once; more are answered 503.
MAX_CONNECTIONS = 64
#: Seconds a client has to send its request head, and to connect upstream.
HEAD_TIMEOUT = 30.0
CONNECT_TIMEOUT = 15.0
#: Seconds a tunnel stays open once one side has finished sending.
HALF_CLOSED_TIMEOUT = 60.0
_CHUNK = 65536

Log = Callable[[str], None]


class EgressProxy:
    """The proxy listening on the unix socket *path* until :meth:`stop`."""

    def __init__(self, path: Path, allow: AllowList, log: Log) -> None:
        self.path = path
        self.allow = allow
        self._log = log
        self.allowed: Counter[str] = Counter()  # destination -> connections
        self.refused: Counter[str] = Counter()  # destination (or reason) -> requests
        self.failed: Counter[str] = Counter()  # destination -> connections that failed
        self._lock = threading.Lock()
        self._logged = 0
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._open: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None

    def start(self) -> EgressProxy:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        os.chmod(self.path, 0o666)  # see Egress: the container's uid may be any
        listener.listen(128)
        listener.settimeout(0.2)  # how often the accept loop looks at the stop flag
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, name="egress-proxy", daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop listening, end every connection, log the totals (once)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            live, threads = list(self._open), list(self._threads)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=2)
        with contextlib.suppress(OSError):
            self.path.unlink()
        self._log(self.summary())

    def summary(self) -> str:
        def listed(counts: Counter[str]) -> str:
            return ", ".join(f"{k} ×{n}" for k, n in counts.most_common(10))

        with self._lock:
            line = f"egress: {sum(self.allowed.values())} connection(s) allowed"
            if self.allowed:
                line += f" ({listed(self.allowed)})"
            line += f"; {sum(self.refused.values())} refused"
            if self.refused:
                line += f" ({listed(self.refused)})"
            if self.failed:
                line += f"; {sum(self.failed.values())} failed ({listed(self.failed)})"
        return line

    # -- the threads --------------------------------------------------------------

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            if not self._slots.acquire(blocking=False):
                self._note(self.refused, "over the connection limit", "503: too many connections")
                self._send(client, answer(503, "Service Unavailable", "too many connections"))
                client.close()
                continue
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            with self._lock:
                self._threads.add(thread)
                self._open.add(client)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            request, rest = self._read_request(client)
            if request is None:
                return
            upstream = self._connect(client, request)
            if upstream is None:
                return
            if request.tunnel:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
                _relay(client, upstream, None)
            else:
                upstream.sendall(request.upstream_head + rest)
                _relay(client, upstream, None if request.upgrade else ResponseHead())
        except OSError:
            pass  # either side went away: nothing to say
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with self._lock:
                        self._open.discard(sock)
                    sock.close()
            with self._lock:
                self._threads.discard(threading.current_thread())
            self._slots.release()

    def _read_request(self, client: socket.socket) -> tuple[Request | None, bytes]:
        """The request and the bytes read after its head; (None, b"") when answered."""
        client.settimeout(HEAD_TIMEOUT)
        data = b""
        while END not in data:
            try:
                chunk = client.recv(_CHUNK)
            except TimeoutError:
                why = "no request head in time"
                self._note(self.refused, why, f"egress refused: {why}")
                return None, b""
            if not chunk:
                return None, b""
            data += chunk
            if len(data) > MAX_HEAD and END not in data[: MAX_HEAD + len(END)]:
                self._refuse(client, 431, "Request Header Fields Too Large", "a head over 64 KiB")
                return None, b""
        client.settimeout(None)
        head, _, rest = data.partition(END)
        try:
            request = parse_request(head)
        except BadRequest as exc:
            self._refuse(client, 400, "Bad Request", f"a malformed request ({exc})")
            return None, b""
        if not self.allow.allows(request.host, request.port):
            self._note(
                self.refused,
                request.destination,
                f"egress refused: {request.method} {request.destination} "
                "(not the model API, not in network.allow)",
            )
            self._send(
                client,
                answer(
                    403,
                    "Forbidden",
                    f"claude-container: {request.destination} is not on this run's network "
                    "allow-list (the model API and the setting network.allow)",
                ),
            )
            return None, b""
        return request, rest

    def _connect(self, client: socket.socket, request: Request) -> socket.socket | None:
        try:
            upstream = socket.create_connection(
                (request.host, request.port), timeout=CONNECT_TIMEOUT
            )
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self._note(
                self.failed,
                request.destination,
                f"egress: {request.destination} could not be reached: {reason}",
            )
            if request.tunnel:
                why = f"claude-container: {request.destination}: {reason}"
                self._send(client, answer(502, "Bad Gateway", why))
            # plain HTTP: closed unanswered, as a direct connection would fail (a 502
            # would read as the API failing, not as the API out of reach)
            return None
        upstream.settimeout(None)
        with self._lock:
            self._open.add(upstream)
        if self._stopping.is_set():  # stop() may have missed it: the run is over
            raise OSError("stopping")
        with self._lock:
            first = request.destination not in self.allowed
            self._count(self.allowed, request.destination)
        if first:
            self._line(f"egress: allowed {request.destination}")
        return upstream

    def _refuse(self, client: socket.socket, status: int, reason: str, why: str) -> None:
        self._note(self.refused, why, f"egress refused: {why}")
        self._send(client, answer(status, reason, f"claude-container: {why}"))

    def _note(self, counts: Counter[str], key: str, line: str) -> None:
        with self._lock:
            self._count(counts, key)
        self._line(line)

    @staticmethod
    def _count(counts: Counter[str], key: str) -> None:
        """One more for *key* (past :data:`MAX_KEYS` destinations, for "others")."""
        counts[key if key in counts or len(counts) < MAX_KEYS else "others"] += 1

    def _line(self, line: str) -> None:
        with self._lock:
            self._logged += 1
            count = self._logged
        if count <= MAX_LOGGED:
            self._log(line)
        elif count == MAX_LOGGED + 1:
            self._log(f"egress: more than {MAX_LOGGED} lines; the rest are only counted")

    @staticmethod
    def _send(client: socket.socket, data: bytes) -> None:
        with contextlib.suppress(OSError):
            client.sendall(data)


def _relay(client: socket.socket, upstream: socket.socket, response: ResponseHead | None) -> None:
    """Copy bytes both ways until both sides have finished (or either fails).

    Plain HTTP (*response* given): once the server has finished, so has the
    exchange (its answer carries ``Connection: close``)."""
    with selectors.DefaultSelector() as selector:
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        open_sides = 2
        while open_sides:
            ready = selector.select(timeout=HALF_CLOSED_TIMEOUT if open_sides == 1 else None)
            if not ready:
                return  # one side finished long ago and the other never did
            for key, _ in ready:
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                target: socket.socket = key.data
                data = source.recv(_CHUNK)
                if source is upstream and response is not None:
                    if not data:  # the server has answered: so has the exchange
                        target.sendall(response.flush())
                        return
                    data = response.feed(data)
                elif not data:
                    selector.unregister(source)
                    open_sides -= 1
                    with contextlib.suppress(OSError):
                        target.shutdown(socket.SHUT_WR)
                    continue
                if data:
                    target.sendall(data)
