"""Reliability soak (issue 14): ``make soak`` or ``python -m bench.soak [parts] [--minutes M]``.

Not a benchmark of speed and not a test: it runs the node the way a long day would and prints
figures (``SOAK name=value`` lines, repeated at the end) for the README's Reliability section.

* **steady** (a): a ``cityfed serve`` process with its workers gets the inbox load of
  ``bench/inbox.py``; first its capacity is measured (a closed-loop burst), then it receives
  half of that (of what it accepts or what its worker applies, whichever is less), open loop,
  for ``--minutes`` (default 10). RSS is sampled every 2 s: it must stay flat (within ±10 %
  after the first tenth), and every 202 must be a stored row (0 lost).
* **kill** (b): a fan-out to 10,000 followers' personal inboxes on 1,000 hosts
  (``bench.sinks``); the ``cityfed worker`` is killed with SIGKILL mid-batch (once a tenth is
  recorded and rows are leased), a new one finishes. Every inbox must get the Create (0 lost);
  duplicates are counted at the sinks.
* **down** (c): 100 peers, one of which hangs (accepts, never answers). The worker runs in this
  process on a clock the soak moves: the 99 others are served as fast as with all 100 healthy,
  the hanging one is marked unavailable after two days of failures and its rows are held,
  uncharged, while three more activities are published; when it answers again (a probe) its
  whole queue is delivered, once.
* **findings** (d): issue 14's twelve findings replayed, each refused or bounded: item 5 (one 404
  of a personal inbox that had 1,600 follows) and item 8 (987 signed 1 MiB bodies from one sender:
  accepted, 429s, database size, RSS before/burst/after) here, the others in
  ``bench.soak_findings``. ``CITYFED_SOAK_FINDINGS="1 6"`` replays only some.

``CITYFED_BENCH_SCALE`` scales the counts (1 = the issue's sizes), as for ``make bench``. Only
127.0.0.1 is used; every child process is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import statistics
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench import common, seed, soak_findings
from bench.documents import Sender, create_note, make_senders, signed_inbox_requests
from bench.fanout import Sinks, publish
from bench.httpload import write_requests
from bench.inbox import CONCURRENCY, DOMAIN, _seed_senders

RESULTS: list[str] = []


def figure(name: str, value: Any, note: str = "") -> None:
    line = f"SOAK {name}={value}" + (f"  # {note}" if note else "")
    RESULTS.append(line)
    print(line, flush=True)


# -- (a) steady load at half the capacity -------------------------------------------------------


async def _load(port: int, tmp: Path, name: str, count: int, rate: float | None, seconds: float):
    spec = common.write_json(
        tmp / f"{name}.json",
        {
            "port": port,
            "max_seconds": seconds,
            "phases": [
                {
                    "name": name,
                    "file": str(tmp / f"{name}.bin"),
                    "count": count,
                    "concurrency": CONCURRENCY,
                    **({"rate": rate} if rate else {}),
                }
            ],
        },
    )
    with common.children() as kids:
        load = common.Child(
            f"{name}-load",
            common.bench_command("httpload", str(spec)),
            tmp,
            core_set={common.client_core()},
            stdout_pipe=True,
        )
        kids.append(load)
        return dict(await load.read_json(within=seconds + 60))


async def _inbox_states(database_url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from cityfed.models.db import open_database
    from cityfed.models.tables import InboxItem

    db = open_database(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(InboxItem.state, func.count()).group_by(InboxItem.state)
            )
            return {state: count for state, count in rows}
    finally:
        await db.dispose()


async def steady(minutes: float) -> None:
    seconds = minutes * 60
    with common.workdir("soak-steady") as tmp, common.children() as kids:
        senders = make_senders(8)
        recipient = f"http://{DOMAIN}/actors/city"
        url = f"sqlite+aiosqlite:///{tmp / 'steady.db'}"
        setup = await common.create_node(tmp / "node", url, domain=DOMAIN)
        await _seed_senders(url, senders)
        server = common.serve(setup, tmp, "steady", core_set={common.server_core()}, workers=True)
        kids.append(server)
        await common.wait_port(setup.port, server)

        burst = common.scaled(4000, 400)
        requests = signed_inbox_requests(senders, burst, DOMAIN, recipient)
        write_requests(tmp / "capacity.bin", requests)
        began = time.monotonic()
        capacity = await _load(setup.port, tmp, "capacity", burst, None, 120)
        await _drain(url, 600)
        processed = burst / (time.monotonic() - began)
        door = capacity["rate"]
        # Half of what the node sustains end to end: the inbox door takes more than the worker
        # applies (the door only verifies and stores), and a soak above the worker's pace would
        # only measure a growing backlog (bounded by the per-sender backlog quota).
        half = min(door, processed) / 2
        figure(
            "steady_capacity",
            f"{door:.0f}/s accepted, {processed:.0f}/s processed",
            f"closed loop, {burst} requests over 50 connections, the node's own workers on",
        )
        count = int(half * seconds)
        common.say(f"signing {count} requests for {minutes:g} min at {half:.0f}/s ...")
        started = time.monotonic()
        requests = signed_inbox_requests(senders, count, DOMAIN, recipient)
        write_requests(tmp / "steady.bin", requests)
        del requests
        common.say(f"signed in {time.monotonic() - started:.0f} s")

        samples: list[tuple[float, int]] = []
        began = time.monotonic()

        async def sample() -> None:
            while True:
                samples.append((time.monotonic() - began, server.rss_kib()))
                await asyncio.sleep(2)

        sampler = asyncio.create_task(sample())
        try:
            result = await _load(setup.port, tmp, "steady", count, half, seconds + 30)
        finally:
            sampler.cancel()
        drained = await _drain(url, 300)
        states = await _inbox_states(url)
        accepted = result["statuses"].get("202", 0)
        stored = sum(states.values()) - burst  # the capacity burst's rows are in there too
        warm = [kib for at, kib in samples if at >= seconds / 10]
        if warm:
            first = statistics.median(warm[: max(1, len(warm) // 5)])
            last = statistics.median(warm[-max(1, len(warm) // 5) :])
            drift = (last - first) / first * 100
            figure(
                "steady_rss_mib",
                f"{min(warm) / 1024:.0f}..{max(warm) / 1024:.0f}",
                f"after the first tenth; median of first fifth {first / 1024:.0f}, "
                f"of last fifth {last / 1024:.0f}: {drift:+.1f} %",
            )
            figure("steady_rss_drift_pct", f"{drift:+.1f}")
        figure(
            "steady_load",
            f"{result['rate']:.0f}/s for {result['elapsed']:.0f} s",
            f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
            f"statuses {result['statuses']}",
        )
        figure(
            "steady_lost",
            max(accepted - stored, 0),
            f"{accepted} answered 202, {stored} stored; processed: {states} "
            f"({'drained' if drained else 'backlog left'})",
        )


async def _drain(database_url: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        states = await _inbox_states(database_url)
        if not states.get("pending", 0) and not states.get("retry", 0):
            return True
        await asyncio.sleep(1)
    return False


# -- (b) kill -9 of the worker during a fan-out -------------------------------------------------


async def _delivery_states(database_url: str) -> dict[str, int]:
    from bench.fanout import queued

    _, _, states = await queued(database_url)
    return states


async def _progress(database_url: str) -> tuple[int, int]:
    """(deliveries done, deliveries leased now)."""
    from sqlalchemy import func, select

    from cityfed.models.db import open_database
    from cityfed.models.tables import Delivery
    from cityfed.models.types import utcnow

    db = open_database(database_url)
    try:
        async with db.session() as session:
            done = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.state == "done")
            )
            leased = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.state != "done", Delivery.locked_until > utcnow())
            )
    finally:
        await db.dispose()
    return done or 0, leased or 0


async def _retried(database_url: str) -> int:
    from sqlalchemy import func, select

    from cityfed.models.db import open_database
    from cityfed.models.tables import Delivery

    db = open_database(database_url)
    try:
        async with db.session() as session:
            return (
                await session.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.attempts > 1)
                )
                or 0
            )
    finally:
        await db.dispose()


async def killed_worker() -> None:
    count = common.scaled(10_000, 500)
    hosts = max(1, min(common.scaled(1_000, 50), count))
    with common.workdir("soak-kill") as tmp, common.children() as kids:
        sinks = await Sinks.start(tmp, hosts, max_seconds=600)
        kids.append(sinks.child)
        inboxes = sinks.inboxes(count)
        url = f"sqlite+aiosqlite:///{tmp / 'kill.db'}"
        # A short fetch timeout keeps the lease (and so the wait after the kill) short.
        setup = await common.create_node(tmp / "node", url, fetch_timeout=2.0)
        await seed.add_followers(url, setup.handle, inboxes)
        server = common.serve(setup, tmp, "kill-web", core_set=None)
        kids.append(server)
        await common.wait_port(setup.port, server)
        await publish(setup)
        sinks.child.send(f'{{"cmd": "expect", "count": {count}, "timeout": 400, "distinct": true}}')
        first = common.worker(setup, tmp, "kill-worker1", core_set=None)
        kids.append(first)
        started = time.monotonic()
        # Kill once a tenth is recorded and rows are leased (in flight): mid-batch.
        while True:
            done, leased = await _progress(url)
            if done >= count // 10 and leased:
                break
            if done >= count or time.monotonic() - started > 120:
                common.say("WARNING: the worker finished (or stalled) before the kill")
                break
            await asyncio.sleep(0.05)
        first.proc.kill()  # SIGKILL: no clean-up, its leases stay taken
        first.proc.wait(10)
        at_kill = await _delivery_states(url)
        killed_at = time.monotonic()
        second = common.worker(setup, tmp, "kill-worker2", core_set=None)
        kids.append(second)
        seen = await sinks.result(within=460)
        deadline = time.monotonic() + 60
        while (states := await _delivery_states(url)).get("done", 0) < count:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        lost = count - seen["distinct"]
        figure(
            "kill_lost",
            lost,
            f"{seen['distinct']}/{count} inboxes got the Create; killed with {at_kill} recorded",
        )
        figure(
            "kill_duplicated",
            seen["duplicates"],
            "POSTs sent twice (in flight or sent-but-unrecorded at the kill; receivers dedupe "
            "by activity id)",
        )
        figure(
            "kill_recovery",
            f"{seen['last'] - killed_at:.0f} s",
            f"from the kill to the last arrival (the dead worker's lease must expire); "
            f"rows leased again {await _retried(url)}; final states {states}",
        )


# -- (c) one of 100 peers down, on a clock the soak moves ---------------------------------------


class Clock:
    """Real time plus an offset the soak moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        from cityfed.models.types import utcnow

        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


