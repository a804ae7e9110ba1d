"""API /projects and /challenges: publish, list, read, edit and delete (§8)."""

from __future__ import annotations

from aiohttp import web

from cityfed.actions import projects as project_actions
from cityfed.actions.errors import ActionError
from cityfed.actions.project_fields import FieldError, parse, view
from cityfed.api.common import ApiError, acting_actor, json_body, paged, paging, reply, require
from cityfed.appkeys import NODE
from cityfed.models import actors as actor_queries
from cityfed.models import objects as object_queries
from cityfed.models import reactions as reaction_queries
from cityfed.models.reactions import ReactionKind
from cityfed.models.tables import Actor, Object
from cityfed.node import Node
from cityfed.urls import API_PREFIX


def _kind(request: web.Request) -> str:
    return "project" if request.match_info["collection"] == "projects" else "challenge"


def _type_name(kind: str) -> str:
    return "Project" if kind == "project" else "Challenge"


def _view(row: Object, counts: dict[ReactionKind, int] | None = None) -> dict:
    counts = counts or {}
    return view(
        project_actions.load(row),
        featured=row.featured,
        likes=counts.get(ReactionKind.LIKE, 0),
        boosts=counts.get(ReactionKind.ANNOUNCE, 0),
    )


async def _counted(node: Node, rows: list[Object]) -> list[dict]:
    async with node.db.session() as session:
        counts = await reaction_queries.counts(session, [row.id for row in rows])
    return [_view(row, counts[row.id]) for row in rows]


async def create(request: web.Request) -> web.Response:
    require(request, "editor")
    kind = _kind(request)
    body = await json_body(request)
    actor = await acting_actor(request, body.pop("as", None))
    try:
        submission = parse(kind, body, partial=False)
    except FieldError as exc:
        raise ApiError.refused(exc) from None
    try:
        row = await project_actions.publish(request.app[NODE], actor, kind, submission)
    except ActionError as exc:  # the vocabulary's own checks (e.g. language vs. translations)
        raise ApiError.refused(exc) from None
    return reply({"id": row.ap_id, "url": row.ap_id}, 201)


async def list_items(request: web.Request) -> web.Response:
    require(request, "editor")
    kind = _kind(request)
    node = request.app[NODE]
    actor = await acting_actor(request)
    page, per_page = paging(request)
    async with node.db.session() as session:
        rows = await object_queries.local_objects(
            session, actor.id, (_type_name(kind),), offset=(page - 1) * per_page, limit=per_page
        )
        total = await object_queries.count_local_objects(session, actor.id, (_type_name(kind),))
    return paged(total, page, await _counted(node, rows))


async def _row(request: web.Request) -> Object:
    node = request.app[NODE]
    ap_id = request.query.get("id")
    if not ap_id:
        uid = request.match_info.get("uid")
        ap_id = f"{node.urls.base}/{request.match_info['collection']}/{uid}"
    async with node.db.session() as session:
        row = await object_queries.by_ap_id(session, ap_id)
    kind = _kind(request)
    if row is None or not row.local or row.deleted_at is not None or row.type != _type_name(kind):
        raise ApiError(404, f"no such {kind}")
    return row


async def get_one(request: web.Request) -> web.Response:
    require(request, "editor")
    (item,) = await _counted(request.app[NODE], [await _row(request)])
    return reply(item)


async def patch(request: web.Request) -> web.Response:
    require(request, "editor")
    kind = _kind(request)
    row = await _row(request)
    body = await json_body(request)
    body.pop("as", None)
    try:
        submission = parse(kind, body, partial=True)
    except FieldError as exc:
        raise ApiError.refused(exc) from None
    node = request.app[NODE]
    actor = await _owner(request, row)
    try:
        row = await project_actions.edit(node, actor, row.ap_id, submission, kind)
    except project_actions.NotFound:
        raise ApiError(404, f"no such {kind}") from None
    except ActionError as exc:
        raise ApiError.refused(exc) from None
    (item,) = await _counted(node, [row])
    return reply(item)


async def delete(request: web.Request) -> web.Response:
    require(request, "editor")
    kind = _kind(request)
    row = await _row(request)
    actor = await _owner(request, row)
    try:
        await project_actions.delete(request.app[NODE], actor, row.ap_id, kind)
    except project_actions.NotFound:
        raise ApiError(404, f"no such {kind}") from None
    return web.Response(status=204)


async def _owner(request: web.Request, row: Object) -> Actor:
    async with request.app[NODE].db.session() as session:
        actor = await actor_queries.actor_by_id(session, row.actor_id)
    assert actor is not None
    return actor


def add_routes(app: web.Application) -> None:
    collection = "{collection:projects|challenges}"
    app.router.add_post(f"{API_PREFIX}/{collection}", create)
    app.router.add_get(f"{API_PREFIX}/{collection}", list_items)
    app.router.add_get(f"{API_PREFIX}/{collection}/{{uid}}", get_one)
    app.router.add_patch(f"{API_PREFIX}/{collection}/{{uid}}", patch)
    app.router.add_delete(f"{API_PREFIX}/{collection}/{{uid}}", delete)
