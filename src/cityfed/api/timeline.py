"""/api/v1/timeline: projects and challenges received from the cities we follow, newest first."""

from __future__ import annotations

import logging

from aiohttp import web

from cityfed.actions import projects as project_actions
from cityfed.actions.project_fields import view
from cityfed.api.common import ApiError, acting_actor, paged, paging, require
from cityfed.models import objects as object_queries
from cityfed.node import NODE

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
    items = []
    for obj, author in rows:
        try:
            entry = view(project_actions.load(obj))
        except ValueError as exc:  # stored before a vocabulary change; skip, never fail the page
            log.warning("cannot show %s: %s", obj.ap_id, exc)
            continue
        entry["author"] = {
            "actor": author.ap_id,
            "account": f"{author.handle}@{author.domain}",
            "name": author.name,
        }
        items.append(entry)
    return paged(total, page, items)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/timeline", timeline)
