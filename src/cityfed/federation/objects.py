"""Our objects at their ids: projects and challenges (JSON-LD or HTML), their collections,
our public activities, and the cf: context document at /ns."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from cityfed.activitypub import collections as coll
from cityfed.activitypub.jsonld import DEFAULT_CONTEXT, context_document
from cityfed.activitypub.vocab.common import id_of
from cityfed.appkeys import HTML_PAGES, NODE
from cityfed.federation.object_document import tombstone, with_live_collections
from cityfed.http.negotiation import wants_html
from cityfed.http.responses import activity_json, error, plain_json
from cityfed.models import activities as activity_queries
from cityfed.models import objects as object_queries
from cityfed.models import reactions as reaction_queries
from cityfed.models.reactions import ReactionKind
from cityfed.models.states import AnswerState
from cityfed.models.tables import Object


def with_context(doc: dict[str, Any]) -> dict[str, Any]:
    return {"@context": DEFAULT_CONTEXT, **{k: v for k, v in doc.items() if k != "@context"}}


async def _local_object(request: web.Request) -> Object:
    node = request.app[NODE]
    ap_id = f"{node.urls.base}/{request.match_info['collection']}/{request.match_info['uid']}"
    async with node.db.session() as session:
        row = await object_queries.by_ap_id(session, ap_id)
    if row is None or not row.local:
        raise web.HTTPNotFound(text='{"error": "no such object"}', content_type="application/json")
    return row


async def _served(request: web.Request, row: Object) -> dict[str, Any]:
    async with request.app[NODE].db.session() as session:
        return with_context(await with_live_collections(session, row))


async def city_object(request: web.Request) -> web.StreamResponse:
    row = await _local_object(request)
    if wants_html(request):
        return await request.app[HTML_PAGES].object(request, row)
    if row.deleted_at is not None:
        return activity_json(with_context(tombstone(row)), status=410)
    return activity_json(await _served(request, row), cache_seconds=60)


async def comment(request: web.Request) -> web.StreamResponse:
    """One of our comments: a Note for servers; people are sent to the thread it belongs to."""
    node = request.app[NODE]
    ap_id = f"{node.urls.base}/comments/{request.match_info['uid']}"
    async with node.db.session() as session:
        row = await object_queries.by_ap_id(session, ap_id)
    if row is None or not row.local or row.type != "Note":
        return error(404, "no such comment")
    if wants_html(request) and row.context:
        raise web.HTTPSeeOther(row.context)
    if row.deleted_at is not None:
        return activity_json(with_context(tombstone(row)), status=410)
    return activity_json(await _served(request, row))


async def replies(request: web.Request) -> web.Response:
    """Comments on one of our objects (filled by the cooperation flows), paged; a Collection of
    CollectionPages with ``items``, the shape Mastodon serves and embeds."""
    row = await _local_object(request)
    node = request.app[NODE]
    collection_id = f"{row.ap_id}/replies"
    try:
        number = coll.parse_page_number(request.query.get("page"))
    except ValueError:
        return error(400, "bad page number")
    async with node.db.session() as session:
        total = await object_queries.count_replies(session, row.ap_id)
        items = await object_queries.reply_ids(
            session,
            row.ap_id,
            offset=((number or 1) - 1) * coll.PAGE_SIZE,
            limit=coll.PAGE_SIZE,
        )
    if number is None:
        return activity_json(with_context(coll.replies(collection_id, items, total)))
    return activity_json(with_context(coll.reply_page(collection_id, number, items, total)))


async def reactions(request: web.Request) -> web.Response:
    """``likes`` or ``shares`` of one of our objects: their number only, as Mastodon serves them
    (who liked is on the staff pages, not public)."""
    node = request.app[NODE]
    which = request.match_info["which"]
    ap_id = f"{node.urls.base}/{request.match_info['kind']}/{request.match_info['uid']}"
    async with node.db.session() as session:
        row = await object_queries.by_ap_id(session, ap_id)
        if row is None or not row.local or row.deleted_at is not None:
            return error(404, "no such object")
        counts = (await reaction_queries.counts(session, [row.id]))[row.id]
    kind = ReactionKind.LIKE if which == "likes" else ReactionKind.ANNOUNCE
    return activity_json(with_context(coll.counted(f"{ap_id}/{which}", counts[kind])))


async def activity(request: web.Request) -> web.Response:
    """A public activity of ours, exactly as it was sent."""
    node = request.app[NODE]
    ap_id = f"{node.urls.base}/activities/{request.match_info['uid']}"
    async with node.db.session() as session:
        row = await activity_queries.by_ap_id(session, ap_id)
    if row is None or not row.local or not row.public:
        return error(404, "no such activity")
    return activity_json(orjson.loads(row.body))


async def namespace(request: web.Request) -> web.Response:
    return plain_json(
        context_document(),
        content_type="application/ld+json",
        headers={"Access-Control-Allow-Origin": "*"},
    )


# --- cooperation: adoptions and solution offers (actions/adoptions.py, actions/offers.py) -------


async def _target_collection(
    request: web.Request, kind: str, type_name: str, state: str | None
) -> web.Response:
    """Adoptions of one of our projects (their ids), or the projects accepted as solutions of
    one of our challenges (from the accepted offers), paged like the actors' collections."""
    row = await _local_object(request)
    if row.type != kind:
        return error(404, f"no such {kind.lower()}")
    node = request.app[NODE]
    suffix = "adoptions" if type_name == "Adoption" else "solutions"
    collection_id = f"{row.ap_id}/{suffix}"
    try:
        number = coll.parse_page_number(request.query.get("page"))
    except ValueError:
        return error(400, "bad page number")
    async with node.db.session() as session:
        total = await object_queries.count_targeting(
            session, type_name, row.ap_id, state=state, hide_blocked=True
        )
        if number is None:
            return activity_json(coll.collection(collection_id, total))
        rows = await object_queries.targeting(
            session,
            type_name,
            row.ap_id,
            state=state,
            offset=(number - 1) * coll.PAGE_SIZE,
            limit=coll.PAGE_SIZE,
            hide_blocked=True,
        )
    if type_name == "Adoption":
        items = [r.ap_id for r in rows]
    else:
        items = [id_of(r.document.get("cf:solution")) or r.ap_id for r in rows]
    return activity_json(coll.page(collection_id, number, items, total))


