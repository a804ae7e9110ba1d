"""The Mastodon client API for signed-in staff (issue 17.5): a staff member's app acts as the
city, through the same actions/ as the REST API and the staff pages.

- ``accounts/verify_credentials``: the city's account (the one the staff act for).
- ``timelines/home``: the partner timeline (models.objects.timeline, as the REST API's).
- ``notifications``: comments → mention, follows → follow / follow_request, likes → favourite,
  boosts → reblog, adoptions and solution offers → mention with a ``cityfed`` detail, received
  reports → admin.report (with ``admin:read``).
- ``POST statuses`` with ``in_reply_to_id``: a comment (actions/comments.py). A status that
  answers nothing would be a new project: those are published on the staff pages or the REST
  API, so it is refused with a reason.
- ``statuses/:id/(un)favourite`` and ``(un)reblog``: actions/reactions.py.
- ``accounts/:id/(un)follow``, ``accounts/relationships``: actions/follows.py.
- ``markers``: where the app stopped reading.
"""

from __future__ import annotations

import logging
import re
from html import escape
from typing import TYPE_CHECKING, Any

from aiohttp import web

from cityfed.actions import comments as comment_actions
from cityfed.actions import follows as follow_actions
from cityfed.actions import oauth as oauth_actions
from cityfed.actions import reactions as reaction_actions
from cityfed.actions.oauth import Bearer
from cityfed.appkeys import NODE
from cityfed.mastodon.auth import json_reply, params, refusal, signed_in, text_param
from cityfed.mastodon.entities import (
    AccountStats,
    StatusCounts,
    Viewer,
    account_entity,
    status_entity,
    timestamp,
)
from cityfed.mastodon.ids import (
    SEQUENCE_MASK,
    account_id,
    decode_account_id,
    decode_status_id,
    status_id,
)
from cityfed.models import actors as actor_queries
from cityfed.models import client_app as client_queries
from cityfed.models import follows as follow_queries
from cityfed.models import notifications as notification_queries
from cityfed.models import objects as object_queries
from cityfed.models import reactions as reaction_queries
from cityfed.models.notifications import Event, EventKind
from cityfed.models.reactions import ReactionKind
from cityfed.models.states import FollowState
from cityfed.models.tables import Actor, Object
from cityfed.node import Node

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("cityfed.mastodon.staff")

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
NOTIFICATION_TYPES = {
    EventKind.COMMENT: "mention",
    EventKind.FOLLOW: "follow",
    EventKind.FOLLOW_REQUEST: "follow_request",
    EventKind.LIKE: "favourite",
    EventKind.BOOST: "reblog",
    EventKind.ADOPTION: "mention",
    EventKind.OFFER: "mention",
    EventKind.REPORT: "admin.report",
}
# A reply's leading mentions: apps write "@owner@host " first; the comment mentions its owner.
_LEADING_MENTIONS = re.compile(r"^(\s*@[\w.-]+(@[\w.:-]+)?\s+)+")


# --- shared -------------------------------------------------------------------------------------


async def _city(node: Node) -> Actor:
    """The local city the staff act for: the node's first, as the REST API and staff pages."""
    async with node.db.session() as session:
        cities = await actor_queries.local_actors(session)
    if not cities:
        raise refusal(404, "This node has no city yet")
    return cities[0]


def _limit(values: dict[str, Any]) -> int:
    raw = text_param(values, "limit") or str(DEFAULT_LIMIT)
    if not raw.isdigit():
        raise refusal(422, "limit: expected a number")
    return max(1, min(int(raw), MAX_LIMIT))


def _id_param(values: dict[str, Any], name: str) -> int | None:
    raw = text_param(values, name)
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 20:
        raise refusal(422, f"{name}: expected an id")
    return int(raw)


async def _stats(session: AsyncSession, actor: Actor) -> AccountStats:
    if not actor.local:
        return AccountStats()
    return AccountStats(
        statuses=await object_queries.count_local_objects(session, actor.id),
        followers=await follow_queries.count_followers(session, actor.id),
        following=await follow_queries.count_following(session, actor.id),
    )


