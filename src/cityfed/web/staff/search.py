"""Staff search (``/staff/search``): our own and partners' projects, challenges and comments,
public or not, ranked, with the matched words highlighted (issue 18)."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from cityfed.appkeys import NODE
from cityfed.models import search as search_queries
from cityfed.models.search import BadQuery, Filters
from cityfed.web.filters import SDG_NAMES
from cityfed.web.search import PAGE_SIZE, result
from cityfed.web.staff.auth import requires
from cityfed.web.staff.render import page


@requires("editor")
async def search_page(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    words = request.query.get("q", "")
    raw_page = request.query.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 10_000 else 1
    error = None
    results = []
    total = 0
    try:
        wanted = search_queries.filters_from(request.query, public_only=False)
    except BadQuery as exc:
        wanted, error = Filters(), str(exc)
    if error is None and words.strip():
        async with node.db.session() as session:
            try:
                hits, total = await search_queries.search(
                    session, words, wanted, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
                )
                results = [result(h.obj, h.author, h.title, h.snippet) for h in hits]
            except BadQuery as exc:
                error = str(exc)
    kept = {k: v for k, v in request.query.items() if k != "page" and v}
    pages = max(1, -(-total // PAGE_SIZE))
    return page(
        request,
        "search.html",
        status=400 if error else 200,
        words=words,
        wanted=wanted,
        query=kept,
        error=error,
        results=results,
        total=total,
        prev_url=f"/staff/search?{urlencode({**kept, 'page': number - 1})}" if number > 1 else None,
        next_url=f"/staff/search?{urlencode({**kept, 'page': number + 1})}"
        if number < pages
        else None,
        goals=SDG_NAMES,
    )
