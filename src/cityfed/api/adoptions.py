"""API /adoptions: adopt a partner's project, report progress, list adoptions, the graph (§8)."""

from __future__ import annotations

from aiohttp import web

from cityfed.actions import adoption_graph
from cityfed.actions import adoptions as adoption_actions
from cityfed.actions.adoption_fields import ADOPTION
from cityfed.actions.city_objects import Conflict, Missing
from cityfed.actions.project_fields import FieldError
from cityfed.actions.projects import NotFound
from cityfed.api.common import (
    ApiError,
    acting_actor,
    json_body,
    newest_first,
    page_of,
    reply,
    require,
)
from cityfed.appkeys import NODE
from cityfed.models import objects as object_queries
from cityfed.urls import API_PREFIX


def refusal(exc: FieldError) -> ApiError:
    """The API status of a refused cooperation request (the message names the field)."""
    if isinstance(exc, Missing):
        return ApiError.refused(exc, 404)
    if isinstance(exc, Conflict):
        return ApiError.refused(exc, 409)
    return ApiError.refused(exc)


def _ap_id(request: web.Request) -> str:
    return f"{request.app[NODE].urls.base}/adoptions/{request.match_info['uid']}"


async def create(request: web.Request) -> web.Response:
    require(request, "editor")
    body = await json_body(request)
    adopter = await acting_actor(request, body.pop("as", None))
    if not body.get("project"):
        raise ApiError(422, "project: this field is required")
    try:
        row, project = await adoption_actions.adopt(
            request.app[NODE], adopter, body.pop("project"), body
        )
    except FieldError as exc:
        raise refusal(exc) from None
    return reply({"id": row.ap_id, "project": project.ap_id, "state": row.state}, 201)


async def list_adoptions(request: web.Request) -> web.Response:
    """Adoptions we made and adoptions of our projects by others (``?direction=made`` or
    ``received`` for one of them), each marked with its direction; newest first."""
    require(request, "editor")
    direction = request.query.get("direction", "all")
    if direction not in ("made", "received", "all"):
        raise ApiError(422, "direction: expected made, received or all")
    me = await acting_actor(request)
    async with request.app[NODE].db.session() as session:
        made = await object_queries.made_by(session, me.id, ADOPTION)
        received = await object_queries.received_by(session, me.id, ADOPTION)
    items = [
        {**adoption_graph.view(row), "direction": name}
        for name, rows in (("made", made), ("received", received))
        if direction in (name, "all")
        for row in rows
    ]
    return page_of(request, newest_first(items))


async def get_one(request: web.Request) -> web.Response:
    require(request, "editor")
    async with request.app[NODE].db.session() as session:
        row = await object_queries.by_ap_id(session, _ap_id(request))
    if row is None or not row.local or row.type != "Adoption" or row.deleted_at is not None:
        raise ApiError(404, "no such adoption")
    return reply(adoption_graph.view(row))


async def patch(request: web.Request) -> web.Response:
    require(request, "editor")
    body = await json_body(request)
    body.pop("as", None)
    try:
        row = await adoption_actions.update(request.app[NODE], _ap_id(request), body)
    except FieldError as exc:
        raise refusal(exc) from None
    except NotFound:
        raise ApiError(404, "no such adoption") from None
    return reply(adoption_graph.view(row))


async def delete(request: web.Request) -> web.Response:
    require(request, "editor")
    try:
        await adoption_actions.delete(request.app[NODE], _ap_id(request))
    except NotFound:
        raise ApiError(404, "no such adoption") from None
    return web.Response(status=204)


async def graph(request: web.Request) -> web.Response:
    """``?project=ID``: the adoptions around a project, as far as this node knows them."""
    require(request, "editor")
    project = request.query.get("project", "").strip()
    if not project:
        raise ApiError(422, "project: give the id of a project")
    async with request.app[NODE].db.session() as session:
        if await object_queries.by_ap_id(session, project) is None:
            raise ApiError(404, "project: not known on this node")
        result = await adoption_graph.graph(session, project)
    return reply(result)


def add_routes(app: web.Application) -> None:
    app.router.add_post(f"{API_PREFIX}/adoptions", create)
    app.router.add_get(f"{API_PREFIX}/adoptions", list_adoptions)
    # Before /{uid}: "graph" is not an adoption.
    app.router.add_get(f"{API_PREFIX}/adoptions/graph", graph)
    app.router.add_get(f"{API_PREFIX}/adoptions/{{uid}}", get_one)
    app.router.add_patch(f"{API_PREFIX}/adoptions/{{uid}}", patch)
    app.router.add_delete(f"{API_PREFIX}/adoptions/{{uid}}", delete)
