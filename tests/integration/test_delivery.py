"""The outgoing side over real HTTP: enqueue, lease, sign, POST, classify, retry, circuit breaker.

A real node (workers off: the tests call ``DeliveryWorker.run_once``) delivers to loopback "sink"
servers started here. Each sink verifies every request's draft-cavage signature with the key it
fetches from the node's actor document, records what it got and answers a scripted status.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from sqlalchemy import func, select, update

from cityfed.activitypub import cavage
from cityfed.activitypub.jsonld import DATA_INTEGRITY_V1_URL, DEFAULT_CONTEXT
from cityfed.federation import outbox
from cityfed.federation.delivery import DeliveryWorker, circuit_open_seconds
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models.queue import lease
from cityfed.models.tables import Activity, Actor, Delivery, Follow, Peer
from cityfed.models.types import utcnow
from tests.rig import AP_ACCEPT, TestNode, free_port

Reply = int | tuple[int, dict[str, str]]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_error: str | None


@dataclass
class Meter:
    """Requests in flight across sinks: the worker's global concurrency, seen from outside."""

    in_flight: int = 0
    max_in_flight: int = 0


@dataclass
class Sink:
    """A stand-in for a remote server's inboxes: records, verifies and answers from a script."""

    default: int = 202
    meter: Meter = field(default_factory=Meter)
    delay: float = 0.0
    replies: dict[str, deque[Reply]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event | None = None
    port: int = 0
    _keys: dict[str, cavage.PublicKey] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _http: aiohttp.ClientSession | None = None

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.domain}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        self.replies[path] = deque(replies)

    def bodies(self) -> list[bytes]:
        return [r.body for r in self.received]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._http = aiohttp.ClientSession()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.release is not None:
            self.release.set()
        assert self._runner is not None and self._http is not None
        await self._runner.cleanup()
        await self._http.close()

    async def _key(self, key_id: str) -> cavage.PublicKey:
        if key_id not in self._keys:
            assert self._http is not None
            actor_url = key_id.split("#", 1)[0]
            async with self._http.get(actor_url, headers={"Accept": AP_ACCEPT}) as resp:
                doc = await resp.json(content_type=None)
            assert doc["publicKey"]["id"] == key_id
            self._keys[key_id] = cavage.load_public_key_pem(doc["publicKey"]["publicKeyPem"])
        return self._keys[key_id]

    async def _verify(self, request: web.Request, body: bytes) -> str | None:
        try:
            sig = cavage.parse_signature_header(request.headers["Signature"])
            required = {"(request-target)", "host", "date", "digest", "content-type"}
            assert required <= set(sig.headers), sig.headers
            key = await self._key(sig.key_id)
            cavage.verify_request(sig, "POST", request.path_qs, request.headers, key, body=body)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.meter.in_flight += 1
        self.meter.max_in_flight = max(self.meter.max_in_flight, self.meter.in_flight)
        try:
            body = await request.read()
            error = await self._verify(request, body)
            self.received.append(Received(request.path, dict(request.headers), body, error))
            self.arrived.set()
            if self.release is not None:
                await self.release.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
            queue = self.replies.get(request.path)
            reply: Reply = queue.popleft() if queue else self.default
            status, headers = reply if isinstance(reply, tuple) else (reply, {})
            return web.Response(
                status=status, headers=headers, text="sink says no" * (status > 299)
            )
        finally:
            self.in_flight -= 1
            self.meter.in_flight -= 1


@pytest.fixture
async def sinks() -> AsyncIterator[Callable[..., Any]]:
    async with AsyncExitStack() as stack:

        async def start(**kwargs: Any) -> Sink:
            sink = Sink(**kwargs)
            await sink.start()
            stack.push_async_callback(sink.stop)
            return sink

        yield start


_ids = itertools.count()


async def sender_of(tn: TestNode) -> Actor:
    async with tn.node.db.session() as session:
        actor = await actor_queries.local_actor(session, tn.handle)
    assert actor is not None
    return actor


