"""What the inbox worker and the delivery worker share: leases held, renewed, handed back; stop.

Both queues (``inbox_items``, ``deliveries``) have the same lifecycle, written once here:

* **lease**: ``models.queue`` takes due rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (one
  writer at a time on SQLite), sets ``locked_until`` and charges the attempt;
* **handle**: the worker does its work with no transaction open across the network;
* **finish**: the outcome is written only while the lease is still held (done, retry at a time
  the ``RetryPolicy`` gives, failed, dead), and the row is forgotten here (``Leases.drop``);
* **renew**: a worker whose items may take longer than the lease renews what it holds
  (``Leases.renewing``);
* **release**: on a graceful stop (SIGTERM) whatever is still held is handed back, due at once
  and uncharged, so a restart takes it without waiting for the lease to run out. A worker that is
  killed releases nothing: its leases expire as after a crash (at-least-once).

``QueueRunner`` is the part of a worker's loop both have: ``stop`` (lease nothing more, finish
what is in hand), the idle wait for a wake-up or the poll, and the release when ``run`` ends
after a stop. What differs stays with each worker: the inbox leases fairly per sender and runs
one lane per sender; the delivery worker pipelines leases, sends and batched records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from cityfed.models import queue
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.queue")


class Leases:
    """The rows of one table leased by this worker and not finished: id -> lease end."""

    def __init__(self, node: Node, table: type[Any], what: str) -> None:
        self.node = node
        self.table = table
        self.what = what  # for the log: "inbox items", "deliveries"
        self._held: dict[int, datetime] = {}

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, row_id: object) -> bool:
        return row_id in self._held

    def hold(self, row_id: int, until: datetime) -> None:
        self._held[row_id] = until

    def drop(self, row_id: int) -> None:
        """The row is finished (or given up to its lease): not renewed, not handed back."""
        self._held.pop(row_id, None)

    def drop_all(self, row_ids: Iterable[int]) -> None:
        for row_id in row_ids:
            self._held.pop(row_id, None)

    async def renew(self, lease_for: timedelta) -> None:
        """Extend the lease of everything held (still under our lease) to now + ``lease_for``."""
        ids = list(self._held)
        if not ids:
            return
        now = utcnow()
        until = now + lease_for
        async with self.node.db.transaction() as session:
            await queue.renew(session, self.table, ids, now, until)
        for row_id in ids:  # what we hold now ends then (e.g. to hand it back)
            if row_id in self._held:
                self._held[row_id] = until

    @contextlib.asynccontextmanager
    async def renewing(self, lease_for: timedelta, name: str) -> AsyncIterator[None]:
        """Renew every third of ``lease_for`` while the block runs."""
        task = asyncio.create_task(self._renew_loop(lease_for), name=name)
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _renew_loop(self, lease_for: timedelta) -> None:
        interval = max(lease_for.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.renew(lease_for)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("renewing the leases of %d %s failed", len(self._held), self.what)

    async def release(self) -> int:
        """Hand back everything held: due at once, the attempt not charged. Returns how many."""
        held, self._held = self._held, {}
        if not held:
            return 0
        by_lease: dict[datetime, list[int]] = {}
        for row_id, until in held.items():
            by_lease.setdefault(until, []).append(row_id)
        try:
            async with self.node.db.transaction() as session:
                released = [
                    await queue.release(session, self.table, ids, lease)
                    for lease, ids in by_lease.items()
                ]
        except Exception:
            log.exception(
                "could not hand back %d leased %s; due when their lease ends", len(held), self.what
            )
            return 0
        log.info("handed back %d leased %s unprocessed", sum(released), self.what)
        return sum(released)


class QueueRunner:
    """The loop shape both workers share: stop, idle, release after a stop."""

    def __init__(self, node: Node, wakeup: asyncio.Event, leases: Leases) -> None:
        self.node = node
        self.wakeup = wakeup
        self.leases = leases
        self.stopping = False

    def stop(self) -> None:
        """Lease nothing more and start nothing new; ``run`` returns once what is in hand ends."""
        self.stopping = True
        self.wakeup.set()

    async def release(self) -> int:
        """Hand back what is leased and not finished (see ``Leases.release``)."""
        return await self.leases.release()

    async def released_after_stop(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work``; when it ends after ``stop`` (finished or cancelled at the end of the
        grace period) hand back what is still held. Killed without a stop: nothing is handed
        back, the leases expire as after a crash."""
        try:
            await work()
        finally:
            if self.stopping:
                await self.release()

    async def idle(self, poll: float, *also: asyncio.Event) -> bool:
        """Wait for a wake-up, one of ``also`` or ``poll`` seconds; True unless only one of
        ``also`` was set (the poll or a wake-up: look for new work)."""
        waits = [asyncio.ensure_future(e.wait()) for e in (self.wakeup, *also)]
        try:
            done, _ = await asyncio.wait(waits, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return not done or self.wakeup.is_set()
