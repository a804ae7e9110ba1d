"""The inbox against hostile, broken and unlucky origins (issue 14, items 1, 2, 4 and 7).

Real nodes on loopback (tests/rig.py) and a misbehaving origin (tests/hostile.py): one that never
answers, one that drips its body, one that answers 503 once, one that redirects. Waits are
deadlines for something that must happen, never a measure of speed.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import select, update

from cityfed.federation import inbox_worker
from cityfed.federation.fetch import fetch_object
from cityfed.federation.inbox_worker import InboxWorker
from cityfed.models import actors as actor_queries
from cityfed.models import objects as object_queries
from cityfed.models.tables import Follow, InboxItem
from tests.hostile import Origin, wait_for
from tests.rig import TestNode, local_actor_row, settle, signed_post


@pytest.fixture
async def origin():
    server = Origin()
    await server.start()
    yield server
    await server.stop()


async def item_of(node: TestNode, activity_id: str) -> InboxItem:
    async with node.node.db.session() as session:
        item = await session.scalar(
            select(InboxItem).where(InboxItem.activity_ap_id == activity_id)
        )
    assert item is not None
    return item


async def follow_origin(node: TestNode, origin: Origin) -> None:
    """Our city follows the origin's actor (accepted): its projects are wanted here."""
    city = await local_actor_row(node)
    async with node.node.db.transaction() as session:
        remote = await actor_queries.actor_by_ap_id(session, origin.actor_id)
        assert remote is not None
        session.add(
            Follow(
                follower_id=city.id,
                followee_id=remote.id,
                activity_ap_id=f"{node.base}/follows/{uuid.uuid4()}",
                state="accepted",
            )
        )


async def make_due(node: TestNode) -> None:
    """Move every waiting retry to now (instead of waiting out the backoff)."""
    async with node.node.db.transaction() as session:
        await session.execute(
            update(InboxItem)
            .where(InboxItem.state == "retry")
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def stored(node: TestNode, object_id: str) -> bool:
    async with node.node.db.session() as session:
        return await object_queries.by_ap_id(session, object_id) is not None


def follow_of(a: TestNode, b: TestNode) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{a.base}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": a.actor_id,
        "object": b.actor_id,
    }


# -- 1. one sender cannot stall everyone ------------------------------------------------------


async def test_a_hanging_sender_does_not_hold_up_another_senders_follow(nodes, origin) -> None:
    b = await nodes("hamburg", workers=True, fetch_timeout=60.0)
    a = await nodes("berlin")
    for n in range(5):
        assert await origin.post(b, origin.create(f"{origin.base}/hang/{n}")) == 202
    # The worker is stuck on the first object (its origin never answers)...
    assert await wait_for(lambda: origin.open >= 1)
    started = asyncio.get_running_loop().time()
    assert (await signed_post(a, b, "/inbox", follow_of(a, b)))[0] == 202

    async def followed() -> bool:
        return bool(await b.api("GET", "/followers"))

    # ...and an unrelated peer's Follow is applied all the same, while it still hangs.
    assert await wait_for(followed, within=20.0), "the Follow waited behind the hanging sender"
    delay = asyncio.get_running_loop().time() - started
    assert origin.open >= 1
    print(f"FIGURE item1: Follow applied {delay:.2f} s after arrival while a sender hangs")


async def test_a_lease_is_renewed_while_the_item_is_worked_on(nodes, origin, monkeypatch) -> None:
    monkeypatch.setattr(inbox_worker, "LEASE", timedelta(seconds=1))
    b = await nodes("hamburg", fetch_timeout=60.0)
    assert await origin.post(b, origin.create(f"{origin.base}/hang/1")) == 202
    first = asyncio.create_task(InboxWorker(b.node).run_once())
    try:
        assert await wait_for(lambda: origin.open >= 1)
        await asyncio.sleep(2.0)  # twice the lease: it would have run out by now
        # A second worker (another process, say) must not take the same item.
        assert await InboxWorker(b.node).run_once() == 0
    finally:
        origin.release.set()
        await first
    assert origin.hits.count("/hang/1") == 1