class Renderer:
    """Entities for one request: accounts computed once each, statuses with counts and what
    the city itself did with them."""

    def __init__(self, session: AsyncSession, node: Node, me: Actor) -> None:
        self.session, self.node, self.me = session, node, me
        self.base = node.urls.base
        self._accounts: dict[int, dict[str, Any]] = {}

    async def account(self, actor: Actor) -> dict[str, Any]:
        if actor.id not in self._accounts:
            stats = await _stats(self.session, actor)
            self._accounts[actor.id] = account_entity(actor, base_url=self.base, stats=stats)
        return self._accounts[actor.id]

    async def statuses(self, rows: list[tuple[Object, Actor]]) -> list[dict[str, Any]]:
        session = self.session
        ids = [obj.id for obj, _ in rows]
        counts = await reaction_queries.counts(session, ids)
        mine = await client_queries.reactions_by(session, self.me.id, ids)
        parents = await client_queries.objects_by_ap_ids(
            session, [obj.in_reply_to for obj, _ in rows if obj.in_reply_to]
        )
        entities = []
        for obj, author in rows:
            parent = parents.get(obj.in_reply_to or "")
            entities.append(
                status_entity(
                    obj,
                    await self.account(author),
                    base_url=self.base,
                    counts=StatusCounts(
                        replies=await object_queries.count_replies(session, obj.ap_id),
                        reblogs=counts[obj.id][ReactionKind.ANNOUNCE],
                        favourites=counts[obj.id][ReactionKind.LIKE],
                    ),
                    in_reply_to=(
                        (status_id(parent.published, parent.id), account_id(parent.actor_id))
                        if parent is not None
                        else None
                    ),
                    mentioned={author.ap_id: author, self.me.ap_id: self.me},
                    viewer=Viewer(
                        favourited=(obj.id, ReactionKind.LIKE) in mine,
                        reblogged=(obj.id, ReactionKind.ANNOUNCE) in mine,
                    ),
                )
            )
        return entities

    async def status(self, obj: Object) -> dict[str, Any]:
        author = await self.session.get(Actor, obj.actor_id)
        assert author is not None
        return (await self.statuses([(obj, author)]))[0]


async def _object(session: AsyncSession, raw: str) -> Object:
    decoded = decode_status_id(raw)
    found = (
        await client_queries.object_by_status_key(
            session, decoded[0], decoded[1], SEQUENCE_MASK + 1
        )
        if decoded is not None
        else None
    )
    if found is None:
        raise refusal(404, "Record not found")
    return found


def _link_header(request: web.Request, ids: list[str]) -> dict[str, str]:
    """Mastodon's paging: ``next`` (older, max_id) and ``prev`` (newer, min_id)."""
    if not ids:
        return {}
    url = request.url.with_query(None)
    limit = request.query.get("limit")
    extra = {"limit": limit} if limit else {}
    older = url.with_query({**extra, "max_id": ids[-1]})
    newer = url.with_query({**extra, "min_id": ids[0]})
    return {"Link": f'<{older}>; rel="next", <{newer}>; rel="prev"'}


def _window(
    items: list[tuple[int, Any]], values: dict[str, Any], limit: int
) -> list[tuple[int, Any]]:
    """Items (numeric id, item) newest first, cut by max_id / since_id / min_id and limit."""
    max_id, since_id, min_id = (_id_param(values, n) for n in ("max_id", "since_id", "min_id"))
    items = sorted(items, key=lambda pair: pair[0], reverse=True)
    if max_id is not None:
        items = [pair for pair in items if pair[0] < max_id]
    if since_id is not None:
        items = [pair for pair in items if pair[0] > since_id]
    if min_id is not None:  # the page right after min_id: the oldest newer items
        items = [pair for pair in items if pair[0] > min_id][-limit:]
    return items[:limit]


# --- accounts -----------------------------------------------------------------------------------


