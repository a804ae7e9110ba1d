"""The delivery worker: a pipeline that leases, sends and records deliveries (§3 Outbound, §10.3-4).

Three jobs, each in its own module, run by one pipeline (``_Pipeline``) per stretch of work:

1. Lease (``delivery_lease``): in one short transaction, lease due rows, cancel rows for blocked
   domains, hand back rows beyond a domain's share and read the activities' payloads.
2. Send (``delivery_send``): every leased row becomes a task at once; at most
   ``delivery_concurrency`` requests are in flight and at most ``delivery_per_host`` per domain.
   The next lease is taken while the current rows are still being sent, so requests stay in
   flight continuously instead of in rounds that wait for their slowest member.
3. Record (``delivery_record``): finished rows collect and are written in batches, with the
   circuit breakers' state and a summary line per activity.

The pipeline's bookkeeping (leases and flushes) runs in one task, one transaction at a time; no
transaction is open during a request. A lease only ends by being recorded; a worker that dies
lets it expire and the rows are sent again (at-least-once; receivers dedupe by activity id).
Outcomes are written only while their lease is still held, so a row is never sent twice
while nothing fails. The lease covers the longest a row can wait: the pipeline holds at most two
leases' worth of rows, and the per-domain share caps how many request "waves" one slow host can
add.

On ``stop`` (SIGTERM) the worker leases nothing more and finishes the rows in hand; when the
grace period runs out and it is cancelled, it records what finished and hands the rest back
(``queue.release``: due at once, uncharged), so a restart sends them without waiting for the lease.
The leases held, ``stop`` and the hand-back are the shared ``queue_runner``'s; retries are
scheduled by ``retry.RetryPolicy`` with ``delivery_max_attempts``.

Circuit breaker (federation/circuit.py): a domain whose circuit is open is not leased, so its rows
are not charged attempts, and when the circuit trips while its rows are being sent the rest go
back unsent. A domain failing for days is marked unavailable and its rows are held the same way
until it answers again (federation/availability.py: the worker probes it now and then).

Time comes from ``clock`` (``utcnow`` unless a test or the soak moves it), so days of an outage
can be played in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cityfed.federation.availability import Prober
from cityfed.federation.circuit import Breaker, HostWindow, circuit_open_seconds
from cityfed.federation.delivery_lease import Job, Lease, Leaser, Payload
from cityfed.federation.delivery_record import Recorder
from cityfed.federation.delivery_send import Sender
from cityfed.federation.queue_runner import Leases, QueueRunner
from cityfed.keys.store import SigningKey
from cityfed.models.tables import Delivery
from cityfed.models.types import utcnow
from cityfed.node import MissingKeyError, Node

log = logging.getLogger("cityfed.delivery")

IDLE_POLL_SECONDS = 1.0  # other processes enqueue too; their kicks do not reach us
ERROR_PAUSE_SECONDS = 5.0
HOST_SHARE_WAVES = 2  # a domain has at most this many rounds of delivery_per_host rows held
LEASE_WAVES = 4  # a lease takes this many rounds of delivery_concurrency rows
FLUSH_WAVES = 2  # outcomes are written once this many rounds of delivery_concurrency finished
FLUSH_SECONDS = 0.5  # ...or once the oldest has waited this long


@dataclass(frozen=True, slots=True)
class _Stretch:
    sent: int  # rows leased and handed to the sender (held back ones included)
    more: bool  # work was left waiting (a full lease, rows handed back)


class DeliveryWorker(QueueRunner):
    """Sends the node's queued deliveries; ``run`` forever, or ``run_once`` from tests and tools."""

    def __init__(
        self,
        node: Node,
        *,
        rng: random.Random | None = None,
        idle_poll: float = IDLE_POLL_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(node, node.delivery_wakeup, Leases(node, Delivery, "deliveries"))
        self.clock = clock
        self.idle_poll = idle_poll
        self.settings = node.settings
        self.per_host = max(self.settings.delivery_per_host, 1)
        self.concurrency = max(self.settings.delivery_concurrency, 1)
        self.leaser = Leaser(node, share=HOST_SHARE_WAVES * self.per_host)
        self.sender = Sender(node, rng or random.Random(), clock)
        self.prober = Prober(node, clock)

    @property
    def batch_size(self) -> int:
        # Several waves of ``delivery_concurrency`` per lease: a lease transaction costs about
        # as much for 200 rows as for 50, and a fan-out pays it once per lease.
        return self.concurrency * LEASE_WAVES

    def lease_duration(self, held: int) -> timedelta:
        """Long enough for a row to wait behind ``held`` others and be sent and recorded.

        Each request ends within ``fetch_timeout``; rows go out in waves: ``held/concurrency`` of
        them globally, plus ``HOST_SHARE_WAVES`` queued behind one domain's slots.
        """
        waves = math.ceil(held / self.concurrency) + HOST_SHARE_WAVES
        return timedelta(seconds=waves * self.settings.fetch_timeout + FLUSH_SECONDS + 30)

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until cancelled, or until ``stop``; idle, wait for a kick or the next poll."""
        log.info("delivery worker started")
        await self.released_after_stop(self._loop)

    async def _loop(self) -> None:
        while not self.stopping:
            # Clear before leasing: a kick that arrives while the pipeline runs stays set.
            self.wakeup.clear()
            try:
                await self.prober.maybe_probe()
                stretch = await _Pipeline(self, self.batch_size, refill=True).run()
            except Exception:
                log.exception("delivery pipeline failed; leased rows retry when their lease ends")
                await asyncio.sleep(ERROR_PAUSE_SECONDS)
                continue
            if stretch.more or self.stopping:
                continue
            await self.idle(self.idle_poll)

    async def run_once(self, limit: int | None = None) -> int:
        """Lease, send and record one batch; returns how many deliveries were attempted."""
        stretch = await _Pipeline(self, limit or self.batch_size, refill=False).run()
        return stretch.sent


class _Pipeline:
    """One stretch of work: leases until the queue has nothing due, then drains and records.

    ``refill``: lease again whenever at most one lease's worth of rows is still held (``run``);
    otherwise lease once (``run_once``).
    """

    def __init__(self, worker: DeliveryWorker, limit: int, *, refill: bool) -> None:
        self.worker = worker
        self.node = worker.node
        self.limit = limit
        self.refill = refill
        # The most rows held at once: a lease is taken while up to ``limit`` are held.
        self.lease_for = worker.lease_duration(2 * limit if refill else limit)
        self.flush_at = worker.concurrency * FLUSH_WAVES
        self.slots = asyncio.Semaphore(worker.concurrency)
        self.recorder = Recorder(worker.node, worker.clock)
        self.hosts: dict[str, HostWindow] = {}
        self.held: Counter[str] = Counter()  # rows leased and not finished, per domain
        self.held_total = 0
        self.changed = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self._keys: dict[int | str, SigningKey | None] = {}
        self.leasing = True  # another lease may be taken
        self.leases = worker.leases  # leased rows whose outcome is not written yet
        self.mine: set[int] = set()  # those this pipeline leased
        self.finished: list[int] = []  # of those, the ones handed to the recorder

    async def run(self) -> _Stretch:
        sent, more = 0, True
        try:
            while True:
                if self.worker.stopping:
                    self.leasing = False
                if self.leasing and self.held_total <= self.limit:
                    lease = await self.worker.leaser.lease(
                        self.worker.clock(), self.limit, self.lease_for, self.held
                    )
                    # Nothing leasable (say, only rows handed back, due a little later): stop
                    # leasing; ``run`` decides whether to come back at once.
                    more = lease.more and bool(lease.jobs)
                    self.leasing = self.refill and more
                    await self._start(lease)
                    sent += len(lease.jobs)
                    continue
                if self.recorder and (
                    len(self.recorder) >= self.flush_at
                    or not self.held_total
                    or self.recorder.age() >= FLUSH_SECONDS
                ):
                    await self._flush()
                    self._forget_idle_hosts()
                    continue
                if not self.held_total:
                    return _Stretch(sent, more)
                self.changed.clear()
                timeout = max(FLUSH_SECONDS - self.recorder.age(), 0.01) if self.recorder else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), timeout)
        except asyncio.CancelledError:
            if self.worker.stopping:
                # A shutdown's grace is over: stop sending, write what finished and hand back
                # the rest so that it is due at once.
                await self._stop_sending()
                await self._hand_back()
            raise
        finally:
            # Failed (or killed): stop sending; what was leased comes back after the lease.
            await self._stop_sending()
            self.leases.drop_all(self.mine)

    async def _stop_sending(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _flush(self) -> None:
        # The recorder takes its results before its first await, and so do we.
        finished, self.finished = self.finished, []
        await self.recorder.flush()
        self.leases.drop_all(finished)
        self.mine.difference_update(finished)

    async def _hand_back(self) -> None:
        try:
            await self._flush()
        except Exception:
            log.exception("could not record the last outcomes; they are sent again")
        await self.worker.release()
        self.mine.clear()

    async def _start(self, lease: Lease) -> None:
        """Create one task per leased row (the semaphores pace them)."""
        for activity_id, loaded in lease.payloads.items():
            self.recorder.names[activity_id] = loaded.ap_id
        self.recorder.gone.update(lease.gone)
        for job in lease.jobs:
            if not self.held[job.domain]:
                # A fresh view of a domain none of whose rows are in flight: its failures as
                # recorded (an earlier trip of ours has been written and the circuit expired).
                known = self.hosts.get(job.domain)
                failures = lease.failures.get(job.domain, 0)
                if known is None:
                    self.hosts[job.domain] = HostWindow.leased(
                        asyncio.Semaphore(self.worker.per_host), failures
                    )
                else:
                    known.breaker = Breaker.at_lease(failures)
            self.held[job.domain] += 1
            self.held_total += 1
            self.leases.hold(job.id, job.lease)
            self.mine.add(job.id)
        for job in lease.jobs:
            payload = lease.payloads.get(job.activity_id)
            key = await self._key(job, payload)
            task = asyncio.create_task(self._deliver(job, payload, key))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _deliver(self, job: Job, payload: Payload | None, key: SigningKey | None) -> None:
        host = self.hosts[job.domain]
        try:
            result = await self.worker.sender.deliver(job, payload, key, host, self.slots)
            self.recorder.add(result, host)
            self.finished.append(job.id)
        except Exception:
            log.exception(
                "delivery %d to %s failed; it retries when its lease ends", job.id, job.inbox
            )
        finally:
            self.held[job.domain] -= 1
            self.held_total -= 1
            if not self.held[job.domain]:
                del self.held[job.domain]
            # Wake the bookkeeping only when it has something to do.
            if (
                len(self.recorder) >= self.flush_at
                or not self.held_total
                or (self.leasing and self.held_total <= self.limit)
            ):
                self.changed.set()

    def _forget_idle_hosts(self) -> None:
        """Drop the views of domains with nothing in flight and nothing left to record."""
        for domain in [d for d, host in self.hosts.items() if not host.dirty]:
            if domain not in self.held:
                del self.hosts[domain]

    async def _key(self, job: Job, payload: Payload | None) -> SigningKey | None:
        """The key to sign with: the activity's explicit one, else the sender's (cached)."""
        explicit = payload.key_id if payload is not None else None
        cache_key: int | str = explicit or job.sender_id
        if cache_key in self._keys:
            return self._keys[cache_key]
        key: SigningKey | None = None
        try:
            if explicit:
                key = await self.node.signing_key_by_id(explicit)
            else:
                key = await self.node.signing_key(job.sender_id)
        except MissingKeyError as exc:
            log.error("cannot sign for sender %d: %s", job.sender_id, exc)
        self._keys[cache_key] = key
        return key


__all__ = ["DeliveryWorker", "circuit_open_seconds"]
