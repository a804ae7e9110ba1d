"""Our objects at their ids: projects and challenges (JSON-LD or HTML), their collections,
our public activities, and the cf: context document at /ns."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from sqlalchemy import func, select

from cityfed.actions import projects as project_actions
from cityfed.activitypub import collections as coll
from cityfed.activitypub.jsonld import DEFAULT_CONTEXT, context_document
from cityfed.federation.negotiation import wants_html
from cityfed.federation.responses import activity_json, error, plain_json
from cityfed.models import objects as object_queries
from cityfed.models.tables import Activity, Object
from cityfed.node import NODE
from cityfed.web.objects import object_page


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


async def city_object(request: web.Request) -> web.StreamResponse:
    row = await _local_object(request)
    if wants_html(request):
        return await object_page(request, row)
    if row.deleted_at is not None:
        return activity_json(with_context(project_actions.tombstone(row)), status=410)
    return activity_json(with_context(row.document), cache_seconds=60)


async def replies(request: web.Request) -> web.Response:
    """Comments on one of our objects (filled by the cooperation flows), paged."""
    row = await _local_object(request)
    node = request.app[NODE]
    collection_id = f"{row.ap_id}/replies"
    try:
        number = coll.parse_page_number(request.query.get("page"))
    except ValueError:
        return error(400, "bad page number")
    where = (Object.in_reply_to == row.ap_id, Object.deleted_at.is_(None))
    async with node.db.session() as session:
        total = await session.scalar(select(func.count()).select_from(Object).where(*where)) or 0
        if number is None:
            return activity_json(coll.collection(collection_id, total))
        ids = await session.scalars(
            select(Object.ap_id)
            .where(*where)
            .order_by(Object.published, Object.id)
            .offset((number - 1) * coll.PAGE_SIZE)
            .limit(coll.PAGE_SIZE)
        )
        items = list(ids)
    return activity_json(coll.page(collection_id, number, items, total))


async def activity(request: web.Request) -> web.Response:
    """A public activity of ours, exactly as it was sent."""
    node = request.app[NODE]
    ap_id = f"{node.urls.base}/activities/{request.match_info['uid']}"
    async with node.db.session() as session:
        row = await session.scalar(select(Activity).where(Activity.ap_id == ap_id))
    if row is None or not row.local or not row.public:
        return error(404, "no such activity")
    return activity_json(orjson.loads(row.body))


async def namespace(request: web.Request) -> web.Response:
    return plain_json(
        context_document(),
        content_type="application/ld+json",
        headers={"Access-Control-Allow-Origin": "*"},
    )


def add_routes(app: web.Application) -> None:
    collection = "{collection:projects|challenges}"
    app.router.add_get(f"/{collection}/{{uid}}", city_object)
    app.router.add_get(f"/{collection}/{{uid}}/replies", replies)
    app.router.add_get("/activities/{uid}", activity)
    app.router.add_get("/ns", namespace)
