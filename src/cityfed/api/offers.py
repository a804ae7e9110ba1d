"""API /offers: offer a project for a partner's challenge; list, accept, reject offers (§8)."""

from __future__ import annotations

from aiohttp import web

from cityfed.actions import offers as offer_actions
from cityfed.actions.project_fields import FieldError
from cityfed.api.adoptions import refusal
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


async def create(request: web.Request) -> web.Response:
    require(request, "editor")
    body = await json_body(request)
    offerer = await acting_actor(request, body.pop("as", None))
    try:
        row = await offer_actions.offer(request.app[NODE], offerer, body)
    except FieldError as exc:
        raise refusal(exc) from None
    return reply({"id": row.ap_id, "state": row.state}, 201)


async def list_offers(request: web.Request) -> web.Response:
    """Offers we sent and offers made to our challenges (``?direction=sent`` or ``received``
    for one of them), each with its state and direction; newest first."""
    require(request, "editor")
    direction = request.query.get("direction", "all")
    if direction not in ("sent", "received", "all"):
        raise ApiError(422, "direction: expected sent, received or all")
    me = await acting_actor(request)
    async with request.app[NODE].db.session() as session:
        sent = await object_queries.made_by(session, me.id, offer_actions.SOLUTION_OFFER)
        received = await object_queries.received_by(session, me.id, offer_actions.SOLUTION_OFFER)
        answers = await offer_actions.answers(session, [*sent, *received])
    items = [
        {**offer_actions.view(row, answers.get(row.activity_ap_id or "")), "direction": name}
        for name, rows in (("sent", sent), ("received", received))
        if direction in (name, "all")
        for row in rows
    ]
    return page_of(request, newest_first(items))


async def decide(request: web.Request) -> web.Response:
    require(request, "editor")
    accept = request.match_info["decision"] == "accept"
    body = await json_body(request)
    solved = body.get("solved", False)
    if not isinstance(solved, bool):
        raise ApiError(422, "solved: expected true or false")
    if accept and "reason" in body:
        raise ApiError(422, "reason: only a rejection has a reason")
    if not accept and solved:
        raise ApiError(422, "solved: only an accepted offer can solve a challenge")
    try:
        row = await offer_actions.answer(
            request.app[NODE],
            body.get("offer"),
            accept=accept,
            solved=solved,
            reason=body.get("reason"),
        )
    except FieldError as exc:
        raise refusal(exc) from None
    return reply({"id": row.ap_id, "state": row.state})


def add_routes(app: web.Application) -> None:
    app.router.add_post(f"{API_PREFIX}/offers", create)
    app.router.add_get(f"{API_PREFIX}/offers", list_offers)
    app.router.add_post(f"{API_PREFIX}/offers/{{decision:accept|reject}}", decide)
