"""Group commit for the inbox: one writer task persists whatever requests are waiting.

Each verified activity is handed to the writer, which inserts up to ``MAX_BATCH`` of them in one
transaction and then releases every waiting request, which only then answers 202. One commit per
batch instead of one per request is what lets a SQLite node persist thousands of activities a
second (§6), and the 202 still means "durably stored". Duplicate ids (replays, retries by the
sender) are swallowed by the unique index: idempotency without a lookup.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.dialects import postgresql, sqlite

from cityfed.models.db import Database
from cityfed.models.tables import InboxItem

log = logging.getLogger("cityfed.inbox")

MAX_BATCH = 100


@dataclass(frozen=True, slots=True)
class PendingItem:
    activity_ap_id: str
    actor_ap_id: str
    signer_key_id: str | None
    recipient: str | None
    body: bytes
    verified_by: str = "http-signature"


class InboxWriter:
    def __init__(self, db: Database, on_commit: asyncio.Event | None = None) -> None:
        self._db = db
        self._on_commit = on_commit
        self._queue: asyncio.Queue[tuple[PendingItem, asyncio.Future[bool]]] = asyncio.Queue()

    async def submit(self, item: PendingItem) -> bool:
        """Wait until ``item`` is durably stored; True if it is new, False for a duplicate id."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                inserted = await self._write([item for item, _ in batch])
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as exc:
                log.exception("inbox batch of %d failed to commit", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for item, future in batch:
                is_new = item.activity_ap_id in inserted
                inserted.discard(item.activity_ap_id)  # a second copy in one batch is a replay
                if not future.done():
                    future.set_result(is_new)
            if self._on_commit is not None:
                self._on_commit.set()

    async def _write(self, items: list[PendingItem]) -> set[str]:
        rows = [
            {
                "activity_ap_id": item.activity_ap_id,
                "actor_ap_id": item.actor_ap_id,
                "signer_key_id": item.signer_key_id,
                "recipient": item.recipient,
                "body": item.body,
                "verified_by": item.verified_by,
            }
            for item in items
        ]
        insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        statement = (
            insert(InboxItem)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["activity_ap_id"])
            .returning(InboxItem.activity_ap_id)
        )
        async with self._db.transaction() as session:
            result = await session.execute(statement)
            return set(result.scalars())
