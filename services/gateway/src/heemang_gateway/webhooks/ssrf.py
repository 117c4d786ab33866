"""SSRF guard for partner URLs (OWASP API7).

A partner URL must be http(s), carry no credentials, and every address its host resolves to
must be globally routable: loopback, RFC 1918, link-local (cloud metadata 169.254.169.254),
unique-local, CGNAT, multicast and reserved ranges are refused. The check runs at
registration and again before every send, on the addresses the request will actually use:
the dispatcher connects to the checked address (the URL's host goes in ``Host`` and TLS
SNI), so a DNS answer that changes between check and connect (rebinding) cannot redirect
it. Redirects are never followed (the dispatcher treats 3xx as a failure).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: host, port → the addresses it resolves to (injectable: tests pass a stub).
Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_URL_LENGTH = 2000


class UnsafeTarget(ValueError):
    """A URL the gateway refuses to call."""


@dataclass(frozen=True)
class Target:
    """A URL checked for sending: where to connect and what to call it."""

    url: str
    scheme: str
    host: str  # as written in the URL (without brackets)
    port: int
    address: str  # the checked IP the request connects to


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def parse_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable URL shape; no name resolution."""
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 0x20 for c in url):
        raise UnsafeTarget("the URL is too long or contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeTarget("the URL cannot be parsed") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeTarget("only http and https URLs are accepted")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("credentials in the URL are not accepted; the signature authenticates us")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeTarget("the URL has no host")
    return scheme, host, port or (443 if scheme == "https" else 80)


def address_is_public(address: str) -> bool:
    """Globally routable unicast, IPv4-mapped/compatible IPv6 judged by its IPv4 part."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_is_public(str(ip.ipv4_mapped))
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not address_is_public(str(embedded)):
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


async def check_target(url: str, *, resolver: Resolver, allow_private: bool) -> Target:
    """The URL checked and pinned to one of its addresses, or UnsafeTarget.

    Every resolved address must be public: one private answer among public ones is a
    rebinding attempt, not a fallback."""
    scheme, host, port = parse_url(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = await resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnsafeTarget(f"the host does not resolve ({type(exc).__name__})") from None
        if not addresses:
            raise UnsafeTarget("the host does not resolve")
    if not allow_private:
        refused = [a for a in addresses if not address_is_public(a)]
        if refused:
            raise UnsafeTarget("the host resolves to a private, loopback or reserved address")
    return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0].split("%", 1)[0])