async def verify_credentials(request: web.Request) -> web.Response:
    grant = await signed_in(request, "profile")
    node = request.app[NODE]
    me = await _city(node)
    async with node.db.session() as session:
        entity = dict(await Renderer(session, node, me).account(me))
        requests = await follow_queries.count_followers(session, me.id, FollowState.PENDING)
    assert grant.user is not None
    entity["source"] = {
        "privacy": "public",
        "sensitive": False,
        "language": "",
        "note": me.summary or "",
        "fields": [],
        "follow_requests_count": requests,
        "indexable": True,
        "hide_collections": False,
        "discoverable": True,
        "attribution_domains": [],
    }
    entity["role"] = {
        "id": "1" if grant.user.role == "admin" else "2",
        "name": grant.user.role,
        "permissions": "1" if grant.user.role == "admin" else "0",
        "color": "",
        "highlighted": False,
    }
    return json_reply(entity)


def _relationship(other: Actor, ours: str | None, theirs: str | None) -> dict[str, Any]:
    return {
        "id": account_id(other.id),
        "following": ours == FollowState.ACCEPTED,
        "showing_reblogs": ours == FollowState.ACCEPTED,
        "notifying": False,
        "languages": None,
        "followed_by": theirs == FollowState.ACCEPTED,
        "blocking": False,
        "blocked_by": False,
        "muting": False,
        "muting_notifications": False,
        "requested": ours == FollowState.PENDING,
        "requested_by": theirs == FollowState.PENDING,
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    }


async def relationships(request: web.Request) -> web.Response:
    await signed_in(request, "read:follows")
    node = request.app[NODE]
    values = await params(request)
    raw = values.get("id", [])
    wanted = [raw] if isinstance(raw, str) else list(raw)
    ids = [number for item in wanted if (number := decode_account_id(str(item))) is not None]
    me = await _city(node)
    async with node.db.session() as session:
        actors = await client_queries.actors_by_ids(session, ids)
        ours, theirs = await client_queries.follow_states(session, me.id, list(actors))
    return json_reply(
        [
            _relationship(actors[i], ours.get(i), theirs.get(i))
            for i in dict.fromkeys(ids)
            if i in actors
        ]
    )


async def _account_of(node: Node, request: web.Request) -> Actor:
    number = decode_account_id(request.match_info["id"])
    async with node.db.session() as session:
        actor = await session.get(Actor, number) if number is not None else None
    if actor is None:
        raise refusal(404, "Record not found")
    return actor


async def _relationship_now(node: Node, me: Actor, other: Actor) -> web.Response:
    async with node.db.session() as session:
        ours, theirs = await client_queries.follow_states(session, me.id, [other.id])
    return json_reply(_relationship(other, ours.get(other.id), theirs.get(other.id)))


async def follow(request: web.Request) -> web.Response:
    await signed_in(request, "write:follows")
    node = request.app[NODE]
    other = await _account_of(node, request)
    me = await _city(node)
    if other.local:
        raise refusal(422, "Only partner cities on other nodes can be followed")
    try:
        await follow_actions.follow(node, me, other.ap_id)
    except follow_actions.FollowError as exc:
        raise refusal(422, str(exc)) from None
    return await _relationship_now(node, me, other)


async def unfollow(request: web.Request) -> web.Response:
    await signed_in(request, "write:follows")
    node = request.app[NODE]
    other = await _account_of(node, request)
    me = await _city(node)
    await follow_actions.unfollow(node, me, other.ap_id)
    return await _relationship_now(node, me, other)


# --- timelines and statuses ---------------------------------------------------------------------


async def home(request: web.Request) -> web.Response:
    """The partner timeline, newest first, paged by id like Mastodon's."""
    await signed_in(request, "read:statuses")
    node = request.app[NODE]
    values = await params(request)
    limit = _limit(values)
    me = await _city(node)
    async with node.db.session() as session:
        # The timeline query pages by offset; walk it until the window is full or it ends.
        collected: list[tuple[int, Any]] = []
        offset, batch = 0, 100
        while True:
            rows = await object_queries.timeline(session, me.id, offset=offset, limit=batch)
            collected += [(int(status_id(obj.published, obj.id)), (obj, a)) for obj, a in rows]
            window = _window(collected, values, limit)
            if len(rows) < batch or (len(window) == limit and "min_id" not in values):
                break
            offset += batch
        entities = await Renderer(session, node, me).statuses([row for _, row in window])
    return json_reply(entities, headers=_link_header(request, [e["id"] for e in entities]))