async def test_senders_take_turns_and_each_keeps_its_order(nodes, origin) -> None:
    """A long backlog from one sender is leased a few at a time, round robin with the others;
    each sender's own items stay in arrival order."""
    b = await nodes("hamburg")
    a = await nodes("berlin")
    flood = [origin.create(f"{origin.base}/missing/{n}") for n in range(30)]
    for activity in flood:
        assert await origin.post(b, activity) == 202
    follow = follow_of(a, b)
    assert (await signed_post(a, b, "/inbox", follow))[0] == 202
    async with b.node.db.transaction() as session:
        from cityfed.models import queue

        leased = await queue.lease_fair(
            session,
            InboxItem,
            datetime.now(UTC),
            limit=20,
            lease_for=timedelta(minutes=1),
            key=InboxItem.actor_ap_id,
            per_key=inbox_worker.PER_SENDER,
        )
    by_sender = [item.activity_ap_id for item in leased if item.actor_ap_id == origin.actor_id]
    assert follow["id"] in {item.activity_ap_id for item in leased}
    assert by_sender == [activity["id"] for activity in flood[: inbox_worker.PER_SENDER]]


async def test_cheap_checks_come_before_any_fetch(nodes, origin) -> None:
    b = await nodes("hamburg", federation_mode="allowlist")
    # Not followed here and may not write here: nothing it sends by reference can be applied.
    create = origin.create(origin.project("p1"))
    assert await origin.post(b, create) == 202
    # An object on another host than its author's is never ours to fetch.
    elsewhere = origin.create(f"http://127.0.0.1:{origin.port + 1}/projects/p2")
    assert await origin.post(b, elsewhere) == 202
    origin.hits.clear()
    await settle(b)
    assert origin.hits == []
    assert (await item_of(b, create["id"])).state == "done"
    assert "refused" in ((await item_of(b, elsewhere["id"])).error or "")


# -- 2. documents that arrive in pieces -------------------------------------------------------


async def test_an_actor_served_in_pieces_verifies(nodes, origin) -> None:
    b = await nodes("hamburg")
    origin.drip = True
    assert await origin.post(b, origin.follow(b)) == 202


async def test_a_project_served_in_pieces_is_stored(nodes, origin) -> None:
    b = await nodes("hamburg")
    project = origin.project("dripped")
    create = origin.create(project)
    assert await origin.post(b, create) == 202
    await follow_origin(b, origin)
    origin.drip = True
    assert (await fetch_object(b.node, project))["id"] == project
    await settle(b)
    assert await stored(b, project), (await item_of(b, create["id"])).error


# -- 4. transient failures are retried --------------------------------------------------------


@pytest.mark.parametrize("failure", ["503", "timeout", "refused"])
async def test_a_passing_failure_of_the_origin_is_retried(nodes, origin, failure) -> None:
    b = await nodes("hamburg", fetch_timeout=1.0)
    project = origin.project(f"flaky-{failure}")
    create = origin.create(project)
    assert await origin.post(b, create) == 202
    await follow_origin(b, origin)
    path = project.removeprefix(origin.base)
    if failure == "503":

        async def unavailable() -> object:
            from aiohttp import web

            return web.json_response({"error": "busy"}, status=503)

        origin.once[path] = unavailable
    elif failure == "timeout":

        async def slow() -> None:
            await asyncio.sleep(3)

        origin.once[path] = slow
    else:
        await origin.runner.cleanup()  # the connection is refused
    await InboxWorker(b.node).run_once()
    item = await item_of(b, create["id"])
    assert item.state == "retry", (item.state, item.error)
    assert not await stored(b, project)
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=10)
    assert item.next_attempt_at.replace(tzinfo=None) > later  # with backoff, not at once
    if failure == "refused":
        await origin.start()
    await make_due(b)
    await settle(b)
    assert await stored(b, project), (await item_of(b, create["id"])).error


