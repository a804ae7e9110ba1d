"""The test rig: real nodes, each an aiohttp server on a loopback port with its own database.

SQLite by default; with CITYFED_TEST_DATABASE_URL pointing at PostgreSQL every node gets a fresh
database of its own on that server, dropped afterwards.
"""

from __future__ import annotations

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
from cityfed.config import Settings
from cityfed.federation.urls import Urls
from cityfed.keys.generate import KeyPairPem, generate_ed25519, generate_rsa
from cityfed.models import migrate
from cityfed.models.db import open_database
from cityfed.models.tokens import create_token
from cityfed.node import NODE, Node

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


@asynccontextmanager
async def database_url(tmp_path: Path, name: str) -> AsyncIterator[str]:
    base = os.environ.get("CITYFED_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite+aiosqlite:///{tmp_path / (name + '.db')}"
        return
    import asyncpg

    url = make_url(base)
    dbname = f"cf_{name}_{uuid.uuid4().hex[:10]}".lower()
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{dbname}"')
    finally:
        await admin.close()
    try:
        yield url.set(database=dbname).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        finally:
            await admin.close()


@dataclass
class TestNode:
    """One running node plus a client for poking it from outside."""

    __test__ = False  # a helper, not a test class

    name: str
    app: web.Application
    runner: web.AppRunner
    port: int
    admin_token: str
    editor_token: str
    handle: str
    http: aiohttp.ClientSession
    access_log: list[tuple[str, str]] = field(default_factory=list)

    @property
    def node(self) -> Node:
        return self.app[NODE]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def actor_id(self) -> str:
        return self.node.urls.actor(self.handle)

    @property
    def account(self) -> str:
        return f"{self.handle}@{self.domain}"

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
            allow_private_addresses=True,
            listen_port=port,
            **overrides,
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
        app = create_app(settings, workers=workers)
        access_log: list[tuple[str, str]] = []

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            access_log.append((request.method, request.path_qs))
            return await handler(request)

        app.middlewares.insert(0, record)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        async with aiohttp.ClientSession() as http:
            try:
                yield TestNode(name, app, runner, port, admin, editor, handle, http, access_log)
            finally:
                await runner.cleanup()
