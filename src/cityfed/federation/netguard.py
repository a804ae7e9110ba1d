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


def is_public_ip(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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
    host = parts.hostname
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
