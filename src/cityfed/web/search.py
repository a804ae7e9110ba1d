"""Public search and catalogue pages (issue 18): ``/search``, ``/catalogue``, and the tag and
SDG pages, which are the catalogue narrowed to one tag or goal. Public items only, ours and
partners', each attributed to its city and linked to its origin."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from cityfed.activitypub.vocab.common import is_valid_hashtag
from cityfed.appkeys import NODE
from cityfed.models import search as search_queries
from cityfed.models.search import BadQuery, Filters
from cityfed.models.tables import Actor, Object
from cityfed.web import feeds, paging
from cityfed.web.cards import cards
from cityfed.web.cities import profile_url
from cityfed.web.filters import KIND_LABELS, SDG_NAMES
from cityfed.web.render import render, render_error
from cityfed.web.templates_key import TEMPLATES

PAGE_SIZE = 20
KIND_NAMES = {"project": "Project", "challenge": "Challenge", "comment": "Comment"}


@dataclass(frozen=True)
class Result:
    """One line of a result list: what it is, whose, where it lives, and why it matched."""

    kind: str
    ap_id: str
    url: str
    title: str  # HTML: escaped, matched words in <mark>
    snippet: str  # HTML: escaped, matched words in <mark>
    city: str
    domain: str
    city_url: str
    local: bool
    published: str

    @property
    def kind_label(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)


def result(obj: Object, author: Actor, title: str = "", snippet: str = "") -> Result:
    doc = obj.document if isinstance(obj.document, dict) else {}
    url = doc.get("url") if isinstance(doc.get("url"), str) else None
    if not title:
        entry = search_queries.entry_of(obj)
        plain = next(iter(entry.texts.values()), ("", "")) if entry else ("", "")
        title = search_queries.marked(plain[0] or obj.ap_id)
        snippet = search_queries.marked(plain[1][:240])
    return Result(
        kind=search_queries.KINDS.get(obj.type, obj.type.lower()),
        ap_id=obj.ap_id,
        url=url or obj.ap_id,
        title=title,
        snippet=snippet,
        city=author.name or author.handle,
        domain=author.domain,
        city_url=profile_url(author),
        local=obj.local,
        published=obj.published.date().isoformat(),
    )


def _error(request: web.Request, status: int, title: str, message: str) -> web.Response:
    node = request.app[NODE]
    return render_error(
        request.app[TEMPLATES], status, title, message, node_name=node.settings.domain
    )


async def _listing(
    request: web.Request,
    *,
    title: str,
    words: str | None,
    filters: Filters,
    action: str,
    topic_feed: dict[str, str] | None = None,
) -> web.Response:
    node = request.app[NODE]
    try:
        number = paging.page_number(request.query.get("page"))
    except paging.BadPage:
        return _error(request, 400, "Bad page number", "Pages are numbered 1, 2, 3…")
    offset = (number - 1) * PAGE_SIZE
    async with node.db.session() as session:
        if words is not None:
            try:
                hits, total = await search_queries.search(
                    session, words, filters, offset=offset, limit=PAGE_SIZE
                )
            except BadQuery as exc:
                return _error(request, 400, "Cannot search that", str(exc))
            results = [result(h.obj, h.author, h.title, h.snippet) for h in hits]
        else:
            rows, total = await search_queries.catalogue(
                session, filters, offset=offset, limit=PAGE_SIZE
            )
            results = [result(obj, author) for obj, author in rows]
    kept = {k: v for k, v in request.query.items() if k != "page" and v}
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request.app[TEMPLATES],
        "search.html",
        title=title,
        action=action,
        words=words,
        wanted=filters,
        query=kept,
        results=results,
        total=total,
        number=number,
        prev_url=f"{action}?{urlencode({**kept, 'page': number - 1})}" if number > 1 else None,
        next_url=f"{action}?{urlencode({**kept, 'page': number + 1})}" if number < pages else None,
        kinds=KIND_LABELS,
        goals=SDG_NAMES,
        node_name=node.settings.domain,
        topic_feed=topic_feed,
    )


def _filters(request: web.Request) -> Filters:
    return search_queries.filters_from(request.query, public_only=True)


async def search_page(request: web.Request) -> web.Response:
    """``/search?q=…``: public projects, challenges and comments of ours and our partners'."""
    try:
        filters = _filters(request)
    except BadQuery as exc:
        return _error(request, 400, "Cannot search that", str(exc))
    words = request.query.get("q", "")
    return await _listing(request, title="Search", words=words, filters=filters, action="/search")


async def catalogue_page(request: web.Request) -> web.Response:
    """``/catalogue``: every public project and challenge the node knows, newest first."""
    try:
        filters = _filters(request)
    except BadQuery as exc:
        return _error(request, 400, "Bad filter", str(exc))
    return await _listing(
        request, title="Catalogue", words=None, filters=filters, action="/catalogue"
    )


async def tag_page(request: web.Request) -> web.Response:
    """``/tags/{tag}``: public projects and challenges with a hashtag, ours and partners'
    (Mastodon links a post's hashtags here), as cards naming their city and linking to their
    origin."""
    node = request.app[NODE]
    tag = request.match_info["tag"].removeprefix("#")
    if not is_valid_hashtag(tag):
        return _error(request, 404, "Not found", "That is not a hashtag.")
    try:
        number = paging.page_number(request.query.get("page"))
    except paging.BadPage:
        return _error(request, 400, "Bad page number", "Pages are numbered 1, 2, 3…")
    size = paging.PAGE_SIZE
    async with node.db.session() as session:
        rows, total = await search_queries.catalogue(
            session, Filters(tag=tag, public_only=True), offset=(number - 1) * size, limit=size
        )
    pager = paging.Pager(number, total, request.rel_url.raw_path)
    if pager.beyond_end:
        return _error(request, 404, "No such page", "This list has fewer pages.")
    return render(
        request.app[TEMPLATES],
        "list.html",
        title=f"#{tag}",
        cards=cards([obj for obj, _ in rows], {author.id: author for _, author in rows}),
        pager=pager,
        actor=None,
        empty=f"Nothing here is tagged #{tag} yet.",
        node_name=node.settings.domain,
        topic_feed={"href": feeds.tag_feed_url(node.urls.base, tag), "title": f"#{tag}"},
    )


async def sdg_page(request: web.Request) -> web.Response:
    """``/sdgs/{goal}``: public projects and challenges for one Sustainable Development Goal."""
    goal = request.match_info["goal"]
    if not goal.isdigit() or not 1 <= int(goal) <= 17:
        return _error(request, 404, "Not found", "Goals are numbered 1 to 17.")
    try:
        filters = _filters(request)
    except BadQuery as exc:
        return _error(request, 400, "Bad filter", str(exc))
    filters.sdg = int(goal)
    title = f"SDG {goal}: {SDG_NAMES[int(goal)]}"
    feed = {"href": feeds.sdg_feed_url(request.app[NODE].urls.base, int(goal)), "title": title}
    return await _listing(
        request, title=title, words=None, filters=filters, action=request.path, topic_feed=feed
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/search", search_page)
    app.router.add_get("/catalogue", catalogue_page)
    app.router.add_get("/sdgs/{goal}", sdg_page)
