"""API /follows (whom our city follows) and /followers (who follows it)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cityfed.actions import follows as follow_actions
from cityfed.api.common import (
    ApiError,
    acting_actor,
    field,
    json_body,
    paged,
    paging,
    reply,
    require,
)
from cityfed.appkeys import NODE
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models.states import FollowState
from cityfed.models.tables import Actor, Follow
from cityfed.urls import API_PREFIX


def _entry(actor: Actor, follow: Follow) -> dict[str, Any]:
    return {
        "actor": actor.ap_id,
        "account": f"{actor.handle}@{actor.domain}",
        "name": actor.name,
        "state": follow.state,
        "since": follow.created_at.isoformat(),
    }


async def list_follows(request: web.Request) -> web.Response:
    require(request, "admin")
    return await _list(request, following=True)


async def list_followers(request: web.Request) -> web.Response:
    require(request, "admin")
    return await _list(request, following=False)


async def _list(request: web.Request, *, following: bool) -> web.Response:
    node = request.app[NODE]
    me = await acting_actor(request)
    asked = request.query.get("state")
    if asked is not None and asked not in tuple(FollowState):
        raise ApiError(422, "state: expected pending, accepted or rejected")
    state = FollowState(asked) if asked else None
    page, per_page = paging(request)
    async with node.db.session() as session:
        total = await follow_queries.count_listing(session, me.id, following=following, state=state)
        rows = await follow_queries.listing(
            session,
            me.id,
            following=following,
            state=state,
            offset=(page - 1) * per_page,
            limit=per_page,
        )
    return paged(total, page, [_entry(actor, follow) for actor, follow in rows])


async def create_follow(request: web.Request) -> web.Response:
    require(request, "admin")
    body = await json_body(request)
    target = field(body, "account", required=False) or field(body, "actor", required=False)
    if not target:
        raise ApiError(422, "account: give handle@domain (or actor: an actor URL)")
    me = await acting_actor(request, body.get("as"))
    node = request.app[NODE]
    try:
        follow = await follow_actions.follow(node, me, target)
    except follow_actions.FollowError as exc:
        raise ApiError.refused(exc) from None
    async with node.db.session() as session:
        remote = await actor_queries.actor_by_id(session, follow.followee_id)
    assert remote is not None
    return reply(_entry(remote, follow), 201)


async def delete_follow(request: web.Request) -> web.Response:
    require(request, "admin")
    node = request.app[NODE]
    target = request.query.get("actor") or request.query.get("account")
    if not target:
        raise ApiError(422, "actor: give the followed actor's id (or account=handle@domain)")
    me = await acting_actor(request)
    if not target.startswith(("https://", "http://")):
        try:
            target = (await follow_actions.resolve_target(node, target)).ap_id
        except follow_actions.FollowError as exc:
            raise ApiError.refused(exc, 404) from None
    if not await follow_actions.unfollow(node, me, target):
        raise ApiError(404, "not following that actor")
    return web.Response(status=204)


async def decide_follower(request: web.Request) -> web.Response:
    require(request, "admin")
    decision = request.match_info["decision"]
    body = await json_body(request)
    follower = field(body, "actor")
    me = await acting_actor(request, body.get("as"))
    done = await follow_actions.decide_follower(
        request.app[NODE], me, follower, accept=decision == "accept"
    )
    if not done:
        raise ApiError(404, "no follow request from that actor")
    return reply(
        {
            "actor": follower,
            "state": FollowState.ACCEPTED if decision == "accept" else FollowState.REJECTED,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API_PREFIX}/follows", list_follows)
    app.router.add_post(f"{API_PREFIX}/follows", create_follow)
    app.router.add_delete(f"{API_PREFIX}/follows", delete_follow)
    app.router.add_get(f"{API_PREFIX}/followers", list_followers)
    app.router.add_post(f"{API_PREFIX}/followers/{{decision:accept|reject}}", decide_follower)
