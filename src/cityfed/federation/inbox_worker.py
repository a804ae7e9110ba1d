"""The inbox worker: lease stored activities, dispatch them to handlers, record the outcome.

Each item is applied in one transaction together with its ``done`` mark and any activities the
handler enqueues, so a crash either applies all of it or none (the item is then leased again).
Network work a handler needs (fetching the sender, an object) happens before that transaction, and
only after every check that needs no network (policy, do we care, do we have it already).

Fair between senders (§6): items are leased round robin, a few per sender, and each sender's items
run in a lane of their own, in the order they arrived, one at a time; the worker leases again as
soon as there is room, without waiting for a slow lane, so one sender whose objects hang delays
only itself. Leases are renewed while an item is being worked on, so no second worker takes it.
A fetch that fails for a passing reason (5xx, timeout, refused connection) sends the item to retry
with the backoff of ``retry.classify_fetch`` (about three days of attempts, as for deliveries); a
final one (404, wrong document) gives it up, with the reason on the item and in the log. An error
of our own is retried on ``retry.INBOX_ERRORS`` (the same schedule, fewer attempts).
Leases, their renewal, ``stop`` and the hand-back are the shared ``queue_runner``'s.
On ``stop`` (SIGTERM) the worker leases nothing more, its lanes start no other item, the items in
hand finish, and the rest of its lease is handed back (``release``), so a restart processes them
at once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import orjson

from cityfed.activitypub.actor import authority
from cityfed.activitypub.vocab.common import as_list
from cityfed.federation import outbox
from cityfed.federation.dispatch import handler_for, registry
from cityfed.federation.fetch import FetchError
from cityfed.federation.forwarded import verify_forwarded
from cityfed.federation.handlers import kinds
from cityfed.federation.handlers.base import Context, Ignore, Refuse
from cityfed.federation.queue_runner import Leases, QueueRunner
from cityfed.federation.remote import ResolveError, get_actor
from cityfed.federation.retry import DEFAULT_POLICY, INBOX_ERRORS, classify_fetch
from cityfed.models import queue
from cityfed.models.tables import InboxItem
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.inbox")

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = INBOX_ERRORS.max_attempts  # for errors of our own; an origin that is down: more
IDLE_POLL = 1.0
BATCH = 100  # items leased and not yet finished, at most, per worker
PER_SENDER = 10  # items of one sender per lease
# When only a lane finished (nothing new arrived), lease again once this much room is free: a
# lease is a write transaction, not worth taking for every item that ends.
MIN_ROOM = BATCH // 4
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


def _lanes(items: list[InboxItem]) -> list[list[InboxItem]]:
    by_sender: dict[str, list[InboxItem]] = {}
    for item in items:
        by_sender.setdefault(item.actor_ap_id, []).append(item)
    return [sorted(lane, key=lambda i: i.id) for lane in by_sender.values()]


class InboxWorker(QueueRunner):
    def __init__(self, node: Node, *, lease_for: timedelta | None = None) -> None:
        super().__init__(node, node.inbox_wakeup, Leases(node, InboxItem, "inbox items"))
        self.handlers = registry()
        self.lease_for = lease_for or LEASE
        # Bounds the transactions that apply items, not the network waits before them.
        self._apply = asyncio.Semaphore(max(1, node.settings.inbox_concurrency))
        self._room = asyncio.Event()

    async def _lease(self, limit: int) -> list[InboxItem]:
        async with self.node.db.transaction() as session:
            items = await queue.lease_fair(
                session,
                InboxItem,
                utcnow(),
                limit=limit,
                lease_for=self.lease_for,
                key=InboxItem.actor_ap_id,
                per_key=PER_SENDER,
            )
        for item in items:
            assert item.locked_until is not None
            self.leases.hold(item.id, item.locked_until)
        return items

    async def _lane(self, items: list[InboxItem]) -> None:
        """One sender's items, one after the other in the order they arrived."""
        try:
            for item in items:
                if self.stopping:
                    return  # not started: ``release`` hands it back
                try:
                    await self.process(item)
                except asyncio.CancelledError:
                    raise  # unfinished and still held: ``release`` hands it back on a stop
                except BaseException:
                    self.leases.drop(item.id)
                    raise
                self.leases.drop(item.id)
        finally:
            if not self.stopping:
                self.leases.drop_all(item.id for item in items)
            self._room.set()

    def _renewing(self) -> Any:
        return self.leases.renewing(self.lease_for, "inbox-lease-renewal")

    async def run_once(self, limit: int = BATCH) -> int:
        """Lease the items due now (fairly), process them all; returns how many were leased."""
        items = await self._lease(limit)
        if not items:
            return 0
        async with self._renewing():
            await asyncio.gather(*(self._lane(lane) for lane in _lanes(items)))
        return len(items)

    async def run(self) -> None:
        """Process until cancelled, or until ``stop``: then what is still leased is handed back."""

        async def work() -> None:
            async with self._renewing():
                await self._loop()

        await self.released_after_stop(work)

    async def _loop(self) -> None:
        lanes: set[asyncio.Task[None]] = set()
        eager = True  # new items or the poll: lease whatever room there is
        try:
            while not self.stopping:
                leased: list[InboxItem] = []
                room = BATCH - len(self.leases)
                if room >= MIN_ROOM or (room > 0 and eager):
                    self.wakeup.clear()
                    self._room.clear()
                    try:
                        leased = await self._lease(room)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("inbox worker cycle failed")
                for lane in _lanes(leased):
                    task = asyncio.create_task(self._lane(lane), name="inbox-lane")
                    lanes.add(task)
                    task.add_done_callback(lanes.discard)
                if leased:
                    continue  # other senders may have items due: lease again at once
                # Until new items arrive, a lane finishes (room, or its sender free again), or
                # the poll; only a lane finishing leases just when there is enough room.
                eager = await self.idle(IDLE_POLL, self._room)
            # Stopping: the lanes start no other item and finish the ones they are applying.
            await asyncio.gather(*lanes, return_exceptions=True)
        finally:
            for task in lanes:
                task.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)

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
            # Everything that needs no network before anything that does (§6).
            if not node.policy.may_write(domain) and writes_to_us(activity):
                raise Ignore(f"{domain} may not write here (federation mode allowlist)")
            if handler.screen is not None:
                await handler.screen(node, sender, activity)
            verified_by = item.verified_by
            if verified_by == "forwarded":
                activity, verified_by = await verify_forwarded(node, activity)
            if handler.prepare is not None:
                await handler.prepare(node, activity)
            if not node.policy.may_write(domain) and writes_to_us(activity):
                raise Ignore(f"{domain} may not write here (federation mode allowlist)")
            async with self._apply, node.db.transaction() as session:
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
        except FetchError as exc:
            await self._fetch_failed(item, kind, exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, ResolveError):
                reason = f"cannot resolve sender: {exc}"
            outcome = INBOX_ERRORS.after_failure(reason, item.attempts, utcnow())
            if outcome.kind == "dead" or outcome.next_attempt_at is None:
                await self._end(item, "failed", reason)
                log.error(
                    "gave up on %s %s after %d attempts: %s",
                    kind,
                    item.activity_ap_id,
                    item.attempts,
                    reason,
                )
            else:
                at = outcome.next_attempt_at
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

    async def _fetch_failed(self, item: InboxItem, kind: object, exc: FetchError) -> None:
        """A document the item needs could not be had: retry a passing failure, else give up."""
        outcome = classify_fetch(
            exc.status,
            exc.error,
            exc.retry_after,
            item.attempts,
            utcnow(),
            policy=DEFAULT_POLICY,
        )
        reason = f"cannot fetch {exc.url}: {exc.reason}"
        if outcome.kind == "retry" and outcome.next_attempt_at is not None:
            async with self.node.db.transaction() as session:
                await queue.reschedule(
                    session, InboxItem, item.id, outcome.next_attempt_at, error=reason
                )
            log.warning(
                "will retry %s %s at %s: %s",
                kind,
                item.activity_ap_id,
                outcome.next_attempt_at.isoformat(),
                reason,
            )
            return
        why = "a final failure" if outcome.kind == "permanent" else f"{item.attempts} attempts"
        await self._end(item, "failed", f"gave up ({why}): {reason}")
        log.warning("gave up on %s %s (%s): %s", kind, item.activity_ap_id, why, reason)

    async def _end(self, item: InboxItem, state: str, note: str) -> None:
        async with self.node.db.transaction() as session:
            await queue.finish(session, InboxItem, item.id, state, utcnow(), error=note)
