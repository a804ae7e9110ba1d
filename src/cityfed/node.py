"""The running node's shared services, created by ``create_app`` and held on the application.

Handlers, workers, actions and the CLI get what they need from one ``Node`` instead of globals.
It knows no aiohttp (DESIGN §2): the application key it is held under lives in ``appkeys.py``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cityfed.config import Settings
from cityfed.keys.remote import RemoteKeyCache
from cityfed.keys.store import KeyStore, SigningKey
from cityfed.models import actors as actor_queries
from cityfed.models.counts import CountCache
from cityfed.models.db import Database
from cityfed.models.notify import LocalBus
from cityfed.models.policy import PolicyView
from cityfed.urls import Urls

if TYPE_CHECKING:
    # Only the type: the sessions are made and closed by the app (runtime.py), so the node (and
    # the actions that take it) can be imported without aiohttp.
    import aiohttp

log = logging.getLogger("cityfed.node")


class MissingKeyError(RuntimeError):
    """A local actor (or the instance actor) has no signing key of the kind asked for: the data
    dir was not set up with ``cityfed init``, or a key was removed by hand."""


@dataclass
class Node:
    settings: Settings
    db: Database
    urls: Urls
    keys: KeyStore = field(default_factory=KeyStore)
    remote_keys: RemoteKeyCache = field(default_factory=RemoteKeyCache)
    http: aiohttp.ClientSession | None = None
    # Key fetches (anyone can cause one with a POST) have their own small connection budget, so
    # they never hold connections that deliveries and our own lookups need (runtime.py).
    key_http: aiohttp.ClientSession | None = None
    # Set after a transaction that enqueued deliveries commits, so an idle worker starts at once
    # instead of at its next poll (see federation.outbox.kick).
    delivery_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    policy: PolicyView = field(default_factory=PolicyView)
    inbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # Large listing totals (outbox, timeline), recounted at most every few seconds.
    counts: CountCache = field(default_factory=CountCache)
    # Handles of our local actors seen so far: a personal inbox POST checks its handle without a
    # query (a query per request was a large part of its cost, bench/README.md). Local actors
    # are never renamed or deleted, so a handle once found stays valid; one added later, by this
    # process or another (``cityfed init``), is found by the query a miss makes.
    local_handles: set[str] = field(default_factory=set)
    # Status events for the streaming API (models/notify.py): fed after commit on SQLite, by
    # PostgreSQL's NOTIFY (to every process) on PostgreSQL.
    events: LocalBus = field(default_factory=LocalBus)

    def __post_init__(self) -> None:
        self.policy.default_mode = self.policy.mode = self.settings.federation_mode

    async def load_local_handles(self) -> None:
        """Learn every local actor's handle at start: otherwise the first burst of personal
        inbox POSTs (one per connection in flight) would each make the query of a miss."""
        async with self.db.session() as session:
            actors = await actor_queries.local_actors(session)
        self.local_handles.update(actor.handle for actor in actors)

    async def is_local_handle(self, handle: str) -> bool:
        """Is ``handle`` one of our actors (not the instance actor)? Queries only on a miss."""
        if handle in self.local_handles:
            return True
        async with self.db.session() as session:
            found = await actor_queries.local_actor(session, handle) is not None
        if found:
            self.local_handles.add(handle)
        return found

    async def signing_key(self, actor_id: int, kind: str = "rsa") -> SigningKey:
        """The current private key of a local actor, parsed once per process."""
        cached = self.keys.get(actor_id, kind)
        if cached is not None:
            return cached
        async with self.db.session() as session:
            key = await actor_queries.signing_key(session, actor_id, kind)
        if key is None or key.private_pem is None:
            raise MissingKeyError(f"local actor {actor_id} has no {kind} key")
        return self.keys.put(actor_id, kind, key.key_id, key.private_pem)

    async def signing_key_by_id(self, key_id: str) -> SigningKey:
        """One particular private key of ours (e.g. the old one, during a key rotation)."""
        cached = self.keys.by_id(key_id)
        if cached is not None:
            return cached
        async with self.db.session() as session:
            key = await actor_queries.key_by_key_id(session, key_id)
        if key is None or key.private_pem is None:
            raise MissingKeyError(f"no private key {key_id}")
        return self.keys.put_by_id(key_id, key.kind, key.private_pem)

    async def instance_signing_key(self) -> SigningKey:
        async with self.db.session() as session:
            actor = await actor_queries.instance_actor(session)
        if actor is None:
            raise MissingKeyError("the instance actor is missing; run `cityfed init`")
        return await self.signing_key(actor.id)

    def client(self) -> aiohttp.ClientSession:
        if self.http is None:
            raise RuntimeError("the HTTP client is only available while the app runs")
        return self.http

    def key_client(self) -> aiohttp.ClientSession:
        """The client for key fetches; the shared one where no separate budget was set up."""
        return self.key_http or self.client()
