"""The delivery worker: lease due deliveries, sign, POST, classify, record (§3 Outbound, §10.3-4).

One batch (``run_once``) is three steps, and no database transaction is open during the second:

1. Lease: in one short transaction, lease due rows (skipping domains whose circuit is open), cancel
   rows for blocked domains, hand back rows beyond a per-domain share (uncharged) and read the
   activity bodies not yet cached.
2. Send: POST every body as stored (never re-serialised; signed once per attempt) through the node's
   shared ClientSession, with at most ``delivery_concurrency`` requests in flight and at most
   ``delivery_per_host`` per domain. ``retry.classify`` judges each answer.
3. Record: in one transaction, write every row's outcome, drop the follows of personal inboxes
   that are gone (404/410), and update each domain's circuit breaker.

A lease only ends by being recorded; a worker that dies lets it expire and the rows are sent again
(at-least-once; receivers dedupe by activity id). The lease covers the longest a batch can take:
the per-domain share caps how many request "waves" one slow host can add.

Circuit breaker (federation/circuit.py): a domain whose circuit is open is not leased, so its rows
are not charged attempts, and when the circuit trips mid-batch its remaining rows go back unsent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import bindparam, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.activitypub.cavage import sign_request
from cityfed.federation.circuit import HostWindow, circuit_open_seconds, update_circuits
from cityfed.federation.netguard import check_url
from cityfed.federation.retry import Outcome, PermanentError, classify
from cityfed.keys.store import SigningKey
from cityfed.models.queue import lease
from cityfed.models.tables import Activity, Actor, Delivery, Follow, Peer
from cityfed.models.types import UTCDateTime, utcnow
from cityfed.node import MissingKeyError, Node

log = logging.getLogger("cityfed.delivery")

ACTIVITY_JSON = "application/activity+json"
IDLE_POLL_SECONDS = 1.0  # other processes enqueue too; their kicks do not reach us
ERROR_PAUSE_SECONDS = 5.0
HOST_SHARE_WAVES = 2  # a domain gets at most this many rounds of delivery_per_host per batch
LEASE_WAVES = 4  # a batch leases this many rounds of delivery_concurrency rows
HANDBACK_DELAY = timedelta(seconds=2)  # lets other domains' due rows into the next batch
BODY_CACHE_BYTES = 16 * 1024 * 1024
ERROR_SNIPPET = 200


class _BodyCache:
    """Activity bodies by (id, ap_id), least recently used evicted first, bounded in bytes.

    A fan-out sends one body to every follower host; reading it once per batch would be waste.
    The ap_id is part of the key because SQLite may hand a deleted row's id to a new row.
    """

    def __init__(self, max_bytes: int = BODY_CACHE_BYTES) -> None:
        self._max = max_bytes
        self._size = 0
        self._items: OrderedDict[tuple[int, str], bytes] = OrderedDict()

    def get(self, key: tuple[int, str]) -> bytes | None:
        body = self._items.get(key)
        if body is not None:
            self._items.move_to_end(key)
        return body

    def put(self, key: tuple[int, str], body: bytes) -> None:
        if key in self._items:
            return
        self._items[key] = body
        self._size += len(body)
        while self._size > self._max and len(self._items) > 1:
            _, evicted = self._items.popitem(last=False)
            self._size -= len(evicted)


@dataclass(frozen=True, slots=True)
class _Job:
    """What a batch needs of one leased row (plain values: no ORM object crosses the HTTP call)."""

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
    def of(cls, row: Delivery) -> _Job:
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
class _Result:
    """The new values of one row, as recorded by ``_record``."""

    job: _Job
    state: str
    attempts: int
    next_attempt_at: datetime
    finished_at: datetime | None
    status: int | None
    error: str | None
    gone: bool = False  # 404/410: the inbox no longer exists

    def params(self) -> dict[str, Any]:
        return {
            "_id": self.job.id,
            "_lease": self.job.lease,
            "_state": self.state,
            "_attempts": self.attempts,
            "_next": self.next_attempt_at,
            "_finished": self.finished_at,
            "_status": self.status,
            "_error": self.error,
        }


@dataclass(frozen=True, slots=True)
class _PeerInfo:
    blocked: bool
    consecutive_failures: int


_NO_PEER = _PeerInfo(blocked=False, consecutive_failures=0)


@dataclass
class _Batch:
    jobs: list[_Job]
    hosts: dict[str, HostWindow]
    more: bool  # rows were handed back or the lease was full: work is waiting
    bodies: dict[int, bytes] = field(default_factory=dict)
    signing_keys: dict[int, str] = field(default_factory=dict)  # activity id -> explicit key id


_UPDATE_DELIVERY = (
    update(Delivery.__table__)
    .where(
        Delivery.__table__.c.id == bindparam("_id"),
        # Only the holder of the lease records: if it expired and another worker took the row,
        # that worker's outcome is the current one.
        Delivery.__table__.c.locked_until == bindparam("_lease", type_=UTCDateTime()),
    )
    .values(
        state=bindparam("_state"),
        attempts=bindparam("_attempts"),
        next_attempt_at=bindparam("_next", type_=UTCDateTime()),
        locked_until=None,
        finished_at=bindparam("_finished", type_=UTCDateTime()),
        last_status=bindparam("_status"),
        last_error=bindparam("_error"),
    )
)


class DeliveryWorker:
    """Sends the node's queued deliveries; ``run`` forever, or ``run_once`` from tests and tools."""

    def __init__(
        self,
        node: Node,
        *,
        rng: random.Random | None = None,
        idle_poll: float = IDLE_POLL_SECONDS,
    ) -> None:
        self.node = node
        self.idle_poll = idle_poll
        self.settings = node.settings
        self._rng = rng or random.Random()
        self._bodies = _BodyCache()
        self._per_host = max(self.settings.delivery_per_host, 1)
        self._concurrency = max(self.settings.delivery_concurrency, 1)

    @property
    def batch_size(self) -> int:
        # Several waves of ``delivery_concurrency`` per lease: the lease and record transactions
        # cost about as much for 200 rows as for 50, and a fan-out pays them once per batch.
        return self._concurrency * LEASE_WAVES

    def lease_duration(self, limit: int) -> timedelta:
        """Long enough for the slowest batch of ``limit`` rows, so a live lease never expires.

        Each request ends within ``fetch_timeout``; a batch runs in waves: ``limit/concurrency``
        of them globally, plus ``HOST_SHARE_WAVES`` queued behind one domain's slots.
        """
        waves = math.ceil(limit / self._concurrency) + HOST_SHARE_WAVES
        return timedelta(seconds=waves * self.settings.fetch_timeout + 30)

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until cancelled; idle, wait for a kick or the next poll."""
        wakeup = self.node.delivery_wakeup
        log.info("delivery worker started")
        while True:
            # Clear before leasing: a kick that arrives while the batch runs stays set.
            wakeup.clear()
            try:
                batch = await self._run_batch(self.batch_size)
            except Exception:
                log.exception("delivery batch failed; leased rows retry when their lease ends")
                await asyncio.sleep(ERROR_PAUSE_SECONDS)
                continue
            if batch.more:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), self.idle_poll)

    async def run_once(self, limit: int | None = None) -> int:
        """Lease, send and record one batch; returns how many deliveries were attempted."""
        batch = await self._run_batch(limit or self.batch_size)
        return len(batch.jobs)

    async def _run_batch(self, limit: int) -> _Batch:
        batch = await self._lease(utcnow(), limit)
        if batch.jobs:
            await self._record(await self._send_all(batch), batch.hosts)
        return batch

    # -- 1. lease ---------------------------------------------------------------------------

    async def _lease(self, now: datetime, limit: int) -> _Batch:
        async with self.node.db.transaction() as session:
            circuit_open = select(Peer.domain).where(Peer.circuit_open_until > now)
            rows = await lease(
                session,
                Delivery,
                now,
                limit=limit,
                lease_for=self.lease_duration(limit),
                extra=[Delivery.domain.not_in(circuit_open)],
            )
            if not rows:
                return _Batch([], {}, more=False)
            more = len(rows) >= limit
            peers = await self._peers(session, {row.domain for row in rows})
            blocked = [row for row in rows if peers.get(row.domain, _NO_PEER).blocked]
            kept, excess = self._share(
                [row for row in rows if not peers.get(row.domain, _NO_PEER).blocked]
            )
            await self._cancel_blocked(session, blocked, now)
            await self._hand_back(session, excess, now)
            activity_ids = {row.activity_id for row in kept}
            bodies = await self._load_bodies(session, activity_ids)
            signing_keys = await self._explicit_keys(session, activity_ids)
            jobs = [_Job.of(row) for row in kept]
        hosts = {
            domain: HostWindow(
                asyncio.Semaphore(self._per_host), peers.get(domain, _NO_PEER).consecutive_failures
            )
            for domain in {job.domain for job in jobs}
        }
        return _Batch(
            jobs, hosts, more=more or bool(excess), bodies=bodies, signing_keys=signing_keys
        )

    @staticmethod
    async def _peers(session: AsyncSession, domains: set[str]) -> dict[str, _PeerInfo]:
        result = await session.execute(
            select(Peer.domain, Peer.policy, Peer.consecutive_failures).where(
                Peer.domain.in_(domains)
            )
        )
        return {
            domain: _PeerInfo(policy == "blocked", failures or 0)
            for domain, policy, failures in result
        }

    def _share(self, rows: Sequence[Delivery]) -> tuple[list[Delivery], list[Delivery]]:
        """Keep at most HOST_SHARE_WAVES * delivery_per_host rows per domain (oldest first)."""
        cap = HOST_SHARE_WAVES * self._per_host
        seen: Counter[str] = Counter()
        kept, excess = [], []
        for row in rows:
            seen[row.domain] += 1
            (kept if seen[row.domain] <= cap else excess).append(row)
        return kept, excess

    @staticmethod
    async def _cancel_blocked(session: AsyncSession, rows: list[Delivery], now: datetime) -> None:
        """Never deliver to a blocked domain (§7), even what was queued before the block."""
        if not rows:
            return
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_([row.id for row in rows]))
            .values(
                state="cancelled",
                locked_until=None,
                finished_at=now,
                attempts=Delivery.attempts - 1,
                last_error="domain is blocked",
            )
            .execution_options(synchronize_session=False)
        )
        for row in rows:
            log.info(
                "delivery %d to %s: cancelled, domain %s is blocked", row.id, row.inbox, row.domain
            )

    @staticmethod
    async def _hand_back(session: AsyncSession, rows: list[Delivery], now: datetime) -> None:
        """Return rows beyond a domain's share unsent and uncharged, slightly later."""
        if not rows:
            return
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_([row.id for row in rows]))
            .values(
                locked_until=None,
                attempts=Delivery.attempts - 1,
                next_attempt_at=now + HANDBACK_DELAY,
            )
            .execution_options(synchronize_session=False)
        )

    @staticmethod
    async def _explicit_keys(session: AsyncSession, activity_ids: set[int]) -> dict[int, str]:
        result = await session.execute(
            select(Activity.id, Activity.signing_key_id).where(
                Activity.id.in_(activity_ids), Activity.signing_key_id.is_not(None)
            )
        )
        return {activity_id: key_id for activity_id, key_id in result}

    async def _load_bodies(self, session: AsyncSession, activity_ids: set[int]) -> dict[int, bytes]:
        """The bodies to send, from the cache where possible (one small query to key it)."""
        result = await session.execute(
            select(Activity.id, Activity.ap_id).where(Activity.id.in_(activity_ids))
        )
        keys: dict[int, str] = {activity_id: ap_id for activity_id, ap_id in result}
        bodies: dict[int, bytes] = {}
        for activity_id, ap_id in keys.items():
            cached = self._bodies.get((activity_id, ap_id))
            if cached is not None:
                bodies[activity_id] = cached
        missing = keys.keys() - bodies.keys()
        if missing:
            result = await session.execute(
                select(Activity.id, Activity.body).where(Activity.id.in_(missing))
            )
            for activity_id, body in result:
                bodies[activity_id] = bytes(body)
                self._bodies.put((activity_id, keys[activity_id]), bodies[activity_id])
        return bodies

    # -- 2. send ----------------------------------------------------------------------------

    async def _send_all(self, batch: _Batch) -> list[_Result]:
        keys = await self._keys({job.sender_id for job in batch.jobs})
        explicit = await self._keys_by_id(set(batch.signing_keys.values()))
        slots = asyncio.Semaphore(self._concurrency)

        def key_for(job: _Job) -> SigningKey | None:
            key_id = batch.signing_keys.get(job.activity_id)
            return explicit.get(key_id) if key_id else keys.get(job.sender_id)

        return list(
            await asyncio.gather(
                *(self._deliver(job, batch, key_for(job), slots) for job in batch.jobs)
            )
        )

    async def _keys_by_id(self, key_ids: set[str]) -> dict[str, SigningKey]:
        keys: dict[str, SigningKey] = {}
        for key_id in key_ids:
            try:
                keys[key_id] = await self.node.signing_key_by_id(key_id)
            except MissingKeyError as exc:
                log.error("cannot sign with %s: %s", key_id, exc)
        return keys

    async def _keys(self, sender_ids: Iterable[int]) -> dict[int, SigningKey]:
        """Parse each sender's key once before the fan-out, not once per concurrent task."""
        keys: dict[int, SigningKey] = {}
        for sender_id in sender_ids:
            try:
                keys[sender_id] = await self.node.signing_key(sender_id)
            except MissingKeyError as exc:
                log.error("sender %d cannot sign: %s", sender_id, exc)
        return keys

    async def _deliver(
        self, job: _Job, batch: _Batch, key: SigningKey | None, slots: asyncio.Semaphore
    ) -> _Result:
        host = batch.hosts[job.domain]
        body = batch.bodies.get(job.activity_id)
        # The host slot first, then a global one: a task queued behind a slow host must not hold
        # a global slot that a task for another host could use.
        async with host.semaphore:
            # Tripped by a failure seen in this very batch: the rest of its rows wait, uncharged.
            # (Tripped already at lease time means the circuit just expired: let probes through.)
            if host.tripped and host.downs_since_up:
                return self._held_back(job)
            async with slots:
                status, retry_after, error, snippet = await self._post(job, body, key)
            now = utcnow()
            outcome = classify(
                status,
                error,
                retry_after,
                job.attempts,
                now,
                self._rng,
                max_attempts=self.settings.delivery_max_attempts,
            )
            # Observed before the host slot is released, so the next task sees a tripped circuit.
            host.observe(outcome.host, now)
        return self._result(job, outcome, status, snippet, now)

    async def _post(
        self, job: _Job, body: bytes | None, key: SigningKey | None
    ) -> tuple[int | None, str | None, BaseException | None, str]:
        """POST one body; (status, Retry-After, error, start of an error response's body)."""
        try:
            if body is None:
                raise PermanentError("the activity is gone")
            if key is None:
                raise PermanentError("the sender has no signing key")
            check_url(
                job.inbox,
                allow_private=self.settings.allow_private_addresses,
                allow_http=self.settings.scheme == "http",
            )
            try:
                headers = sign_request(
                    "POST",
                    job.inbox,
                    key.private_key,
                    key.key_id,
                    body=body,
                    headers={"Content-Type": ACTIVITY_JSON},
                )
            except (ValueError, TypeError) as exc:
                raise PermanentError(f"cannot sign for {job.inbox}: {exc}") from exc
            async with self.node.client().post(
                job.inbox,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.settings.fetch_timeout),
            ) as resp:
                # Only the start of the answer: enough for the log, and a peer cannot make us
                # read a huge error page.
                head = await resp.content.read(1024)
                snippet = "" if resp.status < 300 else head.decode("utf-8", "replace")
                return resp.status, resp.headers.get("Retry-After"), None, snippet
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return None, None, exc, ""

    def _held_back(self, job: _Job) -> _Result:
        log.info(
            "delivery %d to %s: held back unsent, circuit for %s is open",
            job.id,
            job.inbox,
            job.domain,
        )
        return _Result(
            job,
            job.state,
            job.attempts - 1,
            job.next_attempt_at,
            None,
            job.last_status,
            job.last_error,
        )

    def _result(
        self, job: _Job, outcome: Outcome, status: int | None, snippet: str, now: datetime
    ) -> _Result:
        reason = outcome.reason
        if snippet.strip():
            reason = f"{reason}: {' '.join(snippet.split())}"
        reason = reason[:500]
        where = f"delivery {job.id} (activity {job.activity_id}) to {job.inbox}"
        if outcome.kind == "done":
            log.info("%s: delivered, %s, attempt %d", where, outcome.reason, job.attempts)
            return _Result(job, "done", job.attempts, job.next_attempt_at, now, status, None)
        if outcome.kind == "retry":
            assert outcome.next_attempt_at is not None
            log.info(
                "%s: retry at %s (in %.0f s), attempt %d failed: %s",
                where,
                outcome.next_attempt_at.isoformat(timespec="seconds"),
                outcome.delay or 0,
                job.attempts,
                reason,
            )
            return _Result(
                job, "retry", job.attempts, outcome.next_attempt_at, None, status, reason
            )
        if outcome.kind == "dead":
            log.warning("%s: dead, %s", where, reason)
            return _Result(job, "dead", job.attempts, job.next_attempt_at, now, status, reason)
        log.warning("%s: failed permanently, %s", where, reason)
        return _Result(
            job,
            "failed",
            job.attempts,
            job.next_attempt_at,
            now,
            status,
            reason,
            gone=status in (404, 410),
        )

    # -- 3. record --------------------------------------------------------------------------

    async def _record(self, results: list[_Result], hosts: dict[str, HostWindow]) -> None:
        now = utcnow()
        async with self.node.db.transaction() as session:
            await session.execute(_UPDATE_DELIVERY, [result.params() for result in results])
            for inbox in sorted({result.job.inbox for result in results if result.gone}):
                await self._drop_gone_follows(session, inbox)
            await update_circuits(session, hosts, now)

    @staticmethod
    async def _drop_gone_follows(session: AsyncSession, inbox: str) -> None:
        """A personal inbox answering 404/410 means its actor is gone: forget its follows.

        A shared inbox that is gone says nothing certain about any one actor, so it is left alone.
        """
        shared = await session.scalar(select(exists().where(Actor.shared_inbox == inbox)))
        if shared:
            return
        actor_ids = list(
            await session.scalars(
                select(Actor.id).where(Actor.inbox == inbox, Actor.local.is_(False))
            )
        )
        if not actor_ids:
            return
        result = await session.execute(
            delete(Follow)
            .where(or_(Follow.follower_id.in_(actor_ids), Follow.followee_id.in_(actor_ids)))
            .execution_options(synchronize_session=False)
        )
        log.warning(
            "inbox %s is gone: removed %d follow(s) of its actor", inbox, result.rowcount or 0
        )


__all__ = ["DeliveryWorker", "circuit_open_seconds"]
