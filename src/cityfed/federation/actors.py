"""Our actors as ActivityPub documents (or HTML profiles), and their follower/following/outbox
collections."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.activitypub import collections as coll
from cityfed.activitypub import proof
from cityfed.appkeys import HTML_PAGES, NODE
from cityfed.federation.actor_document import actor_document
from cityfed.http.negotiation import wants_html
from cityfed.http.responses import activity_json, error
from cityfed.models import activities as activity_queries
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models import objects as object_queries
from cityfed.models.tables import Actor
from cityfed.node import Node


async def _local_actor_or_404(session: AsyncSession, handle: str) -> Actor:
    actor = await actor_queries.local_actor(session, handle)
    if actor is None:
        raise web.HTTPNotFound(text='{"error": "no such actor"}', content_type="application/json")
    return actor


async def actor(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    handle = request.match_info["handle"]
    async with node.db.session() as session:
        found = await _local_actor_or_404(session, handle)
        if wants_html(request):
            return await _profile_page(request, session, node, found)
        doc = await actor_document(session, node, found)
    return activity_json(doc, cache_seconds=60)


async def profile(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    handle = request.match_info["handle"]
    async with node.db.session() as session:
        found = await _local_actor_or_404(session, handle)
        if not wants_html(request):
            raise web.HTTPFound(found.ap_id)
        return await _profile_page(request, session, node, found)


async def _profile_page(
    request: web.Request, session: AsyncSession, node: Node, found: Actor
) -> web.Response:
    return await request.app[HTML_PAGES].profile(request, session, node, found)


async def instance_actor(request: web.Request) -> web.Response:
    node = request.app[NODE]
    async with node.db.session() as session:
        found = await actor_queries.instance_actor(session)
        if found is None:
            return error(404, "no instance actor")
        doc = await actor_document(session, node, found)
    return activity_json(doc, cache_seconds=60)


async def instance_outbox(request: web.Request) -> web.Response:
    """The instance actor's outbox: it publishes nothing, so always empty (ActivityPub wants
    every actor to have one, and a link that answers 404 makes GoToSocial warn)."""
    node = request.app[NODE]
    doc = coll.collection(f"{node.urls.base}/actor/outbox", 0, paged=False)
    doc["orderedItems"] = []
    return activity_json(doc, cache_seconds=60)


def _page_number(request: web.Request) -> int | None:
    try:
        return coll.parse_page_number(request.query.get("page"))
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "bad page number"}', content_type="application/json"
        ) from None


async def followers(request: web.Request) -> web.Response:
    return await _actor_collection(request, "followers")


async def following(request: web.Request) -> web.Response:
    return await _actor_collection(request, "following")


async def _actor_collection(request: web.Request, which: str) -> web.Response:
    node = request.app[NODE]
    number = _page_number(request)
    async with node.db.session() as session:
        found = await _local_actor_or_404(session, request.match_info["handle"])
        collection_id = f"{found.ap_id}/{which}"
        count = (
            follow_queries.count_followers
            if which == "followers"
            else follow_queries.count_following
        )
        total = await count(session, found.id)
        if number is None:
            return activity_json(coll.collection(collection_id, total))
        lister = (
            follow_queries.follower_ids if which == "followers" else follow_queries.following_ids
        )
        items = await lister(session, found.id, (number - 1) * coll.PAGE_SIZE, coll.PAGE_SIZE)
    return activity_json(coll.page(collection_id, number, items, total))


async def outbox(request: web.Request) -> web.Response:
    """The Create activities of an actor's live objects, newest first, embedded as sent."""
    node = request.app[NODE]
    number = _page_number(request)
    async with node.db.session() as session:
        found = await _local_actor_or_404(session, request.match_info["handle"])

        # Correlated, so a page looks up only its own rows' objects: ``IN (SELECT ...)`` made
        # SQLite collect every live object id of the actor first (slow for a large actor).
        async def count() -> int:
            return await activity_queries.count_outbox(session, found.id)

        total = await node.counts.get(("outbox", found.id), count)
        collection_id = found.outbox or node.urls.outbox(found.handle)
        if number is None:
            return activity_json(coll.collection(collection_id, total))
        bodies = await activity_queries.outbox_bodies(
            session, found.id, offset=(number - 1) * coll.PAGE_SIZE, limit=coll.PAGE_SIZE
        )
        items = [_without_context(body) for body in bodies]
    page = coll.page(collection_id, number, items, total)
    if any("proof" in item for item in items):
        # The activities keep their integrity proofs, a term only the Data Integrity context
        # defines: without it JSON-LD processors drop them (jsonld.js safe mode refuses).
        page["@context"] = proof.with_data_integrity_context(page["@context"])
    return activity_json(page)


def _without_context(body: bytes) -> dict[str, Any]:
    doc = orjson.loads(body)
    doc.pop("@context", None)
    return doc


async def featured(request: web.Request) -> web.Response:
    """Featured projects and challenges; Mastodon shows them as the profile's pinned posts."""
    node = request.app[NODE]
    async with node.db.session() as session:
        found = await _local_actor_or_404(session, request.match_info["handle"])
        rows = await object_queries.featured(session, found.id)
    doc = coll.collection(node.urls.featured(found.handle), len(rows), paged=False)
    doc["orderedItems"] = [row.document for row in rows]
    return activity_json(doc)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/actors/{handle}", actor)
    app.router.add_get("/actors/{handle}/featured", featured)
    app.router.add_get("/@{handle}", profile)
    app.router.add_get("/actor", instance_actor)
    app.router.add_get("/actor/outbox", instance_outbox)
    app.router.add_get("/actors/{handle}/followers", followers)
    app.router.add_get("/actors/{handle}/following", following)
    app.router.add_get("/actors/{handle}/outbox", outbox)
