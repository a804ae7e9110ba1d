"""Refuse outgoing requests to private, loopback, link-local and other non-public addresses.

Checked twice: the URL up front (scheme, IP literals), and every DNS answer inside the HTTP client's
resolver, so a host name that resolves (or re-resolves, DNS rebinding) to an internal address is
never connected to. Tests and local demos turn this off with ``allow_private_addresses``.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver


class BlockedAddressError(OSError):
    """The target is not a public address (or not an allowed scheme)."""


# IPv6 ranges whose addresses carry an IPv4 address in their last 32 bits: the packet ends up at
# that IPv4 address (a NAT64 gateway or a dual-stack host translates), so it is judged by it.
_EMBED_LOW32 = (
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT, RFC 2765)
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated, RFC 4291 §2.5.5.1)
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
)
# Local-use NAT64 (RFC 8215): translated inside the operator's network, with a prefix length of the
# operator's choosing, so the embedded IPv4 cannot even be located: never a public destination.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address embeds (all must be public), or None if it embeds none."""
    if ip in _SIX_TO_FOUR:
        return [ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)]
    if ip in _TEREDO:
        # server IPv4 in bits 32-63, the client's public IPv4 inverted in the last 32 bits
        server = ipaddress.IPv4Address((int(ip) >> 64) & 0xFFFFFFFF)
        client = ipaddress.IPv4Address(~int(ip) & 0xFFFFFFFF)
        return [server, client]
    if any(ip in net for net in _EMBED_LOW32):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return None


def is_public_ip(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        embedded = embedded_ipv4(ip)
        if embedded is not None:
            return all(_is_public(v4) for v4 in embedded)
    return _is_public(ip)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool, allow_http: bool) -> None:
    """Raise BlockedAddressError unless ``url`` may be fetched at all."""
    parts = urlsplit(url)
    schemes = {"https", "http"} if allow_http or allow_private else {"https"}
    if parts.scheme not in schemes:
        raise BlockedAddressError(f"scheme {parts.scheme!r} not allowed for {url}")
    if not parts.hostname:
        raise BlockedAddressError(f"no host in {url}")
    if parts.username or parts.password:
        raise BlockedAddressError("credentials in URLs are not allowed")
    if allow_private:
        return
    host = parts.hostname.rstrip(".")  # "localhost." is localhost, fully qualified
    if host in {"localhost"} or host.endswith((".localhost", ".local", ".internal")):
        raise BlockedAddressError(f"{host} is not a public host")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return  # a name: its addresses are checked by GuardedResolver
    if not is_public_ip(host):
        raise BlockedAddressError(f"{host} is not a public address")


class GuardedResolver(AbstractResolver):
    """A resolver that drops every non-public address from DNS answers."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        public = [r for r in results if is_public_ip(r["host"])]
        if not public:
            raise BlockedAddressError(f"{host} resolves to no public address")
        return public

    async def close(self) -> None:
        await self._inner.close()


def resolver(allow_private: bool) -> Any:
    return DefaultResolver() if allow_private else GuardedResolver()
