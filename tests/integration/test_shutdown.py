"""Clean shutdown: on SIGTERM the workers hand back what they leased and did not finish.

Real ``cityfed serve`` and ``cityfed worker`` processes on loopback, stopped with SIGTERM while
their work hangs on a remote server of the test (an object to fetch for an inbox item, an inbox
to deliver to). With a grace period of one second they cannot finish, so they must hand their
leases back: right after the exit no row is still leased and no attempt was charged, and a
restarted process handles every row at once. Without the hand-back the rows would stay locked
until their lease expires (2 minutes for inbox items; 10 minutes for these deliveries), well
beyond the time the test waits. With a long grace period, the item in hand is finished when its
object comes during the grace period and the worker exits at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from aiohttp import ClientSession, web
from sqlalchemy import func, select

from cityfed.actions import setup
from cityfed.activitypub import cavage
from cityfed.config import Settings, write_settings
from cityfed.federation import outbox
from cityfed.keys.generate import load_private_pem
from cityfed.models import actors as actor_queries
from cityfed.models import migrate
from cityfed.models.db import Database, open_database
from cityfed.models.tables import Delivery, InboxItem
from cityfed.node import Node
from cityfed.urls import Urls
from tests import rig
from tests.rig import database_url, free_port

pytestmark = pytest.mark.slow

ITEMS = 12
# No request of the test may time out by itself: what hangs, hangs until the test lets it go.
FETCH_TIMEOUT = 120.0
AP = "application/activity+json"
# Bounds, not timings: a process that starts on a saturated CI machine may take this long.
START_WITHIN = 90.0


@dataclass
class Remote:
    """A remote city on loopback: its actor answers at once, objects and inbox hang until
    ``opened`` is set. Counts what was asked of it."""

    port: int = 0
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    asked: asyncio.Event = field(default_factory=asyncio.Event)
    object_gets: int = 0
    inbox_posts: int = 0
    keys: tuple = field(default_factory=rig.test_keys)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def actor_id(self) -> str:
        return f"{self.base}/actors/sender"

    async def actor(self, _request: web.Request) -> web.Response:
        document = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor_id,
            "type": "Organization",
            "preferredUsername": "sender",
            "inbox": f"{self.actor_id}/inbox",
            "outbox": f"{self.actor_id}/outbox",
            "publicKey": {
                "id": f"{self.actor_id}#main-key",
                "owner": self.actor_id,
                "publicKeyPem": self.keys[0].public_pem,
            },
        }
        return web.Response(body=orjson.dumps(document), content_type=AP)

    async def object(self, request: web.Request) -> web.Response:
        self.object_gets += 1
        self.asked.set()
        await self.opened.wait()
        note = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{self.base}{request.path}",
            "type": "Note",
            "attributedTo": self.actor_id,
            "content": "<p>hello</p>",
        }
        return web.Response(body=orjson.dumps(note), content_type=AP)

    async def inbox(self, _request: web.Request) -> web.Response:
        self.inbox_posts += 1
        self.asked.set()
        await self.opened.wait()
        return web.Response(status=202)

    def signed_create(self, node_base: str, serial: int) -> tuple[bytes, dict[str, str]]:
        """A Create naming its object by id only, so the worker fetches it (and hangs)."""
        body = orjson.dumps(
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{self.base}/activities/{serial}",
                "type": "Create",
                "actor": self.actor_id,
                "object": f"{self.base}/objects/{serial}",
            }
        )
        headers = {"Content-Type": AP}
        headers |= cavage.sign_request(
            "POST",
            f"{node_base}/inbox",
            load_private_pem(self.keys[0].private_pem),
            f"{self.actor_id}#main-key",
            body=body,
            headers=headers,
        )
        return body, headers


@asynccontextmanager
async def remote() -> AsyncIterator[Remote]:
    state = Remote(port=free_port())
    app = web.Application()
    app.router.add_get("/actors/sender", state.actor)
    app.router.add_get("/objects/{serial}", state.object)
    app.router.add_post("/users/{name}/inbox", state.inbox)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", state.port).start()
    try:
        yield state
    finally:
        state.opened.set()
        await runner.cleanup()


@asynccontextmanager
async def node_config(
    tmp_path: Path, grace: float = 1.0
) -> AsyncIterator[tuple[Path, Settings, Database]]:
    """A node's config and database, and an open handle on that database for the test."""
    port = free_port()
    async with database_url(tmp_path, "shutdown", reuse=False) as db_url:
        settings = Settings(
            domain=f"127.0.0.1:{port}",
            data_dir=tmp_path,
            database_url=db_url,
            scheme="http",
            listen_port=port,
            allow_private_addresses=True,
            fetch_timeout=FETCH_TIMEOUT,
            shutdown_grace=grace,
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
            yield config, settings, db
        finally:
            await db.dispose()


@contextmanager
def cityfed(*args: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``cityfed ARGS`` as a subprocess, stopped (SIGTERM, then SIGKILL) if the test leaves it."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cityfed.cli", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ},
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def terminate(proc: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM and wait for the exit (grace period plus start-up of the shutdown)."""
    proc.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(proc.wait, 60)
    assert code == 0, tail(log)


async def rows(db: Database, table: type) -> list[tuple[str, int, object]]:
    async with db.session() as session:
        result = await session.execute(
            select(table.state, table.attempts, table.locked_until).order_by(table.id)
        )
        return [tuple(row) for row in result]


async def until_all_done(db: Database, table: type, count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with db.session() as session:
            done = await session.scalar(
                select(func.count()).select_from(table).where(table.state == "done")
            )
        if done == count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not all {count} done within {within:.0f} s: {await rows(db, table)}")


async def until_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_WITHIN
    while time.monotonic() < deadline:
        assert proc.poll() is None, tail(log)
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise AssertionError("cityfed serve did not listen")


async def test_inbox_items_leased_at_sigterm_are_processed_right_after_a_restart(
    tmp_path: Path,
) -> None:
    log = tmp_path / "serve.log"
    async with remote() as origin, node_config(tmp_path) as (config, settings, db):
        serve = ("serve", "--config", str(config))
        with cityfed(*serve, log=log) as proc:
            await until_listening(settings.listen_port, proc, log)
            async with ClientSession() as http:
                for serial in range(ITEMS):
                    body, headers = origin.signed_create(settings.base_url, serial)
                    async with http.post(
                        f"{settings.base_url}/inbox", data=body, headers=headers
                    ) as resp:
                        assert resp.status == 202, await resp.text()
                    if serial == 0:
                        # The worker leases what is due and hangs fetching an object; the
                        # rest of the load arrives meanwhile.
                        await asyncio.wait_for(origin.asked.wait(), START_WITHIN)
            leased = await rows(db, InboxItem)
            assert any(locked is not None for _, _, locked in leased), leased
            await terminate(proc, log)
        after = await rows(db, InboxItem)
        # Every item handed back: due now, not locked for the rest of a 2-minute lease, and
        # the interrupted attempt not charged.
        assert after == [("pending", 0, None)] * ITEMS, after
        assert "handed back" in tail(log)
        origin.opened.set()
        with cityfed(*serve, log=log) as proc:
            await until_all_done(db, InboxItem, ITEMS, within=60)
        assert origin.object_gets >= ITEMS


async def test_the_item_in_hand_is_finished_within_the_grace_period(tmp_path: Path) -> None:
    """``serve --no-worker`` takes the load, a ``cityfed worker`` leases it all and gets SIGTERM
    while the first item waits for its object: once the object comes (within the grace period)
    that item is applied, the leased items not started are handed back, and the worker exits
    without waiting out the grace period."""
    log = tmp_path / "node.log"
    async with remote() as origin, node_config(tmp_path, grace=120.0) as (config, settings, db):
        web_args = ("serve", "--config", str(config), "--no-worker")
        with cityfed(*web_args, log=log) as web_proc:
            await until_listening(settings.listen_port, web_proc, log)
            async with ClientSession() as http:
                for serial in range(3):
                    body, headers = origin.signed_create(settings.base_url, serial)
                    async with http.post(
                        f"{settings.base_url}/inbox", data=body, headers=headers
                    ) as resp:
                        assert resp.status == 202, await resp.text()
        with cityfed("worker", "--config", str(config), log=log) as proc:
            await asyncio.wait_for(origin.asked.wait(), START_WITHIN)
            leased = await rows(db, InboxItem)
            assert all(locked is not None for _, _, locked in leased), leased
            proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 30
            while "stopping the workers" not in tail(log):
                assert time.monotonic() < deadline, tail(log)
                await asyncio.sleep(0.05)
            origin.opened.set()  # the object arrives during the grace period
            code = await asyncio.to_thread(proc.wait, 60)  # far less than the grace period
            assert code == 0, tail(log)
        after = await rows(db, InboxItem)
        assert after[0][0] == "done", after
        assert after[1:] == [("pending", 0, None)] * 2, after
        assert origin.object_gets == 1


async def test_deliveries_leased_at_sigterm_are_sent_right_after_a_restart(
    tmp_path: Path,
) -> None:
    log = tmp_path / "worker.log"
    async with remote() as target, node_config(tmp_path) as (config, settings, db):
        inboxes = [f"{target.base}/users/u{index}/inbox" for index in range(ITEMS)]
        node = Node(settings=settings, db=db, urls=Urls(settings.base_url))
        async with db.transaction() as session:
            city = await actor_queries.local_actor(session, "city")
            assert city is not None
            activity = {
                "id": node.urls.new_activity_id(),
                "type": "Create",
                "actor": city.ap_id,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "object": {
                    "id": f"{settings.base_url}/comments/1",
                    "type": "Note",
                    "content": "<p>hello</p>",
                },
            }
            await outbox.enqueue(session, node, city, activity, inboxes, public=True)
        worker = ("worker", "--config", str(config))
        with cityfed(*worker, log=log) as proc:
            # The worker has leased the rows (two waves of the per-host limit: the rest it
            # handed back at once) and its requests hang at the target.
            await asyncio.wait_for(target.asked.wait(), START_WITHIN)
            assert any(locked is not None for _, _, locked in await rows(db, Delivery))
            await terminate(proc, log)
        after = await rows(db, Delivery)
        assert after == [("pending", 0, None)] * ITEMS, after
        target.opened.set()
        with cityfed(*worker, log=log) as proc:
            await until_all_done(db, Delivery, ITEMS, within=60)
