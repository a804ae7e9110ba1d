"""Scale-out on PostgreSQL (§9): several ``cityfed worker`` processes share one delivery queue.

Real ``cityfed worker`` subprocesses lease from a fresh PostgreSQL database (``FOR UPDATE SKIP
LOCKED``) and deliver one activity to 5,000 inboxes on 250 loopback "hosts" (distinct ports,
so each is its own domain and the per-host limit applies per port). The sinks here count what
arrives by (activity id, inbox). Nothing failing, every delivery arrives exactly once; with one
worker killed by SIGKILL mid-run, every delivery still arrives (its leased rows come back when
the lease expires and another worker sends them): at least once, never lost.

PostgreSQL only: set CITYFED_TEST_DATABASE_URL to a PostgreSQL URL (``make test`` alone runs on
SQLite, where this is skipped).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from sqlalchemy import func, select

from cityfed.actions import setup
from cityfed.config import Settings, write_settings
from cityfed.federation import outbox
from cityfed.models import actors as actor_queries
from cityfed.models import migrate
from cityfed.models.db import Database, open_database
from cityfed.models.tables import Delivery
from cityfed.node import Node
from cityfed.urls import Urls
from tests import rig
from tests.rig import database_url, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("CITYFED_TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="scale-out needs PostgreSQL: set CITYFED_TEST_DATABASE_URL to a PostgreSQL URL",
    ),
]

HOSTS = 250
INBOXES = 5_000
WORKERS = 3
# Short enough that a dead worker's lease (10 waves x fetch_timeout + 30.5 s) expires within the
# test; loopback sinks answer in milliseconds, so no request comes near it.
FETCH_TIMEOUT = 2.0
DELIVERED = re.compile(r": delivered to (\d+) inbox\(es\)")


@dataclass
class Sinks:
    """Inboxes on many ports; counts every POST by (activity id, inbox URL)."""

    ports: list[int] = field(default_factory=list)
    received: Counter[tuple[str, str]] = field(default_factory=Counter)
    watch: tuple[int, asyncio.Event] | None = None  # set the event once this many arrived

    async def reached(self, count: int, within: float) -> None:
        event = asyncio.Event()
        self.watch = (count, event)
        if len(self.received) >= count:
            event.set()
        await asyncio.wait_for(event.wait(), within)

    def inboxes(self) -> list[str]:
        per_host = INBOXES // len(self.ports)
        return [
            f"http://127.0.0.1:{self.ports[i // per_host]}/users/u{i}/inbox" for i in range(INBOXES)
        ]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        activity_id = orjson.loads(body)["id"]
        self.received[(activity_id, f"http://{request.host}{request.path}")] += 1
        if self.watch is not None and len(self.received) >= self.watch[0]:
            self.watch[1].set()
        return web.Response(status=202)


@asynccontextmanager
async def sinks() -> AsyncIterator[Sinks]:
    state = Sinks()
    app = web.Application()
    app.router.add_post("/users/{name}/inbox", state.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        for _ in range(HOSTS):
            port = free_port()
            await web.TCPSite(runner, "127.0.0.1", port, backlog=128).start()
            state.ports.append(port)
        yield state
    finally:
        await runner.cleanup()


@asynccontextmanager
async def node_with_queue(tmp_path: Path, inboxes: list[str]) -> AsyncIterator[tuple[Path, str]]:
    """A fresh PostgreSQL node whose city has one Create queued for every inbox."""
    port = free_port()
    async with database_url(tmp_path, "scaleout", reuse=False) as db_url:
        settings = Settings(
            domain=f"127.0.0.1:{port}",
            data_dir=tmp_path,
            database_url=db_url,
            scheme="http",
            listen_port=port,
            allow_private_addresses=True,
            fetch_timeout=FETCH_TIMEOUT,
            log_level="INFO",
        )
        config = tmp_path / "cityfed.toml"
        write_settings(settings, config)
        urls = Urls(settings.base_url)
        db = open_database(db_url)
        try:
            await migrate.upgrade(db)
            async with db.transaction() as session:
                await setup.ensure_instance_actor(session, urls, settings.hostname, settings.domain)
                await setup.create_local_actor(
                    session, urls, settings.domain, "city", "City", keys=rig.test_keys()
                )
            node = Node(settings=settings, db=db, urls=urls)
            async with db.transaction() as session:
                city = await actor_queries.local_actor(session, "city")
                assert city is not None
                activity_id = urls.new_activity_id()
                note = f"{settings.base_url}/comments/scaleout"
                activity = {
                    "id": activity_id,
                    "type": "Create",
                    "actor": city.ap_id,
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    "object": {"id": note, "type": "Note", "content": "<p>hello</p>"},
                }
                await outbox.enqueue(session, node, city, activity, inboxes, public=True)
        finally:
            await db.dispose()
        yield config, db_url


@contextmanager
def workers(config: Path, logs: Path, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = []
    try:
        for index in range(count):
            log = (logs / f"worker{index}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cityfed.cli", "worker", "--config", str(config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ},
                )
            )
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


async def states(db: Database) -> dict[str, int]:
    async with db.session() as session:
        rows = await session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        return {state: count for state, count in rows}


async def wait_until_done(db: Database, sink: Sinks, within: float) -> dict[str, int]:
    """Until every inbox got the activity and every row is recorded ``done``."""
    deadline = time.monotonic() + within
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = await states(db)
        if len(sink.received) >= INBOXES and counts.get("done") == INBOXES:
            return counts
        await asyncio.sleep(0.25)
    raise AssertionError(
        f"not delivered within {within:.0f} s: {len(sink.received)} of {INBOXES} inboxes "
        f"reached, rows {counts}"
    )


def delivered_by(logs: Path, index: int) -> int:
    """The sum of a worker's summary lines ("activity N (...): delivered to M inbox(es), ...")."""
    text = (logs / f"worker{index}.log").read_text(errors="replace")
    return sum(int(count) for count in DELIVERED.findall(text))


