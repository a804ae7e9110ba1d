"""Starting and stopping what runs beside the web server: the HTTP client and the workers.

Used by ``create_app`` (inside ``cleanup_ctx``) and by ``cityfed worker`` (no web server), so both
run exactly the same workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp

from cityfed import __version__
from cityfed.activitypub.jsonld import install_document_loader
from cityfed.federation.delivery import DeliveryWorker
from cityfed.federation.housekeeping import Housekeeper
from cityfed.federation.inbox_worker import InboxWorker
from cityfed.federation.netguard import resolver
from cityfed.node import Node

log = logging.getLogger("cityfed.runtime")


def user_agent(node: Node) -> str:
    return f"cityfed/{__version__} (+{node.urls.base}/)"


@contextlib.asynccontextmanager
async def client_session(node: Node) -> AsyncIterator[aiohttp.ClientSession]:
    """The one shared HTTP client of a process; its resolver refuses private addresses."""
    install_document_loader()
    connector = aiohttp.TCPConnector(
        limit=max(100, node.settings.delivery_concurrency * 2),
        limit_per_host=node.settings.delivery_per_host,
        resolver=resolver(node.settings.allow_private_addresses),
        ttl_dns_cache=300,
    )
    session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": user_agent(node)})
    node.http = session
    try:
        yield session
    finally:
        node.http = None
        await session.close()


@contextlib.asynccontextmanager
async def workers(node: Node) -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks = [
        asyncio.create_task(InboxWorker(node).run(), name="inbox-worker"),
        asyncio.create_task(DeliveryWorker(node).run(), name="delivery-worker"),
        asyncio.create_task(Housekeeper(node).run(), name="housekeeping"),
    ]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_worker_process(node: Node, stop: asyncio.Event) -> None:
    """``cityfed worker``: the workers alone, until ``stop`` is set."""
    async with client_session(node), workers(node):
        log.info("worker for %s running (%s)", node.urls.base, node.db.dialect)
        await stop.wait()
    await node.db.dispose()
