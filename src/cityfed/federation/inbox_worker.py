"""The inbox worker: lease stored activities, dispatch them to handlers, record the outcome.

Each item is applied in one transaction together with its ``done`` mark and any activities the
handler enqueues, so a crash either applies all of it or none (the item is then leased again).
Network work a handler needs (fetching the sender, an object) happens before that transaction.
On ``stop`` (SIGTERM) the worker leases nothing more, finishes the items in hand and hands the
rest of its lease back (``release``), so a restart processes them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import orjson

from cityfed.activitypub.actor import authority
from cityfed.activitypub.vocab.common import as_list
from cityfed.federation import outbox
from cityfed.federation.dispatch import handler_for, registry
from cityfed.federation.forwarded import verify_forwarded
from cityfed.federation.handlers import kinds
from cityfed.federation.handlers.base import Context, Ignore, Refuse
from cityfed.federation.remote import ResolveError, get_actor
from cityfed.models import queue
from cityfed.models.tables import InboxItem
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.inbox")

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
IDLE_POLL = 1.0
WRITES = frozenset({kinds.COMMENT, kinds.ADOPTION, kinds.OFFER})


def writes_to_us(activity: dict[str, Any]) -> bool:
    """Does the activity add something of the sender's to ours: a comment, adoption, offer or
    report? In allowlist mode only trusted and allowed peers may (§7). A Follow is not listed:
    its handler answers it with a Reject. Publishing to followers, answers and retractions
    (Accept, Reject, Undo, Delete) pass: they only concern what we asked for or hold already.
    """
    types = set(as_list(activity.get("type")))
    if types & {"Offer", "Flag"}:
        return True
    return bool(types & {"Create", "Update"}) and kinds.kind_of(activity.get("object")) in WRITES


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


class InboxWorker:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.handlers = registry()
        self.stopping = False
        self._held: dict[int, InboxItem] = {}  # leased and not yet processed

    async def run_once(self, limit: int = 100) -> int:
        """Process the items due now; returns how many were leased."""
        async with self.node.db.transaction() as session:
            items = await queue.lease(session, InboxItem, utcnow(), limit=limit, lease_for=LEASE)
        if not items:
            return 0
        self._held.update((item.id, item) for item in items)
        # One sender's activities are applied in the order they arrived (a Create before the
        # Update that follows it); different senders are processed side by side.
        by_sender: dict[str, list[InboxItem]] = {}
        for item in items:
            by_sender.setdefault(item.actor_ap_id, []).append(item)
        semaphore = asyncio.Semaphore(max(1, self.node.settings.inbox_concurrency))

        async def in_order(queue: list[InboxItem]) -> None:
            async with semaphore:
                for item in sorted(queue, key=lambda i: i.id):
                    if self.stopping:
                        return  # not started: handed back by ``release``
                    await self.process(item)
                    self._held.pop(item.id, None)

        await asyncio.gather(*(in_order(queue) for queue in by_sender.values()))
        return len(items)

    async def run(self) -> None:
        """Process until cancelled, or until ``stop``: then what is still leased is handed back."""
        wakeup = self.node.inbox_wakeup
        try:
            while not self.stopping:
                try:
                    if await self.run_once():
                        continue
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("inbox worker cycle failed")
                if self.stopping:
                    break
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), IDLE_POLL)
        finally:
            if self.stopping:  # else killed: the lease expires as after a crash
                await self.release()

    def stop(self) -> None:
        """Lease nothing more and start no other item; ``run`` returns once those in hand end."""
        self.stopping = True
        self.node.inbox_wakeup.set()

    async def release(self) -> None:
        """Hand back the leased items not processed: due at once, the attempt not charged."""
        held, self._held = self._held, {}
        by_lease: dict[Any, list[int]] = {}
        for item in held.values():
            by_lease.setdefault(item.locked_until, []).append(item.id)
        try:
            async with self.node.db.transaction() as session:
                released = [
                    await queue.release(session, InboxItem, ids, lease)
                    for lease, ids in by_lease.items()
                ]
        except Exception:
            log.exception(
                "could not hand back %d leased item(s); due when their lease ends", len(held)
            )
            return
        if held:
            log.info("handed back %d leased item(s) unprocessed", sum(released))

    async def process(self, item: InboxItem) -> None:
        node = self.node
        activity = orjson.loads(item.body)
        kind = activity.get("type")
        handler = handler_for(kind, self.handlers)
        try:
            if handler is None:
                raise Ignore(f"no handler for {kind!r}")
            domain = authority(item.actor_ap_id)
            await node.policy.refresh(node.db)
            if node.policy.is_blocked(domain):
                # Received before the block: dropped without asking that domain anything.
                raise Ignore(f"{domain} is blocked")
            sender = await get_actor(node, item.actor_ap_id)
            verified_by = item.verified_by
            if verified_by == "forwarded":
                activity, verified_by = await verify_forwarded(node, activity)
            if handler.prepare is not None:
                await handler.prepare(node, activity)
            if not node.policy.may_write(domain) and writes_to_us(activity):
                raise Ignore(f"{domain} may not write here (federation mode allowlist)")
            async with node.db.transaction() as session:
                ctx = Context(
                    node=node,
                    session=session,
                    sender=sender,
                    recipient=item.recipient,
                    activity=activity,
                    raw=item.body,
                )
                await handler.apply(ctx)
                await queue.finish(
                    session, InboxItem, item.id, "done", utcnow(), verified_by=verified_by
                )
            outbox.kick(node)
            log.info("applied %s %s", kind, item.activity_ap_id)
        except Ignore as exc:
            await self._end(item, "done", f"ignored: {exc}")
            log.info("ignored %s %s: %s", kind, item.activity_ap_id, exc)
        except Refuse as exc:
            await self._end(item, "failed", f"refused: {exc}")
            log.warning("refused %s %s: %s", kind, item.activity_ap_id, exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, ResolveError):
                reason = f"cannot resolve sender: {exc}"
            if item.attempts >= MAX_ATTEMPTS:
                await self._end(item, "failed", reason)
                log.error(
                    "gave up on %s %s after %d attempts: %s",
                    kind,
                    item.activity_ap_id,
                    item.attempts,
                    reason,
                )
            else:
                at = utcnow() + _retry_delay(item.attempts)
                async with node.db.transaction() as session:
                    await queue.reschedule(session, InboxItem, item.id, at, error=reason)
                log.warning(
                    "will retry %s %s at %s: %s",
                    kind,
                    item.activity_ap_id,
                    at.isoformat(),
                    reason,
                    exc_info=not isinstance(exc, ResolveError),
                )

    async def _end(self, item: InboxItem, state: str, note: str) -> None:
        async with self.node.db.transaction() as session:
            await queue.finish(session, InboxItem, item.id, state, utcnow(), error=note)
