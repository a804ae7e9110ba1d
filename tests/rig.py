"""The test rig: real nodes, each an aiohttp server on a loopback port with its own database.

SQLite by default; with CITYFED_TEST_DATABASE_URL pointing at PostgreSQL every node gets a fresh
database of its own on that server, dropped afterwards.
"""

from __future__ import annotations

import atexit
import itertools
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.engine import make_url

from cityfed.actions import setup
from cityfed.app import create_app
from cityfed.appkeys import NODE
from cityfed.config import Settings
from cityfed.keys.generate import KeyPairPem, generate_ed25519, generate_rsa
from cityfed.models import migrate
from cityfed.models.db import open_database
from cityfed.models.tokens import create_token
from cityfed.node import Node
from cityfed.urls import Urls

AP_ACCEPT = "application/activity+json"

_KEY_POOL: list[tuple[KeyPairPem, KeyPairPem]] = []
_key_cycle = itertools.count()


def test_keys() -> tuple[KeyPairPem, KeyPairPem]:
    """Distinct key pairs for the nodes of one test, generated once per session and reused, so
    a test never passes because two nodes happen to share a key."""
    index = next(_key_cycle) % 16
    while len(_KEY_POOL) <= index:
        _KEY_POOL.append((generate_rsa(), generate_ed25519()))
    return _KEY_POOL[index]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# PostgreSQL databases this test process created and migrated, emptied and ready for reuse:
# CREATE DATABASE + migrations cost ~0.6 s a node, TRUNCATE ~30 ms.
_PG_POOL: list[str] = []


def _drop_pool(dsn: str) -> None:
    import asyncio

    import asyncpg

    async def drop() -> None:
        admin = await asyncpg.connect(dsn)
        try:
            for dbname in _PG_POOL:
                await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())


async def _empty(url: str) -> bool:
    """Empty every table but Alembic's; False if the database cannot be reused."""
    import asyncpg

    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [row["tablename"] for row in rows if row["tablename"] != "alembic_version"]
        if tables:
            names = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        return True
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()


