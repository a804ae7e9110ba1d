"""Housekeeping: what is kept, and for how long (issue 14 item 8).

Every ``purge_interval`` the housekeeper, beside the inbox and delivery workers:

* empties the bodies of inbox items processed more than ``inbox_body_days`` ago (the row, with
  the activity id, stays: a replay of that id is still recognised as a duplicate), except the
  bodies of held comments, whose approval forwards the original bytes;
* deletes processed inbox items after ``inbox_dedup_days``, past any sender's retry window;
* deletes finished deliveries (done, failed, dead, cancelled) after ``delivery_retention_days``;
* deletes uploads attached to nothing after ``UPLOAD_GRACE`` (a form abandoned after its upload:
  the file would otherwise count against the city's quota forever), with their files;
* and, every ``TRIM_SECONDS``, hands freed memory back to the system (``heap.trim``): after a
  burst of big bodies RSS comes back down within that time.

Deletes go in batches of ``BATCH`` rows, one short transaction each, so the inbox writer and the
workers never wait long for the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from cityfed import heap
from cityfed.media.storage import forget_with_settings
from cityfed.models import media as media_queries
from cityfed.models import queue as queue_queries
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.housekeeping")

BATCH = 1000
ERROR_PAUSE_SECONDS = 60.0
TRIM_SECONDS = 30.0
UPLOAD_GRACE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Purged:
    inbox_bodies: int
    inbox_items: int
    deliveries: int
    uploads: int = 0


class Housekeeper:
    def __init__(self, node: Node, clock: Callable[[], datetime] = utcnow) -> None:
        self.node = node
        self.clock = clock

    async def run(self) -> None:
        interval = self.node.settings.purge_interval
        next_purge = 0.0
        loop = asyncio.get_running_loop()
        while True:
            if loop.time() >= next_purge:
                try:
                    await self.purge()
                    next_purge = loop.time() + interval
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("purge failed; trying again later")
                    next_purge = loop.time() + ERROR_PAUSE_SECONDS
            heap.trim()
            await asyncio.sleep(min(TRIM_SECONDS, max(next_purge - loop.time(), 0.0)))

    async def purge(self) -> Purged:
        settings = self.node.settings
        now = self.clock()
        bodies = await self._batches(
            queue_queries.empty_inbox_bodies, now - timedelta(days=settings.inbox_body_days)
        )
        items = await self._batches(
            queue_queries.delete_inbox_items, now - timedelta(days=settings.inbox_dedup_days)
        )
        deliveries = await self._batches(
            queue_queries.delete_deliveries,
            now - timedelta(days=settings.delivery_retention_days),
        )
        uploads = await self._sweep_uploads(now - UPLOAD_GRACE)
        purged = Purged(bodies, items, deliveries, uploads)
        if uploads:
            log.info("deleted %d uploads attached to nothing since %s", uploads, UPLOAD_GRACE)
        if bodies or items or deliveries:
            log.info(
                "purged %d processed inbox bodies, %d inbox items, %d finished deliveries",
                bodies,
                items,
                deliveries,
            )
        return purged

    async def _sweep_uploads(self, before: datetime) -> int:
        total = 0
        while True:
            async with self.node.db.transaction() as session:
                ids = await media_queries.unattached_media(session, created_before=before)
                keys = await media_queries.delete_media(session, ids)
            await forget_with_settings(self.node.settings, keys)  # after the commit
            total += len(ids)
            if len(ids) < 100:
                return total

    async def _batches(
        self,
        step: Callable[[AsyncSession, datetime, int], Awaitable[int]],
        before: datetime,
    ) -> int:
        total = 0
        while True:
            async with self.node.db.transaction() as session:
                done = await step(session, before, BATCH)
            total += done
            if done < BATCH:
                return total
            await asyncio.sleep(0)  # let the hot paths in between batches