def create_activity(tn: TestNode, sender: Actor, text: str = "Neue Radwege") -> dict[str, Any]:
    return {
        "id": tn.node.urls.new_activity_id(),
        "type": "Create",
        "actor": sender.ap_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": tn.node.urls.new_object_id("projects"), "type": "Note", "content": text},
    }


async def send(tn: TestNode, inboxes: list[str], text: str = "Neue Radwege") -> Activity:
    sender = await sender_of(tn)
    async with tn.node.db.transaction() as session:
        return await outbox.enqueue(
            session, tn.node, sender, create_activity(tn, sender, text), inboxes, public=True
        )


async def deliveries(tn: TestNode) -> list[Delivery]:
    async with tn.node.db.session() as session:
        return list(await session.scalars(select(Delivery).order_by(Delivery.id)))


async def peer(tn: TestNode, domain: str) -> Peer | None:
    async with tn.node.db.session() as session:
        return await session.get(Peer, domain)


async def force_due(tn: TestNode) -> None:
    """Time travel: every waiting row is due now."""
    async with tn.node.db.transaction() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.state.in_(("pending", "retry")))
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


async def remote_actor(tn: TestNode, sink: Sink, name: str, *, shared: bool) -> Actor:
    async with tn.node.db.transaction() as session:
        actor = Actor(
            ap_id=sink.url(f"/users/{name}"),
            local=False,
            type="Organization",
            handle=name,
            domain=sink.domain,
            inbox=sink.url(f"/users/{name}/inbox"),
            shared_inbox=sink.url("/inbox") if shared else None,
        )
        session.add(actor)
    return actor


async def follow(tn: TestNode, follower: Actor, followee: Actor) -> None:
    async with tn.node.db.transaction() as session:
        session.add(
            Follow(
                follower_id=follower.id,
                followee_id=followee.id,
                activity_ap_id=f"{follower.ap_id}/follows/{next(_ids)}",
                state="accepted",
            )
        )


# -- enqueue ----------------------------------------------------------------------------------


async def test_enqueue_writes_activity_and_one_row_per_distinct_inbox(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    a, b = await sinks(), await sinks()
    async with tn.node.db.transaction() as session:
        session.add(Peer(domain="blocked.example", policy="blocked"))
    sender = await sender_of(tn)
    activity = create_activity(tn, sender)
    tn.node.delivery_wakeup.clear()
    async with tn.node.db.transaction() as session:
        row = await outbox.enqueue(
            session,
            tn.node,
            sender,
            activity,
            [
                a.url("/inbox"),
                a.url("/inbox"),  # twice
                b.url("/users/x/inbox"),
                tn.node.urls.inbox(tn.handle),  # own host
                tn.node.urls.shared_inbox,  # own host
                "",
                "ftp://files.example/inbox",
                "https://blocked.example/inbox",
            ],
            public=True,
        )
        # Armed, not fired: nothing may wake the worker before the commit.
        assert not tn.node.delivery_wakeup.is_set()
    assert tn.node.delivery_wakeup.is_set()

    rows = await deliveries(tn)
    assert [(r.inbox, r.domain, r.state, r.attempts) for r in rows] == [
        (a.url("/inbox"), a.domain, "pending", 0),
        (b.url("/users/x/inbox"), b.domain, "pending", 0),
    ]
    assert {r.activity_id for r in rows} == {row.id}
    assert {r.sender_id for r in rows} == {sender.id}
    async with tn.node.db.session() as session:
        stored = await session.get(Activity, row.id)
    assert stored is not None
    assert (stored.ap_id, stored.type, stored.local, stored.public, stored.actor_id) == (
        activity["id"],
        "Create",
        True,
        True,
        sender.id,
    )
    assert stored.object_ap_id == activity["object"]["id"]
    document = orjson.loads(stored.body)
    # Stored signed (integrity proof, LD signature), which is why the Data Integrity context
    # joins ours; apart from that, the activity as given.
    signed = {k: v for k, v in document.items() if k not in ("proof", "signature")}
    assert signed == {"@context": [*DEFAULT_CONTEXT, DATA_INTEGRITY_V1_URL], **activity}
    assert "proof" in document and "signature" in document
    assert next(iter(document)) == "@context"
    assert a.received == [] and b.received == []  # nothing is sent by enqueue


async def test_enqueue_rolls_back_with_the_callers_transaction(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    sink = await sinks()
    tn.node.delivery_wakeup.clear()
    with pytest.raises(RuntimeError, match="the change failed"):
        async with tn.node.db.transaction() as session:
            sender = await actor_queries.local_actor(session, tn.handle)
            assert sender is not None
            await outbox.enqueue(
                session,
                tn.node,
                sender,
                create_activity(tn, sender),
                [sink.url("/inbox")],
                public=True,
            )
            raise RuntimeError("the change failed")
    async with tn.node.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Activity)) == 0
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0
    assert not tn.node.delivery_wakeup.is_set()
    assert await DeliveryWorker(tn.node).run_once() == 0
    assert sink.received == []


