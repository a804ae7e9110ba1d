"""Finding remote actors and their keys: database first, then a signed fetch.

Key resolution is the security core of the inbox: a key is only ever attributed to the actor whose
own document lists it, so "key owner == activity actor" (§3 step 3) is a real binding.

Key fetches are what anyone can make us do with one unsigned-but-plausible POST, so they run on a
budget of their own (``Node.key_client``: few connections, two per host), follow at most
``KEY_REDIRECTS`` redirects and never refetch an owner under another id: a hanging or redirecting
host costs us a bounded handful of requests and never a connection deliveries need (§6).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from cityfed.activitypub.actor import ActorParseError, RemoteActor, authority
from cityfed.activitypub.vocab.common import as_list, id_of
from cityfed.activitypub.webfinger import Account, parse_account, self_link, webfinger_url
from cityfed.federation.fetch import FetchError, fetch_json, fetch_object
from cityfed.keys.generate import load_public_pem
from cityfed.keys.remote import RemoteKey
from cityfed.models import actors as actor_queries
from cityfed.models import remote_actors
from cityfed.models.tables import Actor
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.remote")

ACTOR_TTL = timedelta(days=1)
KEY_REDIRECTS = 1


class ResolveError(Exception):
    """A remote actor, key or object could not be fetched or understood."""


async def _store(node: Node, document: dict[str, Any]) -> Actor:
    try:
        remote = RemoteActor.from_ap(document)
    except ActorParseError as exc:
        raise ResolveError(str(exc)) from None
    async with node.db.transaction() as session:
        actor = await remote_actors.upsert(session, remote, document)
    for key in remote.public_keys:
        node.remote_keys.forget(key.key_id)
    return actor


async def fetch_actor(node: Node, actor_id: str) -> Actor:
    """Fetch (or refetch) a remote actor document and store it."""
    if actor_id.startswith(node.urls.base + "/"):
        raise ResolveError(f"{actor_id} is on this node")
    try:
        document = await fetch_object(node, actor_id)
    except FetchError as exc:
        raise ResolveError(str(exc)) from None
    if document.get("id") != actor_id:
        raise ResolveError(f"{actor_id} serves a document with another id")
    return await _store(node, document)


async def get_actor(node: Node, actor_id: str, *, refresh: bool = False) -> Actor:
    """A known actor from the database (refetched when stale), or fetched now."""
    async with node.db.session() as session:
        actor = await actor_queries.actor_by_ap_id(session, actor_id)
    if actor is not None and actor.local:
        return actor
    stale = actor is None or actor.fetched_at is None or utcnow() - actor.fetched_at > ACTOR_TTL
    if refresh or stale:
        try:
            return await fetch_actor(node, actor_id)
        except ResolveError:
            if actor is None or refresh:
                raise
            log.warning("could not refresh %s; using the stored copy", actor_id)
    assert actor is not None
    return actor


async def resolve_account(node: Node, account: str | Account) -> Actor:
    """``handle@host`` → the actor, via WebFinger (as Mastodon resolves a search)."""
    acct = parse_account(account) if isinstance(account, str) else account
    try:
        fetched = await fetch_json(
            node,
            webfinger_url(f"{_scheme_for(node)}://{acct.host}", acct),
            signed=False,
            accept="application/jrd+json",
        )
    except FetchError as exc:
        raise ResolveError(str(exc)) from None
    href = self_link(fetched.document)
    if href is None:
        raise ResolveError(f"{acct} has no ActivityPub actor link")
    actor = await get_actor(node, href)
    return actor


async def resolve_reference(node: Node, target: str) -> Actor:
    """``handle@host``, ``@handle@host`` or an actor URL → the actor (network, no transaction)."""
    target = target.strip()
    try:
        if target.startswith(("https://", "http://")):
            return await get_actor(node, target)
        return await resolve_account(node, target)
    except ValueError as exc:  # not a handle at all
        raise ResolveError(str(exc)) from None


def _scheme_for(node: Node) -> str:
    # An http node (tests, local demo) talks http to its peers; real nodes only https.
    return node.settings.scheme


async def known_key(node: Node, key_id: str) -> RemoteKey | None:
    """A key we already have: from the in-process cache, else from the database."""
    now = utcnow()
    cached = node.remote_keys.get(key_id, now)
    if cached is not None:
        return cached
    async with node.db.session() as session:
        row = await actor_queries.key_by_key_id(session, key_id)
        owner = await session.get(Actor, row.actor_id) if row is not None else None
    if row is None or owner is None or owner.local:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None  # past its owner's grace period: only a fresh copy of the actor may revive it
    key = RemoteKey(key_id, owner.ap_id, load_public_pem(row.public_pem), row.expires_at)
    node.remote_keys.put(key)
    return key


async def resolve_key(node: Node, key_id: str, *, refresh: bool = False) -> RemoteKey:
    """The public key named by ``key_id`` and the actor that owns it (fetched if unknown)."""
    if not refresh:
        key = await known_key(node, key_id)
        if key is not None:
            return key
    return await fetch_key(node, key_id)


async def fetch_key(node: Node, key_id: str) -> RemoteKey:
    """Fetch a key (an actor document or a standalone key document) and store its owner."""
    client = node.key_client()
    try:
        fetched = await fetch_json(node, key_id, max_redirects=KEY_REDIRECTS, client=client)
    except FetchError as exc:
        raise ResolveError(str(exc)) from None
    document = fetched.document
    if _is_actor(document):
        owner_doc = document
    else:
        # A standalone key document (or GoToSocial's actor stub at .../main-key): trust it only if
        # its owner's own document lists the key.
        owner_id = _owner_of(document, key_id)
        if not owner_id or authority(owner_id) != authority(fetched.url):
            raise ResolveError(f"key {key_id} names no owner on its own host")
        try:
            owner = await fetch_json(node, owner_id, max_redirects=KEY_REDIRECTS, client=client)
        except FetchError as exc:
            raise ResolveError(str(exc)) from None
        owner_doc = owner.document
        # The owner must be served under the id the key names (or the URL it redirected to):
        # unlike fetch_object, no second fetch by some other id the document claims.
        if owner_doc.get("id") not in (owner_id, owner.url) or authority(owner.url) != authority(
            owner_id
        ):
            raise ResolveError(f"{owner_id} serves a document with another id")
    if authority(str(owner_doc.get("id", ""))) != authority(fetched.url):
        raise ResolveError(f"key {key_id} is served by a host other than its owner's")
    actor = await _store(node, owner_doc)
    listed = {k.key_id: k for k in RemoteActor.from_ap(owner_doc).public_keys}
    info = listed.get(key_id)
    if info is None or info.owner != actor.ap_id:
        raise ResolveError(f"{actor.ap_id} does not list key {key_id}")
    if info.expires is not None and info.expires <= utcnow():
        raise ResolveError(f"key {key_id} expired at {info.expires.isoformat()}")
    key = RemoteKey(key_id, actor.ap_id, load_public_pem(info.pem), info.expires)
    node.remote_keys.put(key)
    return key


def _owner_of(document: dict[str, Any], key_id: str) -> str | None:
    owner = id_of(document.get("owner")) or id_of(document.get("controller"))
    if owner:
        return owner
    for entry in as_list(document.get("publicKey")):
        if isinstance(entry, dict) and entry.get("id") == key_id:
            return id_of(entry.get("owner"))
    return None


def _is_actor(document: dict[str, Any]) -> bool:
    try:
        RemoteActor.from_ap(document)
    except ActorParseError:
        return False
    return True