@pytest.mark.parametrize("status", [404, 410, 403])
async def test_a_final_failure_is_given_up_with_its_reason(nodes, origin, status) -> None:
    from aiohttp import web

    b = await nodes("hamburg")
    project = origin.project(f"final-{status}")
    create = origin.create(project)
    assert await origin.post(b, create) == 202
    await follow_origin(b, origin)

    async def final() -> object:
        return web.json_response({"error": "no"}, status=status)

    origin.once[project.removeprefix(origin.base)] = final
    await settle(b)
    item = await item_of(b, create["id"])
    assert item.state == "failed"
    assert "gave up" in (item.error or "") and f"HTTP {status}" in (item.error or "")


# -- 7. one unauthenticated POST costs little -------------------------------------------------


async def test_one_post_with_a_redirecting_key_costs_few_requests(nodes, origin) -> None:
    """Key → 3 redirects → a key document naming an owner → 3 redirects → an owner claiming
    another id → 3 redirects: twelve requests before; two now (one redirect allowed)."""
    b = await nodes("hamburg")
    key_doc = f"{origin.base}/keys/k"
    other_id = f"{origin.base}/redirect/2/owners/o2"
    origin.docs["/keys/k"] = {
        "id": key_doc,
        "owner": f"{origin.base}/redirect/2/owners/o",
        "publicKeyPem": origin.public_pem,
    }
    origin.docs["/owners/o"] = {**origin.actor_document(), "id": other_id}
    origin.docs["/owners/o2"] = {**origin.actor_document(), "id": other_id}
    status = await origin.post(b, origin.follow(b), key_id=f"{origin.base}/redirect/2/keys/k")
    assert status == 401
    print(f"FIGURE item7: one POST with a redirecting key cost {len(origin.hits)} requests")
    assert len(origin.hits) <= 2, origin.hits


async def test_a_key_that_cannot_be_had_is_fetched_once_and_not_again(nodes, origin) -> None:
    b = await nodes("hamburg")
    key_id = f"{origin.base}/missing/key"
    statuses = await asyncio.gather(
        *(origin.post(b, origin.follow(b), key_id=key_id) for _ in range(10))
    )
    assert statuses == [401] * 10
    assert await origin.post(b, origin.follow(b), key_id=key_id) == 401
    assert origin.hits == ["/missing/key"]


async def test_a_request_that_fails_without_its_key_fetches_nothing(nodes, origin) -> None:
    b = await nodes("hamburg")
    stale = datetime.now(UTC) - timedelta(hours=2)
    assert await origin.post(b, origin.follow(b), now=stale) == 401
    assert origin.hits == []


async def test_a_flood_of_hanging_keys_does_not_starve_deliveries_or_first_follows(
    nodes,
) -> None:
    """Distinct keyIds on thirty hanging hosts: before, they filled the shared connection pool
    and our own first follow waited for them to time out."""
    flood = Origin(extra_ports=29)
    await flood.start()
    b = await nodes("hamburg", fetch_timeout=60.0)
    a = await nodes("berlin")
    # The attacker's own client, so the test's client to b is not the one that is flooded.
    attacker = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    posts = [
        asyncio.create_task(
            flood.post(
                b,
                flood.follow(b),
                key_id=f"http://127.0.0.1:{port}/hang/{port}-{n}",
                http=attacker,
            )
        )
        for port in flood.ports
        for n in range(5)
    ]
    try:
        assert await wait_for(lambda: flood.open >= 30, within=60.0)  # a loaded machine is slow
        await asyncio.sleep(0.5)  # let the rest of the flood reach the pool
        started = asyncio.get_running_loop().time()
        follow = b.api("POST", "/follows", json={"account": a.account}, status=201)
        await asyncio.wait_for(follow, timeout=15.0)
        await asyncio.wait_for(settle(a, b), timeout=15.0)  # the Follow delivered, Accepted
        took = asyncio.get_running_loop().time() - started
        assert (await b.api("GET", "/follows"))["items"][0]["state"] == "accepted"
        assert flood.open >= 1  # the flood still hangs
        print(f"FIGURE item7: first follow + deliveries took {took:.2f} s during the flood")
    finally:
        await flood.stop()
        await asyncio.gather(*posts, return_exceptions=True)
        await attacker.close()
