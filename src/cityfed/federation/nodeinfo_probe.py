"""Which software a peer runs, from its NodeInfo (for the admin's peers view, §8).

``/.well-known/nodeinfo`` lists links to NodeInfo documents by schema; the newest schema we know
is read for ``software.name`` and ``software.version``. Unsigned GETs through ``fetch_json``, so
the usual limits apply and a blocked domain is never asked.
"""

from __future__ import annotations

import logging
from typing import Any

from cityfed.activitypub.actor import authority, is_http_url
from cityfed.federation.fetch import FetchError, fetch_json
from cityfed.models import peers as peer_queries
from cityfed.node import Node

log = logging.getLogger("cityfed.nodeinfo_probe")

SCHEMA_PREFIX = "http://nodeinfo.diaspora.software/ns/schema/"
JSON = "application/json"
MAX_SOFTWARE = 255


class ProbeError(Exception):
    """A peer's NodeInfo could not be read."""


def _newest_link(discovery: dict[str, Any], domain: str) -> str:
    """The href of the newest NodeInfo schema listed, which must be on the peer's own host."""
    links = discovery.get("links")
    candidates: list[tuple[str, str]] = []
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict):
            continue
        rel, href = link.get("rel"), link.get("href")
        if isinstance(rel, str) and rel.startswith(SCHEMA_PREFIX) and isinstance(href, str):
            candidates.append((rel.removeprefix(SCHEMA_PREFIX), href))
    if not candidates:
        raise ProbeError("no NodeInfo link")
    _, href = max(candidates, key=lambda pair: _version_key(pair[0]))
    # Elsewhere would let a peer point our fetcher at any host; its software is its own business.
    if not is_http_url(href) or authority(href) != domain:
        raise ProbeError(f"NodeInfo link {href!r} is not on {domain}")
    return href


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


def software_of(document: dict[str, Any]) -> str:
    software = document.get("software")
    if not isinstance(software, dict) or not isinstance(software.get("name"), str):
        raise ProbeError("NodeInfo without software.name")
    name = software["name"].strip()
    version = software.get("version")
    text = f"{name} {version.strip()}" if isinstance(version, str) and version.strip() else name
    if not name:
        raise ProbeError("NodeInfo with an empty software.name")
    return text[:MAX_SOFTWARE]


async def probe(node: Node, domain: str) -> str:
    """``"name version"`` of the software at ``domain``; raises ProbeError or FetchError."""
    base = f"{node.settings.scheme}://{domain}"
    discovery = await fetch_json(node, f"{base}/.well-known/nodeinfo", signed=False, accept=JSON)
    document = await fetch_json(
        node, _newest_link(discovery.document, domain), signed=False, accept=JSON
    )
    return software_of(document.document)


async def refresh_software(node: Node, domain: str) -> str | None:
    """Probe ``domain`` and store what it runs on its peers row; None (logged) if unknown."""
    await node.policy.refresh(node.db)
    if node.policy.is_blocked(domain):
        return None
    try:
        software = await probe(node, domain)
    except (FetchError, ProbeError) as exc:
        log.info("cannot tell the software of %s: %s", domain, exc)
        return None
    async with node.db.transaction() as session:
        peer = await peer_queries.lock(session, domain)
        peer.software = software
    return software