async def test_three_workers_deliver_each_exactly_once(tmp_path: Path) -> None:
    async with sinks() as sink, node_with_queue(tmp_path, sink.inboxes()) as (config, db_url):
        db = open_database(db_url)
        try:
            with workers(config, tmp_path, WORKERS) as procs:
                counts = await wait_until_done(db, sink, within=45)
                assert all(proc.poll() is None for proc in procs), "a worker died"
        finally:
            await db.dispose()
    assert counts == {"done": INBOXES}
    activity_ids = {activity_id for activity_id, _ in sink.received}
    assert len(activity_ids) == 1
    activity_id = activity_ids.pop()
    assert set(sink.received) == {(activity_id, inbox) for inbox in sink.inboxes()}
    assert max(sink.received.values()) == 1, "some inbox got the activity twice"
    shares = [delivered_by(tmp_path, index) for index in range(WORKERS)]
    print(f"exactly once: {INBOXES} deliveries, shares per worker {shares}")  # shown with -s
    assert sum(shares) == INBOXES
    assert sum(1 for share in shares if share) >= 2, f"the workers did not share: {shares}"


async def test_a_killed_worker_loses_nothing(tmp_path: Path) -> None:
    async with sinks() as sink, node_with_queue(tmp_path, sink.inboxes()) as (config, db_url):
        db = open_database(db_url)
        try:
            with workers(config, tmp_path, WORKERS) as procs:
                await sink.reached(INBOXES // 4, within=30)
                assert len(sink.received) < INBOXES, "delivered before the kill: nothing tested"
                procs[0].send_signal(signal.SIGKILL)  # mid-batch: its leased rows stay leased
                procs[0].wait(5)
                counts = await wait_until_done(db, sink, within=75)
            async with db.session() as session:
                retried = await session.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.attempts > 1)
                )
        finally:
            await db.dispose()
    assert counts == {"done": INBOXES}
    activity_id = next(iter(sink.received))[0]
    assert set(sink.received) == {(activity_id, inbox) for inbox in sink.inboxes()}
    # The killed worker held a lease: those rows were leased again after it expired (and any
    # of them it had already sent arrive twice, which receivers dedupe by activity id).
    assert retried, "no row was leased twice: the kill did not interrupt a batch"
    duplicates = sum(count - 1 for count in sink.received.values())
    print(f"killed worker: {retried} rows leased again, {duplicates} sent twice")  # with -s
    assert duplicates <= retried