async def adoptions(request: web.Request) -> web.Response:
    return await _target_collection(request, "Project", "Adoption", None)


async def solutions(request: web.Request) -> web.Response:
    return await _target_collection(request, "Challenge", "SolutionOffer", AnswerState.ACCEPTED)


async def cooperation_object(request: web.Request) -> web.StreamResponse:
    """An Adoption of ours (public; 410 Tombstone once withdrawn), or a SolutionOffer of ours
    once accepted (until then it is between the two cities)."""
    node = request.app[NODE]
    kind = request.match_info["kind"]
    type_name = "Adoption" if kind == "adoptions" else "SolutionOffer"
    ap_id = f"{node.urls.base}/{kind}/{request.match_info['uid']}"
    async with node.db.session() as session:
        row = await object_queries.by_ap_id(session, ap_id)
    if row is None or not row.local or row.type != type_name:
        return error(404, "no such object")
    if type_name == "SolutionOffer" and (
        row.state != AnswerState.ACCEPTED or row.deleted_at is not None
    ):
        return error(404, "no such object")
    if row.deleted_at is not None:
        return activity_json(with_context(tombstone(row)), status=410)
    if wants_html(request):
        # People are sent to the page of the adopting (or offered) project.
        page = id_of(row.document.get("cf:localProject") or row.document.get("cf:solution"))
        if page:
            raise web.HTTPSeeOther(page)
    if type_name == "SolutionOffer":
        return activity_json(with_context(row.document), cache_seconds=60)
    return activity_json(await _served(request, row), cache_seconds=60)


# --- end cooperation ----------------------------------------------------------------------------


def add_routes(app: web.Application) -> None:
    collection = "{collection:projects|challenges}"
    app.router.add_get(f"/{collection}/{{uid}}", city_object)
    app.router.add_get(f"/{collection}/{{uid}}/replies", replies)
    app.router.add_get("/comments/{uid}", comment)
    app.router.add_get("/activities/{uid}", activity)
    # cooperation: adoptions and solution offers
    app.router.add_get("/{collection:projects}/{uid}/adoptions", adoptions)
    app.router.add_get("/{collection:challenges}/{uid}/solutions", solutions)
    app.router.add_get("/{kind:adoptions|offers}/{uid}", cooperation_object)
    app.router.add_get("/ns", namespace)
    app.router.add_get(
        "/{kind:projects|challenges|comments|adoptions}/{uid}/{which:likes|shares}", reactions
    )
