"""No follow is lost on one delivery status; unavailable domains are held, then resumed (§3).

Issue 14 item 5: a follower's inbox that answered 404 once lost 1,600 follows in one publish.
Real nodes (tests/rig.py) and real loopback servers that answer 404/410 or refuse connections;
days pass on a clock the delivery worker is given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select, update

from cityfed.federation.availability import Prober
from cityfed.federation.delivery import DeliveryWorker
from cityfed.models.tables import Actor, Delivery, Follow, GoneInbox, Peer
from cityfed.models.types import utcnow
from tests.integration.test_delivery import (  # noqa: F401 - the sinks fixture
    deliveries,
    follow,
    peer,
    remote_actor,
    send,
    sender_of,
    sinks,
)
from tests.rig import TestNode, free_port, settle, signed_post


class Clock:
    """A clock the test moves: days pass in microseconds."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@asynccontextmanager
async def answering(port: int, status: int) -> AsyncIterator[list[str]]:
    """A server on ``port`` that answers every request with ``status`` (a proxy in front of a
    node that is not there); yields the paths it was asked."""
    asked: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        asked.append(f"{request.method} {request.path}")
        await request.read()
        return web.Response(status=status, text="not here")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield asked
    finally:
        await runner.cleanup()


async def follow_count(tn: TestNode) -> int:
    async with tn.node.db.session() as session:
        return await session.scalar(select(func.count()).select_from(Follow)) or 0


async def publish(tn: TestNode, title: str) -> str:
    body = {"title": title, "teaser": "t", "description": "d", "phase": "idea"}
    return (await tn.api("POST", "/projects", json=body, status=201))["id"]


async def test_a_404_or_a_410_once_keeps_the_follows_both_ways(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await b.api("POST", "/follows", json={"account": a.account}, status=201)
    await settle(a, b)
    assert await follow_count(a) == 2
    # B has no shared inbox as far as A knows (GoToSocial has none): deliveries go to B's own.
    async with a.node.db.transaction() as session:
        await session.execute(
            update(Actor).where(Actor.ap_id == b.actor_id).values(shared_inbox=None)
        )

    await b.stop()
    for status in (404, 410):
        async with answering(b.port, status) as asked:
            await publish(a, f"while B answers {status}")
            assert await DeliveryWorker(a.node).run_once() == 1
        assert asked == [f"POST /actors/{b.handle}/inbox"]
        assert await follow_count(a) == 2, f"one {status} removed follows"
    failed = [(r.state, r.last_status) for r in await deliveries(a)][-2:]
    assert failed == [("failed", 404), ("failed", 410)]

    await b.start()
    project = await publish(a, "B is back")
    await settle(a, b)
    timeline = await b.api("GET", "/timeline")
    assert project in [item["id"] for item in timeline["items"]]
    assert await follow_count(a) == 2
    async with a.node.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(GoneInbox)) == 0


async def test_410s_spanning_days_remove_the_follows_and_a_success_resets(
    nodes,
    sinks: Callable[..., Any],  # noqa: F811 - the fixture imported above
) -> None:
    tn = await nodes("berlin", delivery_gone_days=7)
    sink = await sinks(default=410)
    me = await sender_of(tn)
    gone = await remote_actor(tn, sink, "gone", shared=False)
    await follow(tn, gone, me)
    await follow(tn, me, gone)
    inbox = sink.url("/users/gone/inbox")
    await send(tn, [inbox])
    clock = Clock()  # after the row was queued: it is due on it
    worker = DeliveryWorker(tn.node, clock=clock)
    assert await worker.run_once() == 1
    clock.advance(days=6)
    await send(tn, [inbox])
    await worker.run_once()
    assert await follow_count(tn) == 2  # six days of 410s: not yet

    # A success in between: the count starts again.
    sink.default = 202
    await send(tn, [inbox])
    await worker.run_once()
    sink.default = 410
    clock.advance(days=2)
    await send(tn, [inbox])
    await worker.run_once()
    assert await follow_count(tn) == 2

    clock.advance(days=7, seconds=1)
    await send(tn, [inbox])
    await worker.run_once()
    assert await follow_count(tn) == 0
    assert [r.last_status for r in await deliveries(tn)] == [410, 410, 202, 410, 410]


async def test_a_domain_failing_for_days_is_held_and_resumes_when_a_probe_answers(
    nodes,
) -> None:
    tn = await nodes("berlin", delivery_unavailable_days=2, delivery_max_attempts=16)
    port = free_port()  # nothing listens: the peer is down
    inbox = f"http://127.0.0.1:{port}/inbox"
    domain = f"127.0.0.1:{port}"
    for i in range(5):
        await send(tn, [inbox], text=f"project {i}")
    clock = Clock()  # after the rows were queued: they are due on it
    worker = DeliveryWorker(tn.node, clock=clock)

    async def due_now() -> None:
        async with tn.node.db.transaction() as session:
            await session.execute(
                update(Delivery).values(next_attempt_at=clock.now - timedelta(seconds=1))
            )
            await session.execute(update(Peer).values(circuit_open_until=None))

    # Failing for a day: retried (the circuit breaker paces it), not yet unavailable.
    await worker.run_once()
    clock.advance(days=1)
    await due_now()
    await worker.run_once()
    known = await peer(tn, domain)
    assert known is not None and known.unavailable_since is None
    assert known.failing_since is not None

    clock.advance(days=1, minutes=1)
    await due_now()
    await worker.run_once()
    known = await peer(tn, domain)
    assert known is not None and known.unavailable_since == clock.now
    charged = sum(r.attempts for r in await deliveries(tn))

    # Held: days later nothing is leased, nothing is charged, nothing dies.
    for _ in range(5):
        clock.advance(days=1)
        await due_now()
        assert await worker.run_once() == 0
    rows = await deliveries(tn)
    assert sum(r.attempts for r in rows) == charged
    assert {r.state for r in rows} == {"retry"}

    # A probe while it is still down changes nothing; once it answers, the rows go.
    prober = Prober(tn.node, clock)
    assert await prober.probe(clock.now) == []
    async with answering(port, 202) as asked:
        assert await prober.probe(clock.now) == [domain]
        await tn.node.policy.refresh(tn.node.db, force=True)
        assert tn.node.policy.unavailable == set()
        sent = 0
        for _ in range(5):
            sent += await worker.run_once()
        assert sent == 5
    assert asked.count("POST /inbox") == 5 and "GET /.well-known/nodeinfo" in asked
    assert {r.state for r in await deliveries(tn)} == {"done"}
    back = await peer(tn, domain)
    assert back is not None and (back.unavailable_since, back.failing_since) == (None, None)


async def test_an_activity_from_an_unavailable_domain_resumes_its_deliveries(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b)
    async with b.node.db.transaction() as session:  # B gave up on A days ago
        await session.execute(
            update(Peer).where(Peer.domain == a.domain).values(unavailable_since=utcnow())
        )
    await b.node.policy.refresh(b.node.db, force=True)
    project = await publish(b, "held for A")
    assert await DeliveryWorker(b.node).run_once() == 0  # held

    status, _ = await signed_post(
        a,
        b,
        "/inbox",
        {
            "id": f"{a.actor_id}#likes/1",
            "type": "Like",
            "actor": a.actor_id,
            "object": project,
        },
    )
    assert status == 202
    known = await peer(b, a.domain)
    assert known is not None and known.unavailable_since is None
    await settle(a, b)
    assert project in [item["id"] for item in (await a.api("GET", "/timeline"))["items"]]