async def test_followers_on_one_host_share_one_delivery(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    big, small = await sinks(), await sinks()
    me = await sender_of(tn)
    for name in ("a", "b", "c"):
        await follow(tn, await remote_actor(tn, big, name, shared=True), me)
    await follow(tn, await remote_actor(tn, small, "solo", shared=False), me)
    async with tn.node.db.transaction() as session:
        inboxes = await follow_queries.follower_inboxes(session, me.id)
        await outbox.enqueue(session, tn.node, me, create_activity(tn, me), inboxes, public=True)
    assert sorted(r.inbox for r in await deliveries(tn)) == sorted(
        [big.url("/inbox"), small.url("/users/solo/inbox")]
    )
    assert await DeliveryWorker(tn.node).run_once() == 2
    assert len(big.received) == 1 and len(small.received) == 1


async def test_forward_sends_the_received_bytes_signed_by_us(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    origin, partner, other = await sinks(), await sinks(), await sinks()
    me = await sender_of(tn)
    author = await remote_actor(tn, origin, "hamburg", shared=True)
    # Odd spacing and key order: a re-serialisation would not reproduce these bytes.
    raw = (
        b'{"type": "Create",  "id": "' + origin.url("/activities/1").encode() + b'", '
        b'"actor": "'
        + author.ap_id.encode()
        + b'", "object": {"id": "'
        + origin.url("/notes/1").encode()
        + b'", "type": "Note"}}'
    )
    activity = orjson.loads(raw)
    async with tn.node.db.transaction() as session:
        row = await outbox.forward(
            session,
            tn.node,
            me,
            author,
            activity,
            raw,
            [partner.url("/inbox"), origin.url("/inbox")],
            public=True,
        )
    async with tn.node.db.transaction() as session:
        again = await outbox.forward(
            session,
            tn.node,
            me,
            author,
            activity,
            raw,
            [partner.url("/inbox"), other.url("/inbox")],
            public=True,
        )
    assert again.id == row.id
    assert (row.local, row.actor_id, row.object_ap_id) == (False, author.id, origin.url("/notes/1"))
    assert sorted(r.inbox for r in await deliveries(tn)) == sorted(
        [partner.url("/inbox"), other.url("/inbox")]
    )
    assert await DeliveryWorker(tn.node).run_once() == 2
    for sink in (partner, other):
        [got] = sink.received
        assert got.body == raw and got.signature_error is None
        assert me.ap_id in got.headers["Signature"]  # our key, the author's words
    assert origin.received == []


# -- sending and classifying ------------------------------------------------------------------


async def test_delivered_with_a_valid_signature_and_the_exact_body(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    sink = await sinks()
    activity = await send(tn, [sink.url("/users/x/inbox?via=test")], text="Grüße, \u2603")
    before = utcnow()
    assert await DeliveryWorker(tn.node).run_once() == 1

    [got] = sink.received
    assert got.signature_error is None
    assert got.body == activity.body  # the stored bytes, not a re-serialisation
    assert got.path == "/users/x/inbox"
    assert got.headers["Content-Type"] == "application/activity+json"
    assert got.headers["Digest"].startswith("SHA-256=")
    assert "cityfed/" in got.headers["User-Agent"]
    [row] = await deliveries(tn)
    assert (row.state, row.attempts, row.last_status, row.last_error) == ("done", 1, 202, None)
    assert row.locked_until is None
    assert row.finished_at is not None and row.finished_at >= before
    known = await peer(tn, sink.domain)
    assert known is not None and known.policy is None
    assert known.consecutive_failures == 0 and known.last_success_at is not None
    assert await DeliveryWorker(tn.node).run_once() == 0  # done is done


async def test_server_error_is_retried_later_then_delivered(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    sink = await sinks()
    sink.script("/inbox", 500, 202)
    await send(tn, [sink.url("/inbox")])
    worker = DeliveryWorker(tn.node)
    before = utcnow()
    assert await worker.run_once() == 1

    [row] = await deliveries(tn)
    assert (row.state, row.attempts, row.last_status) == ("retry", 1, 500)
    assert row.last_error is not None and "HTTP 500" in row.last_error
    assert "sink says no" in row.last_error  # the start of the answer, for the admin
    assert row.locked_until is None and row.finished_at is None
    assert before + timedelta(seconds=20) < row.next_attempt_at < before + timedelta(seconds=40)
    assert await worker.run_once() == 0  # not due yet

    await force_due(tn)
    assert await worker.run_once() == 1
    [row] = await deliveries(tn)
    assert (row.state, row.attempts, row.last_status, row.last_error) == ("done", 2, 202, None)
    assert len(sink.received) == 2
    assert sink.received[0].body == sink.received[1].body
    assert all(r.signature_error is None for r in sink.received)


async def test_429_retry_after_is_honoured(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    sink = await sinks()
    sink.script("/inbox", (429, {"Retry-After": "120"}))
    await send(tn, [sink.url("/inbox")])
    before = utcnow()
    assert await DeliveryWorker(tn.node).run_once() == 1
    [row] = await deliveries(tn)
    assert (row.state, row.last_status) == ("retry", 429)
    assert row.next_attempt_at >= before + timedelta(seconds=120)
    known = await peer(tn, sink.domain)
    assert known is not None and known.consecutive_failures == 0  # rate limited is not down


async def test_gone_inbox_fails_that_delivery_and_one_410_keeps_the_follows(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    sink = await sinks()
    me = await sender_of(tn)
    gone = await remote_actor(tn, sink, "gone", shared=False)
    stays = await remote_actor(tn, sink, "stays", shared=True)
    await follow(tn, gone, me)
    await follow(tn, me, gone)
    await follow(tn, stays, me)
    sink.script("/users/gone/inbox", 410)
    sink.script("/inbox", 410)  # a gone shared inbox says nothing certain about any actor
    await send(tn, [sink.url("/users/gone/inbox"), sink.url("/inbox")])
    assert await DeliveryWorker(tn.node).run_once() == 2

    rows = await deliveries(tn)
    assert [(r.state, r.last_status) for r in rows] == [("failed", 410), ("failed", 410)]
    assert all(r.finished_at is not None and "gone" in (r.last_error or "") for r in rows)
    async with tn.node.db.session() as session:
        left = (await session.execute(select(Follow.follower_id, Follow.followee_id))).all()
    # Only 410s over days end follows (test_delivery_availability.py).
    assert sorted(left) == sorted([(gone.id, me.id), (me.id, gone.id), (stays.id, me.id)])


async def test_network_failures_are_retried(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin", fetch_timeout=0.3)
    slow = await sinks(delay=1.0)
    refused = f"http://127.0.0.1:{free_port()}/inbox"  # nothing listens there
    await send(tn, [refused, slow.url("/inbox")])
    assert await DeliveryWorker(tn.node).run_once() == 2

    by_inbox = {r.inbox: r for r in await deliveries(tn)}
    assert by_inbox[refused].state == "retry"
    assert by_inbox[refused].last_status is None
    assert (by_inbox[refused].last_error or "").startswith("network error")
    assert by_inbox[slow.url("/inbox")].state == "retry"
    assert (by_inbox[slow.url("/inbox")].last_error or "").startswith("timeout")
    for domain in (f"127.0.0.1:{refused.split(':')[2].split('/')[0]}", slow.domain):
        known = await peer(tn, domain)
        assert known is not None
        assert known.consecutive_failures == 1 and known.last_failure_at is not None


async def test_attempts_exhausted_is_dead(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin", delivery_max_attempts=3)
    sink = await sinks(default=503)
    await send(tn, [sink.url("/inbox")])
    worker = DeliveryWorker(tn.node)
    for _ in range(3):
        assert await worker.run_once() == 1
        await force_due(tn)
    [row] = await deliveries(tn)
    assert (row.state, row.attempts, row.last_status) == ("dead", 3, 503)
    assert row.finished_at is not None and "gave up after 3 attempts" in (row.last_error or "")
    assert await worker.run_once() == 0
    assert len(sink.received) == 3


async def test_blocked_targets_are_never_sent(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    sink = await sinks()
    activity = await send(tn, [sink.url("/inbox")])
    async with tn.node.db.transaction() as session:
        # Blocked after the activity was queued: still never delivered (§7).
        session.add(Peer(domain=sink.domain, policy="blocked"))
        # A URL the address guard refuses (as a row written by an older version might hold).
        session.add(
            Delivery(
                activity_id=activity.id,
                sender_id=activity.actor_id,
                inbox="ftp://files.example/inbox",
                domain="files.example",
            )
        )
    assert await DeliveryWorker(tn.node).run_once() == 1
    rows = {r.domain: r for r in await deliveries(tn)}
    assert (rows[sink.domain].state, rows[sink.domain].attempts) == ("cancelled", 0)
    assert rows["files.example"].state == "failed"
    assert "BlockedAddressError" in (rows["files.example"].last_error or "")
    assert sink.received == []


# -- circuit breaker --------------------------------------------------------------------------


async def test_circuit_breaker_opens_holds_rows_back_and_closes_on_success(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    down, healthy = await sinks(default=503), await sinks()
    per_host = tn.node.settings.delivery_per_host
    for i in range(12):
        await send(tn, [down.url("/inbox")], text=f"project {i}")
    worker = DeliveryWorker(tn.node)

    # One wave of failures: counted, not yet enough to open the circuit.
    assert await worker.run_once(limit=per_host) == per_host
    closed = await peer(tn, down.domain)
    assert closed is not None
    assert (closed.consecutive_failures, closed.circuit_open_until) == (per_host, None)

    # The next wave trips it; what the batch had not sent yet goes back unsent and uncharged.
    await force_due(tn)
    await send(tn, [healthy.url("/inbox")])
    await worker.run_once()
    opened = await peer(tn, down.domain)
    assert opened is not None and opened.consecutive_failures == 2 * per_host
    assert opened.circuit_open_until is not None
    open_for = circuit_open_seconds(2 * per_host)
    assert open_for is not None
    remaining = (opened.circuit_open_until - utcnow()).total_seconds()
    assert open_for - 10 < remaining <= open_for
    assert len(down.received) == 2 * per_host
    down_rows = [r for r in await deliveries(tn) if r.domain == down.domain]
    assert sum(r.attempts for r in down_rows) == len(down.received)  # only sends are charged
    assert all(r.locked_until is None for r in down_rows)
    assert [r.state for r in await deliveries(tn) if r.domain == healthy.domain] == ["done"]

    # While open, its rows are not leased at all, however due.
    await force_due(tn)
    assert await worker.run_once() == 0
    assert len(down.received) == 2 * per_host

    # Once the circuit expires the host is probed again; a success closes it.
    async with tn.node.db.transaction() as session:
        await session.execute(
            update(Peer)
            .where(Peer.domain == down.domain)
            .values(circuit_open_until=utcnow() - timedelta(seconds=1))
        )
    down.default = 202
    failed = len(down.received)
    for _ in range(10):
        await force_due(tn)
        if not await worker.run_once():
            break
    assert {r.state for r in await deliveries(tn)} == {"done"}
    recovered = await peer(tn, down.domain)
    assert recovered is not None
    assert (recovered.consecutive_failures, recovered.circuit_open_until) == (0, None)
    assert recovered.last_success_at is not None and recovered.last_failure_at is not None
    delivered = Counter(r.body for r in down.received[failed:])
    assert len(delivered) == 12 and set(delivered.values()) == {1}


# -- durability and concurrency ---------------------------------------------------------------


async def test_lease_of_a_crashed_worker_expires_and_the_row_is_delivered(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    sink = await sinks(release=asyncio.Event())
    activity = await send(tn, [sink.url("/inbox")])

    # A worker dies mid-request (here: cancelled while the sink holds the answer).
    crashing = asyncio.create_task(DeliveryWorker(tn.node).run_once())
    await asyncio.wait_for(sink.arrived.wait(), 5)
    crashing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashing
    [row] = await deliveries(tn)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.locked_until is not None and row.locked_until > utcnow()

    # A worker started meanwhile leaves the leased row alone...
    assert sink.release is not None
    sink.release.set()
    worker = DeliveryWorker(tn.node)
    assert await worker.run_once() == 0
    # ...until the lease runs out; then it is sent again (at-least-once).
    async with tn.node.db.transaction() as session:
        await session.execute(update(Delivery).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert await worker.run_once() == 1
    [row] = await deliveries(tn)
    assert (row.state, row.attempts) == ("done", 2)
    assert sink.bodies() == [activity.body, activity.body]


async def test_a_lease_taken_elsewhere_is_not_touched(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    sink = await sinks()
    await send(tn, [sink.url("/inbox")])
    async with tn.node.db.transaction() as session:
        [leased] = await lease(
            session, Delivery, utcnow(), limit=10, lease_for=timedelta(minutes=5)
        )
    assert await DeliveryWorker(tn.node).run_once() == 0
    [row] = await deliveries(tn)
    assert (row.state, row.locked_until) == ("pending", leased.locked_until)
    assert sink.received == []


async def test_two_hundred_deliveries_to_twenty_hosts_arrive_exactly_once(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin", delivery_concurrency=16)
    meter = Meter()
    hosts = [await sinks(delay=0.01, meter=meter) for _ in range(20)]
    sent = [await send(tn, [h.url("/inbox") for h in hosts], text=f"n{i}") for i in range(10)]
    worker = DeliveryWorker(tn.node)
    for _ in range(40):
        # All in one lease: 10 rows per host, so the per-host share and slots are exercised.
        if await worker.run_once(limit=200) == 0:
            if all(r.state == "done" for r in await deliveries(tn)):
                break
            await force_due(tn)
    rows = await deliveries(tn)
    assert len(rows) == 200 and {r.state for r in rows} == {"done"}
    assert {r.attempts for r in rows} == {1}
    expected = Counter(a.body for a in sent)
    for host in hosts:
        assert Counter(host.bodies()) == expected  # each activity exactly once
        assert all(r.signature_error is None for r in host.received)
        assert host.max_in_flight <= tn.node.settings.delivery_per_host
    assert max(h.max_in_flight for h in hosts) > 1
    assert 1 < meter.max_in_flight <= tn.node.settings.delivery_concurrency


async def test_run_loop_wakes_on_commit_and_stops_on_cancel(
    nodes: Callable[..., Any], sinks: Callable[..., Any]
) -> None:
    tn = await nodes("berlin")
    sink = await sinks()
    # A poll so long that only the commit's kick can explain a prompt delivery.
    task = asyncio.create_task(DeliveryWorker(tn.node, idle_poll=60).run())
    try:
        await asyncio.sleep(0.1)  # the worker found nothing and is idle, waiting
        activity = await send(tn, [sink.url("/inbox")])
        await asyncio.wait_for(sink.arrived.wait(), 5)
        for _ in range(50):
            if [r.state for r in await deliveries(tn)] == ["done"]:
                break
            await asyncio.sleep(0.02)
        assert [r.state for r in await deliveries(tn)] == ["done"]
        assert sink.bodies() == [activity.body]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