async def post_status(request: web.Request) -> web.Response:
    """A reply (``in_reply_to_id``) becomes a comment of the city."""
    await signed_in(request, "write:statuses")
    node = request.app[NODE]
    values = await params(request)
    reply_to = text_param(values, "in_reply_to_id")
    if not reply_to:
        raise refusal(
            422,
            "cityfed: only replies can be posted from an app; publish projects and challenges "
            "on the staff pages or the REST API",
        )
    if text_param(values, "visibility") == "direct":
        raise refusal(422, "cityfed: comments are public; direct messages are not supported")
    text = _LEADING_MENTIONS.sub("", text_param(values, "status") or "")
    me = await _city(node)
    async with node.db.session() as session:
        target = await _object(session, reply_to)
    try:
        comment = await comment_actions.comment(
            node, me, target.ap_id, text, language=text_param(values, "language") or None
        )
    except comment_actions.CommentError as exc:
        raise refusal(422, str(exc)) from None
    async with node.db.session() as session:
        return json_reply(await Renderer(session, node, me).status(comment))


async def _react(request: web.Request, kind: ReactionKind, *, undo: bool) -> web.Response:
    await signed_in(request, "write:favourites" if kind is ReactionKind.LIKE else "write:statuses")
    node = request.app[NODE]
    me = await _city(node)
    async with node.db.session() as session:
        target = await _object(session, request.match_info["id"])
    change = reaction_actions.undo if undo else reaction_actions.react
    try:
        await change(node, me, kind, target.ap_id)
    except reaction_actions.ReactionError as exc:
        raise refusal(422, str(exc)) from None
    async with node.db.session() as session:
        renderer = Renderer(session, node, me)
        entity = await renderer.status(target)
        if kind is ReactionKind.ANNOUNCE and not undo:
            # Mastodon answers a boost with the boost: a status of ours wrapping the original.
            entity = {
                **entity,
                "account": await renderer.account(me),
                "content": "",
                "reblog": entity,
                "in_reply_to_id": None,
                "in_reply_to_account_id": None,
            }
    return json_reply(entity)


async def favourite(request: web.Request) -> web.Response:
    return await _react(request, ReactionKind.LIKE, undo=False)


async def unfavourite(request: web.Request) -> web.Response:
    return await _react(request, ReactionKind.LIKE, undo=True)


async def reblog(request: web.Request) -> web.Response:
    return await _react(request, ReactionKind.ANNOUNCE, undo=False)


async def unreblog(request: web.Request) -> web.Response:
    return await _react(request, ReactionKind.ANNOUNCE, undo=True)


# --- notifications ------------------------------------------------------------------------------


def _kinds(values: dict[str, Any], grant: Bearer) -> list[EventKind]:
    def names(key: str) -> set[str]:
        raw = values.get(key, [])
        return {raw} if isinstance(raw, str) else set(raw)

    types, excluded = names("types"), names("exclude_types")
    kinds = []
    for kind, name in NOTIFICATION_TYPES.items():
        if kind is EventKind.REPORT and not grant.allows("admin:read:reports"):
            continue
        if (types and name not in types) or name in excluded:
            continue
        kinds.append(kind)
    return kinds


async def _notification(renderer: Renderer, event: Event, me: Actor) -> dict[str, Any]:
    actor = event.actor or me
    entity: dict[str, Any] = {
        "id": str(event.id),
        "type": NOTIFICATION_TYPES[event.kind],
        "group_key": f"ungrouped-{event.id}",
        "created_at": timestamp(event.at),
        "account": await renderer.account(actor),
    }
    if event.obj is not None:
        author = actor if event.kind not in (EventKind.LIKE, EventKind.BOOST) else me
        status = (await renderer.statuses([(event.obj, author)]))[0]
        if event.kind in (EventKind.ADOPTION, EventKind.OFFER):
            status, entity["cityfed"] = _cooperation(event, status)
        entity["status"] = status
    if event.report is not None:
        report = event.report
        entity["report"] = {
            "id": str(report.id),
            "action_taken": report.resolved_at is not None,
            "action_taken_at": timestamp(report.resolved_at) if report.resolved_at else None,
            "category": "other",
            "comment": report.content or "",
            "forwarded": True,
            "created_at": timestamp(report.created_at),
            "status_ids": None,
            "rule_ids": None,
            "target_account": await renderer.account(me),
        }
        entity["cityfed"] = {"type": "report", "origin_domain": report.origin_domain}
    return entity


