"""API /search: full-text search over our own and partners' projects, challenges and comments,
ranked, with highlighted snippets (issue 18). Staff tokens see non-public items too."""

from __future__ import annotations

from aiohttp import web

from cityfed.api.common import ApiError, paged, paging, require
from cityfed.appkeys import NODE
from cityfed.models import search as search_queries
from cityfed.models.search import BadQuery
from cityfed.urls import API_PREFIX


async def search(request: web.Request) -> web.Response:
    require(request, "editor")
    node = request.app[NODE]
    try:
        filters = search_queries.filters_from(request.query, public_only=False)
    except BadQuery as exc:
        raise ApiError(422, str(exc)) from None
    page, per_page = paging(request)
    async with node.db.session() as session:
        try:
            hits, total = await search_queries.search(
                session,
                request.query.get("q", ""),
                filters,
                offset=(page - 1) * per_page,
                limit=per_page,
            )
        except BadQuery as exc:
            raise ApiError(422, f"q: {exc}") from None
    items = [
        {
            "id": hit.obj.ap_id,
            "type": search_queries.KINDS[hit.obj.type],
            "title_html": hit.title,
            "snippet_html": hit.snippet,
            "rank": hit.rank,
            "published": hit.obj.published.isoformat(),
            "local": hit.obj.local,
            "author": {
                "actor": hit.author.ap_id,
                "account": f"{hit.author.handle}@{hit.author.domain}",
                "name": hit.author.name,
            },
        }
        for hit in hits
    ]
    return paged(total, page, items)


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API_PREFIX}/search", search)