async def _hanging(port: int) -> asyncio.AbstractServer:
    """Accepts connections and never answers: the worst kind of down."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    return await asyncio.start_server(hold, "127.0.0.1", port)


async def _answering(port: int, received: list[str]) -> web.AppRunner:
    async def inbox(request: web.Request) -> web.Response:
        body = await request.read()
        received.append(f"{request.path} {hashlib.sha256(body).hexdigest()}")
        return web.Response(status=202)

    async def nodeinfo(_request: web.Request) -> web.Response:
        return web.json_response({"links": []})

    app = web.Application()
    app.router.add_post("/{tail:.*}", inbox)
    app.router.add_get("/.well-known/nodeinfo", nodeinfo)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def one_peer_down() -> None:
    from sqlalchemy import func, select

    from cityfed.config import Settings
    from cityfed.federation import outbox
    from cityfed.federation.availability import Prober
    from cityfed.federation.delivery import DeliveryWorker
    from cityfed.federation.runtime import client_session
    from cityfed.models import actors as actor_queries
    from cityfed.models.db import open_database
    from cityfed.models.tables import Delivery, Peer
    from cityfed.node import Node
    from cityfed.urls import Urls

    per_host = common.scaled(20, 2)
    with common.workdir("soak-down") as tmp, common.children() as kids:
        sinks = await Sinks.start(tmp, 99, max_seconds=900)
        kids.append(sinks.child)
        down_port = common.free_port()
        up_inboxes = [
            f"http://127.0.0.1:{port}/users/p{port}u{i}/inbox"
            for port in sinks.ports
            for i in range(per_host)
        ]
        down_inboxes = [f"http://127.0.0.1:{down_port}/users/d{i}/inbox" for i in range(per_host)]
        url = f"sqlite+aiosqlite:///{tmp / 'down.db'}"
        setup = await common.create_node(tmp / "node", url, fetch_timeout=2.0)
        await seed.add_followers(url, setup.handle, up_inboxes + down_inboxes)
        settings = Settings(
            domain=setup.domain,
            data_dir=tmp / "node",
            database_url=url,
            scheme="http",
            allow_private_addresses=True,
            fetch_timeout=2.0,
        )
        node = Node(settings=settings, db=open_database(url), urls=Urls(settings.base_url))
        clock = Clock()
        worker = DeliveryWorker(node, clock=clock)
        hanging = await _hanging(down_port)
        try:
            async with client_session(node):
                async with node.db.session() as session:
                    sender = await actor_queries.local_actor(session, setup.handle)
                assert sender is not None

                async def enqueue(inboxes: list[str], text: str) -> None:
                    activity = {
                        "id": node.urls.new_activity_id(),
                        "type": "Create",
                        "actor": sender.ap_id,
                        "to": ["https://www.w3.org/ns/activitystreams#Public"],
                        "object": {
                            "id": node.urls.new_object_id("projects"),
                            "type": "Note",
                            "content": text,
                        },
                    }
                    async with node.db.transaction() as session:
                        await outbox.enqueue(session, node, sender, activity, inboxes, public=True)

                async def round_(inboxes: list[str], text: str) -> float:
                    """Seconds until the 99 healthy peers have it."""
                    await enqueue(inboxes, text)
                    expected = len(up_inboxes)
                    sinks.child.send(
                        f'{{"cmd": "expect", "count": {expected}, "timeout": 120, '
                        '"distinct": true}'
                    )
                    began = time.monotonic()
                    runner = asyncio.create_task(_run_until_idle(worker))
                    seen = await sinks.result(within=150)
                    took = seen["last"] - began
                    await runner
                    assert seen["distinct"] == expected, seen
                    return took

                # Interleaved, the better of two each: the machine is shared.
                healthy = with_down = float("inf")
                for attempt in range(2):
                    healthy = min(healthy, await round_(up_inboxes, f"all healthy {attempt}"))
                    with_down = min(
                        with_down, await round_(up_inboxes + down_inboxes, f"1 hangs {attempt}")
                    )
                figure(
                    "down_others_seconds",
                    f"{with_down:.2f} vs {healthy:.2f}",
                    f"time for the 99 healthy peers ({len(up_inboxes)} inboxes) with one peer "
                    f"hanging vs with none: ratio {with_down / healthy:.2f}",
                )

                # Days pass; three more activities are published meanwhile.
                published_during = 0
                for step in range(16):  # 16 steps of 6 h: 4 days
                    clock.advance(hours=6)
                    if step in (2, 6, 12):
                        took = await round_(up_inboxes + down_inboxes, f"day {step / 4:.1f}")
                        published_during += 1
                        common.say(
                            f"published on day {step / 4:.1f}: healthy peers in {took:.2f} s"
                        )
                    await _run_until_idle(worker)
                async with node.db.session() as session:
                    peer = await session.get(Peer, f"127.0.0.1:{down_port}")
                    held = list(
                        await session.execute(
                            select(Delivery.state, func.count(), func.max(Delivery.attempts))
                            .where(Delivery.domain == f"127.0.0.1:{down_port}")
                            .group_by(Delivery.state)
                        )
                    )
                assert peer is not None
                unavailable_after = (
                    (peer.unavailable_since - peer.failing_since)
                    if peer.unavailable_since and peer.failing_since
                    else None
                )
                figure(
                    "down_held",
                    {state: count for state, count, _ in held},
                    f"after 4 days: unavailable after {unavailable_after} of failures; "
                    f"most attempts charged to one row {max(a for _, _, a in held)} "
                    f"(of {settings.delivery_max_attempts})",
                )

                hanging.close()
                await hanging.wait_closed()
                received: list[str] = []
                back = await _answering(down_port, received)
                try:
                    clock.advance(hours=1)
                    answered = await Prober(node, clock).probe(clock())
                    began = time.monotonic()
                    await _run_until_idle(worker)
                    took = time.monotonic() - began
                finally:
                    await back.cleanup()
                queue = len(down_inboxes) * (2 + published_during)
                figure(
                    "down_delivered_when_back",
                    f"{len(set(received))}/{queue}",
                    f"probe answered: {answered}; delivered in {took:.2f} s, "
                    f"{len(received) - len(set(received))} duplicates",
                )
        finally:
            hanging.close()
            await node.db.dispose()


async def _run_until_idle(worker: Any, within: float = 120) -> None:
    """Run the worker until nothing it may lease is due (rows handed back wait 2 s)."""
    from sqlalchemy import func, or_, select

    from cityfed.models.queue import DUE_STATES
    from cityfed.models.tables import Delivery, Peer

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await worker.run_once():
            continue
        now = worker.clock()
        held = select(Peer.domain).where(
            or_(Peer.circuit_open_until > now, Peer.unavailable_since.is_not(None))
        )
        async with worker.node.db.session() as session:
            soon = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(
                    Delivery.state.in_(DUE_STATES),
                    Delivery.next_attempt_at <= now + timedelta(seconds=5),
                    Delivery.domain.not_in(held),
                )
            )
        if not soon:
            return
        await asyncio.sleep(0.5)


# -- (d) the findings, replayed ---------------------------------------------------------


async def finding_5() -> None:
    """A personal inbox answering 404 once used to end 1,600 follows in one publish."""
    from sqlalchemy import func, select

    from cityfed.config import Settings
    from cityfed.federation import outbox
    from cityfed.federation.delivery import DeliveryWorker
    from cityfed.federation.runtime import client_session
    from cityfed.models import actors as actor_queries
    from cityfed.models import follows as follow_queries
    from cityfed.models.db import open_database
    from cityfed.models.tables import Follow
    from cityfed.node import Node
    from cityfed.urls import Urls

    followers = common.scaled(1600, 100)
    with common.workdir("soak-f5") as tmp:
        # 40 hosts (GoToSocial-like: personal inboxes only) on one loopback server, so that a
        # publish is not paced by the per-host share alone.
        ports = [common.free_port() for _ in range(40)]
        inboxes = [
            f"http://127.0.0.1:{ports[i % len(ports)]}/users/u{i}/inbox" for i in range(followers)
        ]
        url = f"sqlite+aiosqlite:///{tmp / 'f5.db'}"
        setup = await common.create_node(tmp / "node", url)
        await seed.add_followers(url, setup.handle, inboxes)
        settings = Settings(
            domain=setup.domain,
            data_dir=tmp / "node",
            database_url=url,
            scheme="http",
            allow_private_addresses=True,
        )
        node = Node(settings=settings, db=open_database(url), urls=Urls(settings.base_url))
        clock = Clock()
        worker = DeliveryWorker(node, clock=clock)
        status = {"value": 404}

        async def answer(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(status=status["value"])

        app = web.Application()
        app.router.add_post("/{tail:.*}", answer)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        for port in ports:
            await web.TCPSite(runner, "127.0.0.1", port).start()

        async def follows() -> int:
            async with node.db.session() as session:
                return await session.scalar(select(func.count()).select_from(Follow)) or 0

        try:
            async with client_session(node):
                async with node.db.session() as session:
                    sender = await actor_queries.local_actor(session, setup.handle)
                    targets = await follow_queries.follower_inboxes(session, sender.id)

                async def publish_once() -> None:
                    activity = {
                        "id": node.urls.new_activity_id(),
                        "type": "Create",
                        "actor": sender.ap_id,
                        "object": {"id": node.urls.new_object_id("projects"), "type": "Note"},
                    }
                    async with node.db.transaction() as session:
                        await outbox.enqueue(session, node, sender, activity, targets, public=True)
                    await _run_until_idle(worker)

                before = await follows()
                await publish_once()
                after_404 = await follows()
                status["value"] = 410
                await publish_once()
                after_410 = await follows()
                clock.advance(days=8)
                await publish_once()
                after_days = await follows()
        finally:
            await runner.cleanup()
            await node.db.dispose()
        figure(
            "finding5_follows",
            f"{before} -> {after_404} after one 404 -> {after_410} after one 410 -> "
            f"{after_days} after 410s spanning 8 days",
            "before the fix one 404 left 0",
        )


async def finding_8() -> None:
    """987 signed 1 MiB bodies from one sender were all accepted in 20 s (DB 1 GB, RSS +600 MiB)."""
    from cityfed.activitypub import cavage
    from cityfed.keys.generate import load_private_pem

    count = common.scaled(987, 100)
    with common.workdir("soak-f8") as tmp, common.children() as kids:
        [sender] = make_senders(1)
        url = f"sqlite+aiosqlite:///{tmp / 'f8.db'}"
        setup = await common.create_node(tmp / "node", url, domain=DOMAIN)
        await _seed_senders(url, [sender])
        server = common.serve(setup, tmp, "f8", core_set=None, workers=True)
        kids.append(server)
        await common.wait_port(setup.port, server)
        await asyncio.sleep(2)
        rss_before = server.rss_kib()
        key = load_private_pem(sender.private_pem)
        recipient = f"http://{DOMAIN}/actors/city"
        statuses: dict[int, int] = {}
        peak = rss_before
        slots = asyncio.Semaphore(8)

        async def one(http: aiohttp.ClientSession, serial: int) -> None:
            nonlocal peak
            body = _padded(sender, serial, recipient)
            headers = cavage.sign_request(
                "POST",
                f"http://{DOMAIN}/inbox",
                key,  # type: ignore[arg-type]
                sender.key_id,
                body=body,
                headers={"Content-Type": "application/activity+json"},
            )
            async with (
                slots,
                http.post(
                    f"http://127.0.0.1:{setup.port}/inbox",
                    data=body,
                    headers={**headers, "Host": DOMAIN},
                ) as resp,
            ):
                await resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
            peak = max(peak, server.rss_kib())

        began = time.monotonic()
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(one(http, serial) for serial in range(count)))
        took = time.monotonic() - began
        rss_burst = peak
        await _drain(url, 120)
        await asyncio.sleep(35)  # the housekeeper hands memory back every 30 s
        rss_after = server.rss_kib()
        db_bytes = sum(p.stat().st_size for p in tmp.glob("f8.db*"))
        figure(
            "finding8_accepted",
            f"{statuses.get(202, 0)}/{count}",
            f"statuses {statuses} in {took:.0f} s; before the fix {count}/{count}",
        )
        figure("finding8_db_mib", f"{db_bytes / 2**20:.0f}", "before the fix ~1 GB")
        figure(
            "finding8_rss_mib",
            f"{rss_before / 1024:.0f} -> {rss_burst / 1024:.0f} -> {rss_after / 1024:.0f}",
            "before / peak in the burst / 35 s after processing; before the fix 125 -> 726, stayed",
        )


def _padded(sender: Sender, serial: int, recipient: str, size: int = 1024 * 1024 - 4096) -> bytes:
    """A Create{Note} of just under 1 MiB (the inbox's limit)."""
    import orjson

    note = orjson.loads(create_note(sender, serial, recipient))
    note["object"]["content"] += "<p>" + "x" * (size - 3000) + "</p>"
    return orjson.dumps(note)


# Issue 14's findings: each replay prints its figures (5, 8) or returns them as one line.
FINDINGS: dict[int, tuple[str, Callable[[], Awaitable[str | None]]]] = {
    1: ("one sender stalls everyone", soak_findings.finding_1),
    2: ("documents arriving in pieces", soak_findings.finding_2),
    3: ("parallel login guesses", soak_findings.finding_3),
    4: ("a passing 5xx loses activities", soak_findings.finding_4),
    5: ("one 404 deletes follows", finding_5),
    6: ("javascript: URLs", soak_findings.finding_6),
    7: ("key fetches exhaust the pool", soak_findings.finding_7),
    8: ("storage and memory without bound", finding_8),
    9: ("domain normalisation", soak_findings.finding_9),
    10: ("IPv6 forms embedding IPv4", soak_findings.finding_10),
    11: ("password change keeps sessions", soak_findings.finding_11),
    12: ("slow clients", soak_findings.finding_12),
}


async def findings() -> None:
    # CITYFED_SOAK_FINDINGS="1 6 9" replays only those.
    only = os.environ.get("CITYFED_SOAK_FINDINGS", "").replace(",", " ").split()
    for number, (title, replay) in FINDINGS.items():
        if only and str(number) not in only:
            continue
        common.say(f"finding {number}: {title}")
        line = await replay()
        if line is not None:
            figure(f"finding{number}", line)


PARTS: dict[str, Callable[[argparse.Namespace], Awaitable[None]]] = {
    "steady": lambda args: steady(args.minutes),
    "kill": lambda args: killed_worker(),
    "down": lambda args: one_peer_down(),
    "findings": lambda args: findings(),
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("parts", nargs="*", help=f"any of {', '.join(PARTS)} (default: all)")
    parser.add_argument(
        "--minutes",
        type=float,
        default=float(os.environ.get("CITYFED_SOAK_MINUTES", "10")),
        help="length of the steady part (default 10, or CITYFED_SOAK_MINUTES)",
    )
    args = parser.parse_args(argv)
    # The in-process parts run cityfed's worker here: its per-delivery lines would drown the
    # figures (the subprocess nodes log to their own files).
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("cityfed").setLevel(logging.ERROR)
    wanted = args.parts or list(PARTS)
    unknown = [name for name in wanted if name not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {unknown}; choose from {list(PARTS)}")
    print(
        f"cityfed soak: {', '.join(wanted)}; steady {args.minutes:g} min, scale {common.scale()}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    failed = []
    started = time.monotonic()
    for name in wanted:
        print(f"== {name}", flush=True)
        began = time.monotonic()
        try:
            asyncio.run(PARTS[name](args))
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"   ({name}: {time.monotonic() - began:.0f} s)", flush=True)
    print(f"== summary ({time.monotonic() - started:.0f} s)", flush=True)
    for line in RESULTS:
        print(line)
    if failed:
        print(f"failed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