def _cooperation(event: Event, status: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An adoption or a solution offer as a mention: what it is, said first in the content,
    and the cityfed detail as data."""
    assert event.obj is not None
    obj = event.obj
    name = (event.actor.name if event.actor else None) or "A partner city"
    if event.kind is EventKind.ADOPTION:
        detail = {
            "type": "adoption",
            "project": obj.target,
            "status": obj.document.get("cf:status"),
        }
        line = f"{name} adopts your project"
    else:
        detail = {"type": "offer", "challenge": obj.target, "state": obj.state}
        line = f"{name} offers a solution to your challenge"
    target = escape(obj.target or "", quote=True)
    lead = f'<p>{escape(line)}: <a href="{target}">{target}</a></p>'
    return {**status, "content": lead + status["content"]}, detail


async def notifications(request: web.Request) -> web.Response:
    grant = await signed_in(request, "read:notifications")
    node = request.app[NODE]
    values = await params(request)
    limit = _limit(values)
    max_id = _id_param(values, "max_id")
    me = await _city(node)
    async with node.db.session() as session:
        events = await notification_queries.events(
            session,
            me.id,
            kinds=_kinds(values, grant),
            before=notification_queries.time_of(max_id) if max_id is not None else None,
            limit=limit + 1 if "min_id" not in values else 1000,
        )
        window = _window([(event.id, event) for event in events], values, limit)
        renderer = Renderer(session, node, me)
        entities = [await _notification(renderer, event, me) for _, event in window]
    return json_reply(entities, headers=_link_header(request, [e["id"] for e in entities]))


# --- markers ------------------------------------------------------------------------------------


def _marker_entities(markers: list[Any]) -> dict[str, Any]:
    return {
        marker.timeline: {
            "last_read_id": marker.last_read_id,
            "version": marker.version,
            "updated_at": timestamp(marker.updated_at),
        }
        for marker in markers
    }


async def get_markers(request: web.Request) -> web.Response:
    grant = await signed_in(request, "read:statuses")
    values = await params(request)
    raw = values.get("timeline", [])
    timelines = [raw] if isinstance(raw, str) else list(raw)
    assert grant.user is not None
    markers = await oauth_actions.markers(request.app[NODE], grant.user, timelines)
    return json_reply(_marker_entities(markers))


async def set_markers(request: web.Request) -> web.Response:
    grant = await signed_in(request, "write:statuses")
    values = await params(request)
    positions: dict[str, str] = {}
    for timeline in oauth_actions.TIMELINES:
        nested = values.get(timeline)
        flat = values.get(f"{timeline}[last_read_id]")
        if isinstance(nested, dict) and isinstance(nested.get("last_read_id"), str):
            positions[timeline] = nested["last_read_id"]
        elif isinstance(flat, str):
            positions[timeline] = flat
    if not positions:
        raise refusal(422, "home[last_read_id] or notifications[last_read_id] is required")
    assert grant.user is not None
    try:
        saved = await oauth_actions.save_markers(request.app[NODE], grant.user, positions)
    except oauth_actions.OAuthError as exc:
        raise refusal(422, exc.description) from None
    return json_reply(_marker_entities(saved))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/accounts/verify_credentials", verify_credentials)
    r.add_get("/api/v1/accounts/relationships", relationships)
    r.add_post("/api/v1/accounts/{id}/follow", follow)
    r.add_post("/api/v1/accounts/{id}/unfollow", unfollow)
    r.add_get("/api/v1/timelines/home", home)
    r.add_post("/api/v1/statuses", post_status)
    r.add_post("/api/v1/statuses/{id}/favourite", favourite)
    r.add_post("/api/v1/statuses/{id}/unfavourite", unfavourite)
    r.add_post("/api/v1/statuses/{id}/reblog", reblog)
    r.add_post("/api/v1/statuses/{id}/unreblog", unreblog)
    r.add_get("/api/v1/notifications", notifications)
    r.add_get("/api/v1/markers", get_markers)
    r.add_post("/api/v1/markers", set_markers)
