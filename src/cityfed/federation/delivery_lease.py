"""Leasing deliveries for the worker: one short transaction per lease (§3 Outbound, §10.3).

A lease takes due rows (skipping domains whose circuit is open), cancels rows for blocked
domains, hands back rows beyond a domain's share (uncharged, slightly later) and reads what the
sender needs of each activity: its body (cached, with its Digest header) and an explicit signing
key. Rows are read as plain values: no ORM object crosses an HTTP call.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.activitypub.digest import digest_header
from cityfed.models import availability as availability_queries
from cityfed.models import deliveries as delivery_queries
from cityfed.models.queue import lease_columns
from cityfed.models.tables import Delivery
from cityfed.node import Node

log = logging.getLogger("cityfed.delivery")

HANDBACK_DELAY = timedelta(seconds=2)  # lets other domains' due rows into the next lease
BODY_CACHE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Job:
    """What the worker needs of one leased row."""

    id: int
    activity_id: int
    sender_id: int
    inbox: str
    domain: str
    state: str
    attempts: int
    next_attempt_at: datetime
    lease: datetime
    last_status: int | None
    last_error: str | None

    @classmethod
    def of(cls, row: Any) -> Job:
        assert row.locked_until is not None
        return cls(
            row.id,
            row.activity_id,
            row.sender_id,
            row.inbox,
            row.domain,
            row.state,
            row.attempts,
            row.next_attempt_at,
            row.locked_until,
            row.last_status,
            row.last_error,
        )


@dataclass(frozen=True, slots=True)
class Payload:
    """One activity as sent to every inbox: the stored bytes and their Digest, computed once."""

    ap_id: str
    body: bytes
    digest: str
    key_id: str | None = None  # an explicit signing key (a key rotation's old key), else None


@dataclass
class Lease:
    jobs: list[Job]
    payloads: dict[int, Payload]  # by activity id; missing: the activity is gone
    failures: dict[str, int]  # each leased domain's consecutive failures, from its peers row
    more: bool  # the lease was full or rows were handed back: work is waiting
    gone: dict[str, datetime] = field(default_factory=dict)  # leased inboxes with a 410 on record


class _PayloadCache:
    """Payloads by (id, ap_id), least recently used evicted first, bounded in bytes.

    A fan-out sends one body to every follower host; reading (and hashing) it once per lease
    would be waste. The ap_id is part of the key because SQLite may reuse a deleted row's id.
    """

    def __init__(self, max_bytes: int = BODY_CACHE_BYTES) -> None:
        self._max = max_bytes
        self._size = 0
        self._items: OrderedDict[tuple[int, str], Payload] = OrderedDict()

    def get(self, key: tuple[int, str]) -> Payload | None:
        payload = self._items.get(key)
        if payload is not None:
            self._items.move_to_end(key)
        return payload

    def put(self, key: tuple[int, str], payload: Payload) -> None:
        if key in self._items:
            return
        self._items[key] = payload
        self._size += len(payload.body)
        while self._size > self._max and len(self._items) > 1:
            _, evicted = self._items.popitem(last=False)
            self._size -= len(evicted.body)


class Leaser:
    """Leases batches of deliveries; keeps the payload cache across them."""

    def __init__(self, node: Node, *, share: int) -> None:
        self.node = node
        self.share = share  # the most rows of one domain the worker holds at once
        self._payloads = _PayloadCache()

    async def lease(
        self, now: datetime, limit: int, lease_for: timedelta, held: Mapping[str, int]
    ) -> Lease:
        """Lease up to ``limit`` rows; ``held`` counts the rows per domain already being sent."""
        async with self.node.db.transaction() as session:
            # Open circuits wait minutes; unavailable domains wait until they answer again
            # (federation/availability.py). Neither is leased, so neither is charged attempts.
            rows = await lease_columns(
                session,
                Delivery,
                now,
                limit=limit,
                lease_for=lease_for,
                extra=[delivery_queries.not_waiting(now)],
            )
            if not rows:
                return Lease([], {}, {}, more=False)
            peers = await delivery_queries.peer_states(session, {row.domain for row in rows})
            blocked = [row for row in rows if peers.get(row.domain, (False, 0))[0]]
            kept, excess = self._share(
                [row for row in rows if not peers.get(row.domain, (False, 0))[0]], held
            )
            await _cancel_blocked(session, blocked, now)
            await _hand_back(session, excess, now)
            payloads = await self._load_payloads(session, {row.activity_id for row in kept})
            gone = await availability_queries.gone_since(session, {row.inbox for row in kept})
        return Lease(
            [Job.of(row) for row in kept],
            payloads,
            {domain: failures for domain, (_, failures) in peers.items()},
            more=len(rows) >= limit or bool(excess),
            gone=gone,
        )

    def _share(self, rows: Sequence[Any], held: Mapping[str, int]) -> tuple[list[Any], list[Any]]:
        """Keep at most ``share`` rows per domain, counting those held already (oldest first).

        This caps how many request "waves" one slow host can add, which the lease covers.
        """
        seen: Counter[str] = Counter(held)
        kept: list[Any] = []
        excess: list[Any] = []
        for row in rows:
            seen[row.domain] += 1
            (kept if seen[row.domain] <= self.share else excess).append(row)
        return kept, excess

    async def _load_payloads(
        self, session: AsyncSession, activity_ids: set[int]
    ) -> dict[int, Payload]:
        """The payloads to send, from the cache where possible (one small query to key it)."""
        keys = await delivery_queries.activity_keys(session, activity_ids)
        payloads: dict[int, Payload] = {}
        for activity_id, (ap_id, key_id) in keys.items():
            cached = self._payloads.get((activity_id, ap_id))
            if cached is not None and cached.key_id == key_id:
                payloads[activity_id] = cached
        missing = keys.keys() - payloads.keys()
        if missing:
            bodies = await delivery_queries.activity_bodies(session, missing)
            for activity_id, body in bodies.items():
                ap_id, key_id = keys[activity_id]
                payload = Payload(ap_id, body, digest_header(body), key_id)
                payloads[activity_id] = payload
                self._payloads.put((activity_id, ap_id), payload)
        return payloads


async def _cancel_blocked(session: AsyncSession, rows: list[Any], now: datetime) -> None:
    """Never deliver to a blocked domain (§7), even what was queued before the block."""
    if not rows:
        return
    await delivery_queries.cancel_leased(
        session, [row.id for row in rows], now, "domain is blocked"
    )
    for row in rows:
        log.info(
            "delivery %d to %s: cancelled, domain %s is blocked", row.id, row.inbox, row.domain
        )


async def _hand_back(session: AsyncSession, rows: list[Any], now: datetime) -> None:
    """Return rows beyond a domain's share unsent and uncharged, slightly later."""
    if not rows:
        return
    await delivery_queries.hand_back(session, [row.id for row in rows], now, HANDBACK_DELAY)
