"""The container's end of the egress path: a forwarder on its own loopback.

The container runs with network ``none``: its only interface is its own
loopback. The run's egress folder (the proxy's unix socket and the forwarder
below) is mounted read-only at :data:`CONTAINER_DIR`; before the agent starts,
:data:`WRAPPER` starts the forwarder, which listens on ``127.0.0.1:``:data:`PORT`
and relays each connection to the socket, and only then ``exec``\\ s the agent,
with ``HTTPS_PROXY``/``HTTP_PROXY`` (both spellings) pointing at it
(:func:`proxy_environment`). A program that ignores those variables reaches
nothing at all.

The forwarder is Perl with core modules only: Debian's ``perl-base`` is
essential (in every Debian and Ubuntu image, slim ones too), so the image needs
nothing added and an image built before this existed works as it is. It
listens, then forks into the background (so the agent never starts before it
listens), detached from the agent's process group, and forks once per
connection.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Where the container sees the run's egress folder.
CONTAINER_DIR = "/run/gittask/egress"
SOCKET_NAME = "proxy.sock"
FORWARDER_NAME = "forward.pl"
#: The forwarder's port in the container's own loopback (nothing else listens there).
PORT = 3128
PROXY_URL = f"http://127.0.0.1:{PORT}"
#: Exit code of the wrapper when the forwarder cannot start.
NO_FORWARDER_EXIT = 125

FORWARDER = r"""# claude-container egress forwarder: 127.0.0.1:PORT -> the proxy's unix socket.
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_STREAM);

my ($port, $path) = @ARGV;
my $listener = IO::Socket::INET->new(
    LocalAddr => '127.0.0.1', LocalPort => $port, Proto => 'tcp',
    Listen => 128, ReuseAddr => 1,
) or die "claude-container: the egress forwarder cannot listen on 127.0.0.1:$port: $!\n";
defined(my $pid = fork) or die "claude-container: the egress forwarder cannot fork: $!\n";
exit 0 if $pid;    # listening: the agent may start
POSIX::setsid();
open STDIN, '<', '/dev/null';
open STDOUT, '>', '/dev/null';
open STDERR, '>', '/dev/null';
$SIG{CHLD} = 'IGNORE';
$SIG{PIPE} = 'IGNORE';
while (1) {
    my $client = $listener->accept or next;
    my $child = fork;
    if (!defined $child or $child) { close $client; next }
    close $listener;
    my $proxy = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path) or exit 1;
    relay($client, $proxy);
    exit 0;
}

sub relay {
    my ($one, $two) = @_;
    my $select = IO::Select->new($one, $two);
    my $buffer;
    while ($select->count) {
        for my $from ($select->can_read) {
            my $to = $from == $one ? $two : $one;
            my $read = sysread($from, $buffer, 65536);
            return unless defined $read;
            if ($read == 0) {
                $select->remove($from);
                shutdown($to, 1);
                next;
            }
            my $done = 0;
            while ($done < $read) {
                my $written = syswrite($to, $buffer, $read - $done, $done);
                return unless defined $written;
                $done += $written;
            }
        }
    }
}
"""

#: ``sh -c`` script: $1 the forwarder, $2 its port, $3 the proxy's socket, then the
#: agent's command, exec'd once the forwarder listens.
WRAPPER = (
    "if ! command -v perl >/dev/null 2>&1; then "
    "echo 'claude-container: this image has no perl, which the network allow-list needs "
    "(the egress forwarder): use a Debian-based image, or set network to host' >&2; "
    f"exit {NO_FORWARDER_EXIT}; fi; "
    f'perl "$1" "$2" "$3" || exit {NO_FORWARDER_EXIT}; shift 3; exec "$@"'
)
_SCRIPT_NAME = "gittask-egress"


def wrap(command: Sequence[str]) -> tuple[str, ...]:
    """The container's command: the forwarder started, then *command* exec'd."""
    return (
        "sh",
        "-c",
        WRAPPER,
        _SCRIPT_NAME,
        f"{CONTAINER_DIR}/{FORWARDER_NAME}",
        str(PORT),
        f"{CONTAINER_DIR}/{SOCKET_NAME}",
        *command,
    )


def proxy_environment() -> dict[str, str]:
    """What makes the agent and its tools (curl, git, npm, pip…) use the forwarder."""
    return {name: PROXY_URL for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