@asynccontextmanager
async def database_url(tmp_path: Path, name: str, *, reuse: bool = True) -> AsyncIterator[str]:
    """A database for one node: a fresh SQLite file, or on PostgreSQL a database of its own
    (``reuse``: an emptied, already migrated one from this process's pool when there is one)."""
    base = os.environ.get("CITYFED_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite+aiosqlite:///{tmp_path / (name + '.db')}"
        return
    import asyncpg

    url = make_url(base)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    if reuse and _PG_POOL:
        dbname = _PG_POOL.pop()
    else:
        dbname = f"cf_{name}_{uuid.uuid4().hex[:10]}".lower()
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{dbname}"')
        finally:
            await admin.close()
    node_url = url.set(database=dbname)
    try:
        yield node_url.render_as_string(hide_password=False)
    finally:
        plain = node_url.set(drivername="postgresql").render_as_string(hide_password=False)
        if reuse and await _empty(plain):
            if not _PG_POOL and not getattr(_drop_pool, "registered", False):
                atexit.register(_drop_pool, dsn)
                _drop_pool.registered = True  # type: ignore[attr-defined]
            _PG_POOL.append(dbname)
        else:
            admin = await asyncpg.connect(dsn)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            finally:
                await admin.close()


@dataclass
class TestNode:
    """One node (settings + database) that can be started, stopped and restarted on its port,
    plus a client for poking it from outside."""

    __test__ = False  # a helper, not a test class

    name: str
    settings: Settings
    admin_token: str
    editor_token: str
    handle: str
    http: aiohttp.ClientSession
    workers: bool = False
    access_log: list[tuple[str, str]] = field(default_factory=list)
    app: web.Application | None = None
    runner: web.AppRunner | None = None

    @property
    def node(self) -> Node:
        assert self.app is not None, f"{self.name} is not running"
        return self.app[NODE]

    @property
    def port(self) -> int:
        return self.settings.listen_port

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def actor_id(self) -> str:
        return Urls(self.base).actor(self.handle)

    @property
    def account(self) -> str:
        return f"{self.handle}@{self.domain}"

    async def start(self) -> None:
        app = create_app(self.settings, workers=self.workers)
        log = self.access_log

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            log.append((request.method, request.path_qs))
            return await handler(request)

        app.middlewares.insert(0, record)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self.app, self.runner = app, runner

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        self.app = self.runner = None

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def request(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.url(path), headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    async def get_json(
        self, path: str, *, accept: str = AP_ACCEPT, status: int = 200, **kwargs: Any
    ) -> Any:
        async with self.get(path, headers={"Accept": accept}, **kwargs) as resp:
            body = await resp.read()
            assert resp.status == status, (resp.status, body[:500])
            return await resp.json(content_type=None)

    async def api(
        self,
        method: str,
        path: str,
        *,
        status: int | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call the REST API with the admin token (or ``token``); check ``status`` if given."""
        async with self.request(
            method, "/api/cityfed/v1" + path, token=token or self.admin_token, **kwargs
        ) as resp:
            body = await resp.read()
            if status is not None:
                assert resp.status == status, (resp.status, body[:500])
            return await resp.json(content_type=None) if body else None

    async def run_workers_once(self) -> int:
        """One pass of this node's inbox and delivery workers; how many items they took."""
        from cityfed.federation.delivery import DeliveryWorker
        from cityfed.federation.inbox_worker import InboxWorker

        node = self.node
        return await InboxWorker(node).run_once() + await DeliveryWorker(node).run_once()


async def settle(*nodes: TestNode, rounds: int = 50) -> None:
    """Run every node's workers until none of them has anything due."""
    for _ in range(rounds):
        busy = 0
        for test_node in nodes:
            if test_node.app is not None:
                busy += await test_node.run_workers_once()
        if not busy:
            return
    raise AssertionError("the nodes did not settle")


@asynccontextmanager
async def running_node(
    tmp_path: Path,
    name: str,
    *,
    handle: str | None = None,
    workers: bool = False,
    manually_approves: bool = False,
    **overrides: Any,
) -> AsyncIterator[TestNode]:
    """Set up and serve one node; ``workers=False`` leaves queues to explicit ``run_once`` calls."""
    port = free_port()
    handle = handle or name
    async with database_url(tmp_path, name) as db_url:
        data_dir = tmp_path / name
        data_dir.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            domain=f"127.0.0.1:{port}",
            data_dir=data_dir,
            database_url=db_url,
            scheme="http",
            listen_port=port,
            **{"allow_private_addresses": True, **overrides},
        )
        urls = Urls(settings.base_url)
        db = open_database(db_url)
        try:
            await migrate.upgrade(db)
            async with db.transaction() as session:
                await setup.ensure_instance_actor(session, urls, settings.hostname, settings.domain)
                await setup.create_local_actor(
                    session,
                    urls,
                    settings.domain,
                    handle,
                    f"City of {name.title()}",
                    manually_approves_followers=manually_approves,
                    keys=test_keys(),
                )
                admin = await create_token(session, "test admin", "admin")
                editor = await create_token(session, "test editor", "editor")
        finally:
            await db.dispose()
        async with aiohttp.ClientSession() as http:
            test_node = TestNode(name, settings, admin, editor, handle, http, workers)
            await test_node.start()
            try:
                yield test_node
            finally:
                await test_node.stop()


async def local_actor_row(test_node: TestNode) -> Any:
    from cityfed.models import actors as actor_queries

    async with test_node.node.db.session() as session:
        return await actor_queries.local_actor(session, test_node.handle)


async def signed_post(
    sender: TestNode,
    target: TestNode,
    path: str,
    body: bytes | dict,
    *,
    headers: dict[str, str] | None = None,
    now: Any = None,
    key_id: str | None = None,
    key: Any = None,
) -> tuple[int, Any]:
    """POST ``body`` to ``target`` signed (draft-cavage) as ``sender``'s city actor."""
    import orjson

    from cityfed.activitypub import cavage

    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    actor = await local_actor_row(sender)
    signing = await sender.node.signing_key(actor.id)
    url = target.url(path)
    base = {"Content-Type": "application/activity+json"}
    signed = cavage.sign_request(
        "POST",
        url,
        key or signing.private_key,
        key_id or signing.key_id,
        body=raw,
        headers=base,
        now=now,
    )
    final = {**base, **signed, **(headers or {})}
    async with sender.http.post(url, data=raw, headers=final) as resp:
        text = await resp.read()
        return resp.status, (orjson.loads(text) if text else None)


async def inbox_count(test_node: TestNode) -> int:
    from sqlalchemy import func, select

    from cityfed.models.tables import InboxItem

    async with test_node.node.db.session() as session:
        return await session.scalar(select(func.count()).select_from(InboxItem)) or 0
