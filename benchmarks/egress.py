"""What the egress allow-list adds to a request. Prints a table.

    python benchmarks/egress.py [--requests 200] [--image gittask-test-claude:2.1.332]

One small Perl HTTP client (the same code everywhere, core modules only) makes
``--requests`` sequential requests, one connection each, to a loopback HTTP
server on the host, timed with ``date +%s%N`` around the loop (so neither
``docker run`` nor Perl's start is counted):

  direct      on the host, straight to the server (the baseline)
  proxy       on the host, through the run's proxy on its unix socket
  container   in the real image with network none, through the forwarder on
              the container's loopback and the proxy: the agent's path

and the same for four 16 MiB downloads (throughput). The added latency per
request is the difference of the means. Target: under 5 ms a request (a model
call takes hundreds of milliseconds to seconds).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _common import print_table

from gittask.runner import egress
from tests.real_image import REAL_IMAGE

TARGET_MS = 5.0
BIG = 16 * 1024 * 1024
DOWNLOADS = 4

CLIENT = r"""
use strict; use warnings; use IO::Socket::INET; use IO::Socket::UNIX;
my ($kind, $target, $url, $count) = @ARGV;
for (1 .. $count) {
    my $s = $kind eq 'unix' ? IO::Socket::UNIX->new(Peer => $target)
                            : IO::Socket::INET->new(PeerAddr => $target);
    die "connect $target: $!\n" unless $s;
    syswrite($s, "GET $url HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
    my ($buf, $got) = ('', 0);
    while (my $n = sysread($s, $buf, 65536)) { $got += $n }
    die "empty answer\n" unless $got;
    close $s;
}
"""
TIMED = 'start=$(date +%s%N); perl "$@" || exit 1; end=$(date +%s%N); echo $((end - start))'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        size = BIG if self.path == "/big" else 2
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"x" * 65536
        left = size
        while left > 0:
            self.wfile.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)


def _timed(argv: list[str]) -> float:
    """Seconds the timed Perl loop took (printed by the command in nanoseconds)."""
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])}...: {proc.stderr.strip()[-400:]}")
    return int(proc.stdout.strip().splitlines()[-1]) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--image", default=REAL_IMAGE)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    way_out = egress.Egress(egress.AllowList.of([f"127.0.0.1:{port}"]), lambda line: None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            client = Path(tmp) / "client.pl"
            client.write_text(CLIENT, encoding="utf-8")
            Path(tmp).chmod(0o755)  # the container's user reads it
            client.chmod(0o644)
            socket_path = str(way_out.folder / egress.forwarder.SOCKET_NAME)
            host = ["sh", "-c", TIMED, "timed", str(client)]
            container = [
                "docker", "run", "--rm", "--network", "none", "--user", "1000:1000",
                "-v", f"{way_out.folder}:{egress.CONTAINER_DIR}:ro",
                "-v", f"{tmp}:/bench:ro", "--entrypoint", "",
                args.image,
                *egress.wrap(["sh", "-c", TIMED, "timed", "/bench/client.pl"]),
            ]  # fmt: skip
            forwarder = f"127.0.0.1:{egress.forwarder.PORT}"
            results = {}
            for path, count in (("/", args.requests), ("/big", DOWNLOADS)):
                url = f"http://127.0.0.1:{port}{path}"
                n = str(count)
                results[path] = {
                    "direct": _timed([*host, "inet", f"127.0.0.1:{port}", path, n]),
                    "proxy": _timed([*host, "unix", socket_path, url, n]),
                    "container": _timed([*container, "inet", forwarder, url, n]),
                }
    finally:
        way_out.stop()
        server.shutdown()
    small, big = results["/"], results["/big"]
    per = {k: v / args.requests * 1000 for k, v in small.items()}
    added = per["container"] - per["direct"]
    rate = {k: DOWNLOADS * BIG / v / 1e6 for k, v in big.items()}
    rows = [
        (f"request, direct (mean of {args.requests})", f"{per['direct']:.2f} ms", "", ""),
        ("request, through the proxy (host)", f"{per['proxy']:.2f} ms", "", ""),
        ("request, container: forwarder + proxy", f"{per['container']:.2f} ms", "", ""),
        (
            "added per request (container - direct)",
            f"{added:.2f} ms",
            f"< {TARGET_MS:.0f} ms",
            "yes" if added < TARGET_MS else "NO",
        ),
        ("16 MiB downloads, direct", f"{rate['direct']:.0f} MB/s", "", ""),
        ("16 MiB downloads, through the proxy (host)", f"{rate['proxy']:.0f} MB/s", "", ""),
        ("16 MiB downloads, container", f"{rate['container']:.0f} MB/s", "", ""),
    ]
    print_table("egress allow-list: cost of the proxy path", rows)


if __name__ == "__main__":
    main()
