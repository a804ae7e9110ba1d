"""API /timeline: projects and challenges received from the cities we follow, and partners'
objects those cities boosted, newest first."""

from __future__ import annotations

import logging

from aiohttp import web

from cityfed.actions import projects as project_actions
from cityfed.actions.project_fields import view
from cityfed.api.common import ApiError, acting_actor, paged, paging, require
from cityfed.appkeys import NODE
from cityfed.models import objects as object_queries
from cityfed.models import reactions as reaction_queries
from cityfed.models.reactions import ReactionKind
from cityfed.models.tables import Actor
from cityfed.urls import API_PREFIX

log = logging.getLogger("cityfed.api.timeline")

TYPES = {"project": ("Project",), "challenge": ("Challenge",), None: ("Project", "Challenge")}


async def timeline(request: web.Request) -> web.Response:
    require(request, "editor")
    node = request.app[NODE]
    me = await acting_actor(request)
    kind = request.query.get("type")
    if kind not in TYPES:
        raise ApiError(422, "type: project or challenge")
    page, per_page = paging(request)
    async with node.db.session() as session:
        rows = await object_queries.timeline(
            session, me.id, TYPES[kind], offset=(page - 1) * per_page, limit=per_page
        )
        total = await node.counts.get(
            ("timeline", me.id, TYPES[kind]),
            lambda: object_queries.count_timeline(session, me.id, TYPES[kind]),
        )
        ids = [obj.id for obj, _ in rows]
        counts = await reaction_queries.counts(session, ids)
        boosters = await reaction_queries.boosters_followed(session, me.id, ids)
    items = []
    for obj, author in rows:
        try:
            entry = view(
                project_actions.load(obj),
                likes=counts[obj.id][ReactionKind.LIKE],
                boosts=counts[obj.id][ReactionKind.ANNOUNCE],
            )
        except ValueError as exc:  # stored before a vocabulary change; skip, never fail the page
            log.warning("cannot show %s: %s", obj.ap_id, exc)
            continue
        entry["author"] = _actor_ref(author)
        # A partner's object in our timeline because a city we follow boosted it.
        entry["boosted_by"] = [_actor_ref(actor) for actor in boosters.get(obj.id, [])]
        items.append(entry)
    return paged(total, page, items)


def _actor_ref(actor: Actor) -> dict[str, str | None]:
    return {
        "actor": actor.ap_id,
        "account": f"{actor.handle}@{actor.domain}",
        "name": actor.name,
    }


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API_PREFIX}/timeline", timeline)
