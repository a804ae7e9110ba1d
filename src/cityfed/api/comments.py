"""API /comments (threads, our replies) and /admin/comments (moderation)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cityfed.actions import comments as comment_actions
from cityfed.actions import moderation
from cityfed.actions.media import MediaError
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
from cityfed.models import comments as comment_queries
from cityfed.models import objects as object_queries
from cityfed.models.states import CommentState
from cityfed.models.tables import Actor, Object
from cityfed.urls import API_PREFIX

STATES = tuple(CommentState)


def _view(row: Object, author: Actor) -> dict[str, Any]:
    doc = row.document
    return {
        "id": row.ap_id,
        "in_reply_to": row.in_reply_to,
        "context": row.context,
        "author": {
            "actor": author.ap_id,
            "account": f"{author.handle}@{author.domain}",
            "name": author.name,
        },
        "content": doc.get("content", ""),
        "published": row.published.isoformat(),
        "updated": row.updated.isoformat() if row.updated else None,
        "state": row.state,
        "local": row.local,
    }


async def create(request: web.Request) -> web.Response:
    require(request, "editor")
    body = await json_body(request)
    me = await acting_actor(request, body.get("as"))
    try:
        row = await comment_actions.comment(
            request.app[NODE],
            me,
            field(body, "in_reply_to"),
            body.get("content"),
            language=body.get("language"),
            attachments=_media_ids(body.get("attachments")),
        )
    except comment_actions.CommentError as exc:
        raise ApiError.refused(exc) from None
    except MediaError as exc:
        raise ApiError(exc.status, str(exc)) from None
    return reply({"id": row.ap_id, "url": row.ap_id}, 201)


def _media_ids(value: object) -> list[int]:
    """``attachments``: ids of this city's uploads (``POST /media``), sent with the comment."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ApiError(422, "attachments: expected a list of media ids")
    return value


async def thread(request: web.Request) -> web.Response:
    """The published comments in the thread of ``?object=id``, oldest first, a page at a time."""
    require(request, "editor")
    object_id = request.query.get("object")
    if not object_id:
        raise ApiError(422, "object: give the id of a project, challenge or comment")
    page, per_page = paging(request)
    node = request.app[NODE]
    async with node.db.session() as session:
        target = await object_queries.by_ap_id(session, object_id)
        if target is None:
            raise ApiError(404, "no such object")
        total = await comment_queries.count_thread(session, target)
        rows = await comment_queries.thread(
            session, target, offset=(page - 1) * per_page, limit=per_page
        )
    items = [_view(row, author) for row, author in rows]
    return paged(total, page, items, object=object_id, context=target.context or target.ap_id)


async def _own(request: web.Request) -> tuple[Actor, str]:
    node = request.app[NODE]
    comment_id = f"{node.urls.base}/comments/{request.match_info['uid']}"
    me = await acting_actor(request)
    return me, comment_id


async def edit(request: web.Request) -> web.Response:
    require(request, "editor")
    body = await json_body(request)
    me, comment_id = await _own(request)
    try:
        await comment_actions.edit(request.app[NODE], me, comment_id, body.get("content"))
    except LookupError:
        raise ApiError(404, "no such comment of ours") from None
    except comment_actions.CommentError as exc:
        raise ApiError.refused(exc) from None
    return reply({"id": comment_id})


async def delete(request: web.Request) -> web.Response:
    require(request, "editor")
    me, comment_id = await _own(request)
    try:
        await comment_actions.delete(request.app[NODE], me, comment_id)
    except LookupError:
        raise ApiError(404, "no such comment of ours") from None
    return web.Response(status=204)


async def moderation_queue(request: web.Request) -> web.Response:
    require(request, "admin")
    state = request.query.get("state", CommentState.HELD)
    if state not in STATES:
        raise ApiError(422, f"state: one of {', '.join(STATES)}")
    page, per_page = paging(request)
    async with request.app[NODE].db.session() as session:
        total = await comment_queries.count_held_comments(session, CommentState(state))
        rows = await comment_queries.held_comments(
            session, CommentState(state), offset=(page - 1) * per_page, limit=per_page
        )
    return paged(total, page, [_view(row, author) for row, author in rows], state=state)


async def moderate(request: web.Request) -> web.Response:
    token = require(request, "admin")
    body = await json_body(request)
    approve = request.match_info["decision"] == "approve"
    try:
        row = await moderation.decide(
            request.app[NODE],
            field(body, "id"),
            approve=approve,
            who=token.name,
            note=body.get("note"),
        )
    except moderation.ModerationError:
        raise ApiError(404, "no such comment on our threads") from None
    return reply({"id": row.ap_id, "state": row.state})


async def moderation_policy(request: web.Request) -> web.Response:
    token = require(request, "admin")
    body = await json_body(request)
    hold = body.get("moderate_comments")
    if not isinstance(hold, bool):
        raise ApiError(422, "moderate_comments: expected true or false")
    me = await acting_actor(request, body.get("as"))
    await moderation.set_policy(request.app[NODE], me, hold=hold, who=token.name)
    return reply({"actor": me.ap_id, "moderate_comments": hold})


def add_routes(app: web.Application) -> None:
    app.router.add_post(f"{API_PREFIX}/comments", create)
    app.router.add_get(f"{API_PREFIX}/comments", thread)
    app.router.add_patch(f"{API_PREFIX}/comments/{{uid}}", edit)
    app.router.add_delete(f"{API_PREFIX}/comments/{{uid}}", delete)
    app.router.add_get(f"{API_PREFIX}/admin/comments", moderation_queue)
    app.router.add_post(f"{API_PREFIX}/admin/comments/{{decision:approve|remove}}", moderate)
    app.router.add_put(f"{API_PREFIX}/admin/moderation", moderation_policy)
