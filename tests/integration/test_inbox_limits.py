"""Bounded storage and memory at the inbox door (issue 14 item 8), between real nodes.

987 signed 1 MiB bodies from one sender were all accepted in 20 s. Now each sender domain has
a request rate, a byte rate and a quota of stored-but-unprocessed bytes; beyond them the inbox
answers 429 with Retry-After. Processed bodies and old deliveries are purged after a while,
keeping the activity id that deduplication needs.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import func, select, update

from cityfed.activitypub import cavage
from cityfed.federation import inbox
from cityfed.federation.housekeeping import Housekeeper
from cityfed.models.tables import Delivery, InboxItem
from cityfed.models.types import utcnow
from tests.rig import TestNode, inbox_count, local_actor_row, settle

_ids = itertools.count()


def like(sender: TestNode, padding: int = 0) -> dict[str, Any]:
    """A Like of nothing we have: stored, then ignored by the worker (cheap to process)."""
    return {
        "id": f"{sender.actor_id}#likes/{next(_ids)}",
        "type": "Like",
        "actor": sender.actor_id,
        "object": f"{sender.base}/projects/none",
        "content": "x" * padding,
    }


async def post(sender: TestNode, target: TestNode, activity: dict[str, Any]) -> tuple[int, Any]:
    """POST signed as ``sender``'s city; (status, Retry-After)."""
    raw = orjson.dumps(activity)
    actor = await local_actor_row(sender)
    key = await sender.node.signing_key(actor.id)
    url = target.url("/inbox")
    base = {"Content-Type": "application/activity+json"}
    signed = cavage.sign_request("POST", url, key.private_key, key.key_id, body=raw, headers=base)
    async with sender.http.post(url, data=raw, headers={**base, **signed}) as resp:
        await resp.read()
        return resp.status, resp.headers.get("Retry-After")


async def test_a_sender_over_its_request_rate_gets_429_and_others_do_not(nodes) -> None:
    a, c = await nodes("berlin"), await nodes("paris")
    b = await nodes("hamburg", inbox_sender_burst=3, inbox_sender_rate=0.01)
    assert [(await post(a, b, like(a)))[0] for _ in range(3)] == [202, 202, 202]
    status, retry_after = await post(a, b, like(a))
    assert status == 429 and retry_after is not None and int(retry_after) >= 1
    assert (await post(c, b, like(c)))[0] == 202  # another sender is not affected
    assert await inbox_count(b) == 4


async def test_big_bodies_are_bounded_by_a_byte_rate(nodes) -> None:
    a = await nodes("berlin")
    b = await nodes(
        "hamburg", inbox_sender_bytes_rate=64 * 1024, inbox_sender_burst_bytes=1024 * 1024
    )
    statuses = [(await post(a, b, like(a, padding=400_000)))[0] for _ in range(6)]
    # 1 MiB of burst holds two 400 kB bodies; then one per ~6 s.
    assert statuses == [202, 202, 429, 429, 429, 429]
    assert await inbox_count(b) == 2


async def test_stored_unprocessed_bytes_have_a_quota_per_sender(nodes) -> None:
    a, c = await nodes("berlin"), await nodes("paris")
    b = await nodes("hamburg", inbox_sender_backlog_bytes=20_000)
    b.app[inbox.SENDER_LIMITS].backlog_recheck = 0  # look at the database on every refusal
    statuses = [(await post(a, b, like(a, padding=4_000)))[0] for _ in range(6)]
    assert statuses == [202, 202, 202, 202, 429, 429]
    status, retry_after = await post(a, b, like(a, padding=4_000))
    assert status == 429 and retry_after == "60"
    assert (await post(c, b, like(c, padding=4_000)))[0] == 202
    await settle(b)  # the worker processes the backlog: room again
    assert (await post(a, b, like(a, padding=4_000)))[0] == 202


async def test_processed_bodies_then_ids_then_old_deliveries_are_purged(nodes) -> None:
    a = await nodes("berlin")
    b = await nodes("hamburg", inbox_body_days=2, inbox_dedup_days=30)
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b)
    activity = like(a, padding=10_000)
    assert (await post(a, b, activity))[0] == 202
    await settle(a, b)
    assert await inbox_count(b) == 2  # the Follow and the Like, both processed

    now = utcnow()
    housekeeper = Housekeeper(b.node, clock=lambda: now + timedelta(days=1))
    assert (await housekeeper.purge()).inbox_bodies == 0  # too young

    housekeeper.clock = lambda: now + timedelta(days=3)
    purged = await housekeeper.purge()
    assert purged.inbox_bodies == 2 and purged.inbox_items == 0
    async with b.node.db.session() as session:
        sizes = list(await session.scalars(select(func.length(InboxItem.body))))
    assert sizes == [0, 0]
    # The id is kept: a replay is still a duplicate, nothing new is stored.
    assert (await post(a, b, activity))[0] == 202
    assert await inbox_count(b) == 2

    async with b.node.db.session() as session:
        finished = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.state == "done")
        )
    assert finished == 1  # B's Accept to A
    housekeeper.clock = lambda: now + timedelta(days=31)
    purged = await housekeeper.purge()
    assert (purged.inbox_items, purged.deliveries) == (2, 1)
    assert await inbox_count(b) == 0


async def test_unprocessed_items_are_never_purged(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    assert (await post(a, b, like(a)))[0] == 202
    async with b.node.db.transaction() as session:  # long ago, and still waiting
        await session.execute(update(InboxItem).values(received_at=utcnow() - timedelta(days=90)))
    purged = await Housekeeper(b.node, clock=lambda: utcnow() + timedelta(days=90)).purge()
    assert purged.inbox_bodies == purged.inbox_items == 0
    assert await inbox_count(b) == 1


async def test_a_held_comment_keeps_its_body_through_the_purge_and_is_forwarded(nodes) -> None:
    a, b, c = await nodes("berlin"), await nodes("hamburg"), await nodes("barcelona")
    for follower in (a, c):
        await follower.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b, c)
    project = (await b.api("POST", "/projects", json={"title": "Heat map"}, status=201))["id"]
    await settle(a, b, c)
    await b.api("PUT", "/admin/moderation", json={"moderate_comments": True}, status=200)
    held = await a.api(
        "POST", "/comments", status=201, json={"in_reply_to": project, "content": "Review me"}
    )
    await settle(a, b, c)

    now = utcnow()
    purged = await Housekeeper(b.node, clock=lambda: now + timedelta(days=3)).purge()
    assert purged.inbox_bodies >= 1  # the Follows and the rest went; the held comment stays
    async with b.node.db.session() as session:
        kept = list(
            await session.scalars(select(InboxItem.body).where(func.length(InboxItem.body) > 0))
        )
    assert len(kept) == 1 and held["id"].encode() in kept[0]
    await b.api("POST", "/admin/comments/approve", json={"id": held["id"]}, status=200)
    await settle(a, b, c)
    comments = (await c.api("GET", f"/comments?object={project}", status=200))["items"]
    assert [entry["id"] for entry in comments] == [held["id"]]
