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
from cityfed.federation import backfill
from cityfed.federation.delivery import DeliveryWorker
from cityfed.federation.housekeeping import Housekeeper
from cityfed.federation.inbox_worker import InboxWorker
from cityfed.federation.mailer import Mailer
from cityfed.federation.netguard import resolver
from cityfed.node import Node

log = logging.getLogger("cityfed.runtime")

# Key fetches: a budget of their own, small, and at most two connections to any one host, so a
# flood of POSTs naming keys on hanging hosts waits here and not in the deliveries' pool (§6).
KEY_FETCH_LIMIT = 32
KEY_FETCH_PER_HOST = 2


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
    headers = {"User-Agent": user_agent(node)}
    session = aiohttp.ClientSession(connector=connector, headers=headers)
    key_connector = aiohttp.TCPConnector(
        limit=KEY_FETCH_LIMIT,
        limit_per_host=KEY_FETCH_PER_HOST,
        resolver=resolver(node.settings.allow_private_addresses),
        ttl_dns_cache=300,
    )
    key_session = aiohttp.ClientSession(connector=key_connector, headers=headers)
    node.http, node.key_http = session, key_session
    try:
        yield session
    finally:
        node.http = node.key_http = None
        await session.close()
        await key_session.close()


@contextlib.asynccontextmanager
async def workers(node: Node) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Run both workers; on the way out stop them cleanly (see ``stop_workers``)."""
    running: list[InboxWorker | DeliveryWorker] = [InboxWorker(node), DeliveryWorker(node)]
    tasks = [
        asyncio.create_task(running[0].run(), name="inbox-worker"),
        asyncio.create_task(running[1].run(), name="delivery-worker"),
    ]
    # Housekeeping holds no lease: it is cancelled, not asked to finish.
    housekeeping = asyncio.create_task(Housekeeper(node).run(), name="housekeeping")
    # Neither does the mailer: a mail cut off mid-send keeps its short lease and goes again.
    mailer = asyncio.create_task(Mailer(node).run(), name="mailer")
    # The outbox backfill of newly followed partners (issue 18): cancelled like housekeeping.
    backfilling = asyncio.create_task(backfill.run(node), name="backfill")
    try:
        yield tasks
    finally:
        housekeeping.cancel()
        mailer.cancel()
        backfilling.cancel()
        await asyncio.gather(housekeeping, mailer, backfilling, return_exceptions=True)
        await stop_workers(running, tasks, node.settings.shutdown_grace)


async def stop_workers(
    running: list[InboxWorker | DeliveryWorker], tasks: list[asyncio.Task[None]], grace: float
) -> None:
    """Let the workers finish what they hold for up to ``grace`` seconds, then cancel them.

    Either way each hands back the leases it did not finish, so that after a restart (SIGTERM
    from a deploy) those items are due at once instead of when their lease expires.
    """
    log.info("stopping the workers: finishing what they hold (up to %.1f s)", grace)
    for worker in running:
        worker.stop()
    pending = [task for task in tasks if not task.done()]
    if pending:
        _, late = await asyncio.wait(pending, timeout=grace)
        if late:
            log.info("grace period of %.1f s over: handing back what is still leased", grace)
        for task in late:
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run_worker_process(node: Node, stop: asyncio.Event) -> None:
    """``cityfed worker``: the workers alone, until ``stop`` is set."""
    async with client_session(node), workers(node):
        log.info("worker for %s running (%s)", node.urls.base, node.db.dialect)
        await stop.wait()
    await node.db.dispose()
