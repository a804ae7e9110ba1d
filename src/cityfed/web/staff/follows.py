"""Follows: follow a city by its handle, see whom we follow and who follows us, answer requests.

The same actions as ``API /follows`` and ``/followers`` (and, like them, for admins).
"""

from __future__ import annotations

from aiohttp import web

from cityfed.actions import follows as follow_actions
from cityfed.appkeys import NODE
from cityfed.models import follows as follow_queries
from cityfed.web.staff.auth import requires
from cityfed.web.staff.common import city, form, text
from cityfed.web.staff.i18n import Shown
from cityfed.web.staff.render import page, redirect
from cityfed.web.staff.state import translator


async def _page(
    request: web.Request, *, status: int = 200, error: Shown | None = None, account: str = ""
) -> web.Response:
    me = await city(request)
    async with request.app[NODE].db.session() as session:
        following = await follow_queries.listing(session, me.id, following=True)
        followers = await follow_queries.listing(session, me.id, following=False)
    return page(
        request,
        "follows.html",
        status=status,
        me=me,
        following=following,
        followers=followers,
        error=error,
        account=account,
    )


@requires("admin")
async def follows_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@requires("admin")
async def follow(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    account = text(data, "account")
    if not account:
        _ = translator(request)
        message = _("Give the city's handle, such as hamburg@hamburg.example.")
        return await _page(request, status=422, error=message)
    me = await city(request)
    try:
        await follow_actions.follow(request.app[NODE], me, account)
    except follow_actions.FollowError as exc:
        # Shown next to the handle field (the refusal's field), translated by its template.
        return await _page(request, status=422, error=exc, account=account)
    return redirect("/staff/follows", done="follow_requested")


@requires("admin")
async def unfollow(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    me = await city(request)
    await follow_actions.unfollow(request.app[NODE], me, text(data, "actor"))
    return redirect("/staff/follows", done="unfollowed")


@requires("admin")
async def decide_follower(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    me = await city(request)
    await follow_actions.decide_follower(
        request.app[NODE], me, text(data, "actor"), accept=data.get("decision") == "accept"
    )
    return redirect("/staff/follows", done="follower_decided")
