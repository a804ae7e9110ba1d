"""Domains marked unavailable after days of failures, and how they come back (§3 Outbound).

``federation/circuit.py`` marks a domain unavailable; from then on its deliveries are held, not
leased, so they keep their attempts. It comes back when it answers again (as Mastodon's
``DeliveryFailureTracker.track_inverse_success!`` and ``reset!`` do):

* it sends us a verified activity (``heard_from``, called by the inbox for a sender whose domain
  the policy view lists as unavailable, so the hot path pays a set lookup), or
* a probe answers: every ``delivery_probe_interval`` the delivery worker GETs
  ``/.well-known/nodeinfo`` of each unavailable domain that has held rows (``Prober``). Any HTTP
  answer below 500 means a server is there again; nothing is charged to the held rows.

Then its held rows are due at once and the worker is woken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import aiohttp

from cityfed.federation.netguard import check_url
from cityfed.models import availability as queries
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.delivery")

PROBE_CONCURRENCY = 8


async def heard_from(node: Node, domain: str, *, now: datetime | None = None) -> bool:
    """``domain`` sent us a verified request: end its hold. True if it was unavailable."""
    node.policy.unavailable.discard(domain)
    async with node.db.transaction() as session:
        changed = await queries.mark_available(session, [domain], now or utcnow())
    if changed:
        log.warning("domain %s is available again: it sent us an activity", domain)
        node.delivery_wakeup.set()
    return bool(changed)


class Prober:
    """Probes unavailable domains that have held rows, at most every ``interval`` (by ``clock``)."""

    def __init__(self, node: Node, clock: Callable[[], datetime] = utcnow) -> None:
        self.node = node
        self.clock = clock
        self.interval = timedelta(seconds=node.settings.delivery_probe_interval)
        self._next: datetime | None = None

    async def maybe_probe(self) -> list[str]:
        now = self.clock()
        if self._next is not None and now < self._next:
            return []
        self._next = now + self.interval
        return await self.probe(now)

    async def probe(self, now: datetime) -> list[str]:
        """Probe every held domain once; returns the domains that answered (now available)."""
        async with self.node.db.session() as session:
            targets = await queries.held_inboxes(session)
        if not targets:
            return []
        slots = asyncio.Semaphore(PROBE_CONCURRENCY)

        async def one(domain: str, inbox: str) -> str | None:
            async with slots:
                return domain if await self._answers(inbox) else None

        answered = [d for d in await asyncio.gather(*(one(d, i) for d, i in targets.items())) if d]
        for domain in targets.keys() - set(answered):
            log.info("probe of unavailable domain %s: still no answer", domain)
        if answered:
            async with self.node.db.transaction() as session:
                await queries.mark_available(session, answered, now)
            for domain in answered:
                self.node.policy.unavailable.discard(domain)
                log.warning("domain %s is available again: it answered a probe", domain)
        return answered

    async def _answers(self, inbox: str) -> bool:
        parts = urlsplit(inbox)
        url = f"{parts.scheme}://{parts.netloc}/.well-known/nodeinfo"
        settings = self.node.settings
        try:
            check_url(
                url,
                allow_private=settings.allow_private_addresses,
                allow_http=settings.scheme == "http",
            )
            async with self.node.client().get(
                url,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=settings.fetch_timeout),
            ) as resp:
                return resp.status < 500
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.debug("probe of %s failed: %s", url, exc)
            return False
