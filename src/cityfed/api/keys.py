"""/api/cityfed/v1/admin/keys: see our actors' keys (public halves only) and rotate them."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from cityfed.actions import keys as key_actions
from cityfed.api.common import ApiError, acting_actor, json_body, page_of, reply, require
from cityfed.appkeys import NODE
from cityfed.models import actors as actor_queries
from cityfed.urls import API_PREFIX


async def list_keys(request: web.Request) -> web.Response:
    require(request, "admin")
    async with request.app[NODE].db.session() as session:
        rows = await actor_queries.local_keys(session)
        keys = [
            {
                "key_id": key.key_id,
                "actor": actor.ap_id,
                "kind": key.kind,
                "created_at": key.created_at.isoformat(),
                "retired_at": key.retired_at.isoformat() if key.retired_at else None,
                "expires_at": key.expires_at.isoformat() if key.expires_at else None,
            }
            for key, actor in rows
        ]
    return page_of(request, keys)


async def rotate(request: web.Request) -> web.Response:
    token = require(request, "admin")
    body = await json_body(request)
    grace_days = body.get("grace_days", 7)
    if not isinstance(grace_days, int | float) or isinstance(grace_days, bool) or grace_days < 0:
        raise ApiError(422, "grace_days: expected a number of days ≥ 0")
    actor = await acting_actor(request, body.get("as"))
    try:
        old, new = await key_actions.rotate(
            request.app[NODE], actor, who=token.name, grace=timedelta(days=grace_days)
        )
    except key_actions.RotationError as exc:
        raise ApiError(409, str(exc)) from None
    return reply({"actor": actor.ap_id, "old": old, "new": new})


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API_PREFIX}/admin/keys", list_keys)
    app.router.add_post(f"{API_PREFIX}/admin/keys/rotate", rotate)
