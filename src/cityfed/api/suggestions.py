"""API /challenges/{uid}/suggestions: projects known here that might solve one of our challenges,
ranked by ``models.suggestions`` (the same ranking the staff pages show), with the reasons."""

from __future__ import annotations

from aiohttp import web

from cityfed.api.common import ApiError, page_of, require
from cityfed.appkeys import NODE
from cityfed.models import objects as object_queries
from cityfed.models import suggestions as suggestion_queries
from cityfed.urls import API_PREFIX

API_LIMIT = 100  # the best this many, paged like every list


async def suggestions(request: web.Request) -> web.Response:
    require(request, "editor")
    node = request.app[NODE]
    ap_id = f"{node.urls.base}/challenges/{request.match_info['uid']}"
    async with node.db.session() as session:
        row = await object_queries.by_ap_id(session, ap_id)
        if row is None or not row.local or row.deleted_at is not None or row.type != "Challenge":
            raise ApiError(404, "no such challenge")
        found = await suggestion_queries.for_challenge(session, row, limit=API_LIMIT)
    items = [
        {
            "id": s.project.ap_id,
            "title": s.title,
            "local": s.project.local,
            "author": {"actor": s.author.ap_id, "account": f"{s.author.handle}@{s.author.domain}"},
            "score": round(s.score, 2),
            "shared_tags": s.shared_tags,
            "shared_sdgs": s.shared_sdgs,
            "text_overlap": round(s.text_overlap, 3),
            "phase": s.phase,
            "reasons": s.reasons,
        }
        for s in found
    ]
    return page_of(request, items, challenge=ap_id)


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API_PREFIX}/challenges/{{uid}}/suggestions", suggestions)
