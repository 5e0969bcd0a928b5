"""Which host:port pairs the agent's container may reach: the allow-list.

An entry of the setting ``network.allow`` is one of::

    example.com          that host, ports 443 and 80
    example.com:8443     that host, that port only
    *.example.com        any name below example.com (not example.com itself), 443 and 80
    10.0.0.7:3000        an IPv4 address (the same forms)
    [2001:db8::1]:443    an IPv6 address, in brackets

Names are compared as written, lower-cased and without a final dot, never
resolved: an address is allowed only when it is listed itself, and a name only
by its name. The model API (the agent's base URL: its host and its port) is
always on the list (:func:`endpoint_of`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

#: The ports a host listed without one may be reached on.
WEB_PORTS = (443, 80)

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_MAX_NAME = 253


@dataclass(frozen=True)
class Rule:
    """One entry: a host (or ``*.`` a domain) and the ports it may be reached on."""

    host: str  # normalised; an IPv6 address without brackets
    ports: tuple[int, ...]
    wildcard: bool = False  # host is a domain: any name below it matches

    def matches(self, host: str, port: int) -> bool:
        if port not in self.ports:
            return False
        if self.wildcard:
            return host.endswith("." + self.host)
        return host == self.host

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        host = f"*.{host}" if self.wildcard else host
        return f"{host}:{','.join(str(p) for p in self.ports)}"


def normal_host(text: str) -> str | None:
    """*text* as a host the list compares (lower case, no final dot, an IPv6
    address without brackets), or None when it is no host name or address."""
    host = text.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        try:
            return str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            return None
    host = host[:-1] if host.endswith(".") else host
    if not host or len(host) > _MAX_NAME or not host.isascii():
        return None
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    if not _NAME.match(host) or re.fullmatch(r"[0-9.]+", host):
        return None  # digits and dots only: an address spelled oddly (127.1), refused
    return host


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"bad port {text!r}")
    return int(text)


def split_authority(text: str) -> tuple[str, str | None]:
    """``(host, port text or None)`` of ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError("an IPv6 address needs its closing ]")
        rest = text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError("expected :port after the ]")
        return text[: end + 1], rest[1:] if rest else None
    if text.count(":") > 1:
        raise ValueError("write an IPv6 address in brackets: [2001:db8::1]:443")
    host, colon, port = text.partition(":")
    return host, port if colon else None


def parse_rule(entry: str) -> Rule:
    """One ``network.allow`` entry; ValueError saying what is wrong with it."""
    text = entry.strip()
    if not text:
        raise ValueError("an empty entry")
    if "/" in text or "@" in text:
        raise ValueError(f"{entry!r}: give a host or host:port, not a URL")
    wildcard = text.startswith("*.")
    host_text, port_text = split_authority(text[2:] if wildcard else text)
    host = normal_host(host_text)
    if host is None:
        raise ValueError(f"{entry!r} is not a host name or address")
    if wildcard and (":" in host or re.fullmatch(r"[0-9.]+", host) or "." not in host):
        raise ValueError(f"{entry!r}: *. goes before a domain such as *.example.com")
    ports = (_port(port_text),) if port_text is not None else WEB_PORTS
    return Rule(host, ports, wildcard)


def endpoint_of(url: str) -> Rule:
    """The rule that lets the agent reach its model API at *url* (its host, its port)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the API address {url!r} is not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"the API address {url!r} has a bad port") from None
    host = normal_host(f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname)
    if host is None:
        raise ValueError(f"the API address {url!r} has no usable host")
    return Rule(host, (port,))


@dataclass(frozen=True)
class AllowList:
    rules: tuple[Rule, ...]

    @classmethod
    def of(cls, entries: Iterable[str], api_urls: Iterable[str] = ()) -> AllowList:
        """The model API endpoints first, then the user's entries (ValueError on a bad one)."""
        rules = [endpoint_of(url) for url in api_urls]
        rules += [parse_rule(entry) for entry in entries]
        return cls(tuple(dict.fromkeys(rules)))

    def allows(self, host: str, port: int) -> bool:
        """True when *host* (as a request named it) and *port* are on the list."""
        name = normal_host(f"[{host}]" if ":" in host and not host.startswith("[") else host)
        return name is not None and any(rule.matches(name, port) for rule in self.rules)

    def __str__(self) -> str:
        return ", ".join(str(rule) for rule in self.rules) or "nothing"
