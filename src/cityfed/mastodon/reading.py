"""Anonymous reading through the Mastodon client API (issue 17.2).

Instance (v1, v2), custom emojis, accounts (lookup, one, its statuses), statuses (one, its
context), the public and hashtag timelines, search (v2) and trending tags. Listings page the way
Mastodon's do: ``limit`` (default 20, at most 40), ``max_id``/``since_id``/``min_id``, and a
``Link`` header with the ``next`` (older) and ``prev`` (newer) pages.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from cityfed import __version__
from cityfed.appkeys import NODE
from cityfed.http.responses import error, plain_json
from cityfed.mastodon import entities
from cityfed.mastodon.entities import InstanceFacts, TagUse
from cityfed.mastodon.ids import decode_account_id, decode_status_id
from cityfed.mastodon.render import Renderer
from cityfed.models import actors as actor_queries
from cityfed.models import statuses as status_queries
from cityfed.models.statuses import Cursor, Listing, Window
from cityfed.models.tables import Object
from cityfed.node import Node

log = logging.getLogger("cityfed.mastodon")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
CONTEXT_LIMIT = 4096
TRUE = frozenset({"1", "true", "True", "on", "yes"})


class BadRequest(ValueError):
    """A parameter a client sent that we can't use: answered 400 with the reason."""


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "") in TRUE


def _limit(request: web.Request, default: int = DEFAULT_LIMIT, most: int = MAX_LIMIT) -> int:
    raw = request.query.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("limit: not a number") from None
    return max(1, min(value, most))


def _cursor(request: web.Request, name: str) -> Cursor | None:
    raw = request.query.get(name)
    if not raw:
        return None
    decoded = decode_status_id(raw)
    if decoded is None:
        raise BadRequest(f"{name}: not a status id")
    return Cursor(at=decoded[0], sequence=decoded[1])


def _window(request: web.Request) -> Window:
    return Window(
        max=_cursor(request, "max_id"),
        since=_cursor(request, "since_id"),
        min=_cursor(request, "min_id"),
    )


def _base(request: web.Request) -> str:
    return request.app[NODE].urls.base


def _link_header(request: web.Request, page: list[dict[str, Any]]) -> dict[str, str]:
    """Mastodon's ``Link``: ``next`` for older statuses, ``prev`` for newer ones."""
    if not page:
        return {}
    url = f"{_base(request)}{request.path}"
    kept = {k: v for k, v in request.query.items() if k not in ("max_id", "since_id", "min_id")}
    older = urlencode({**kept, "max_id": page[-1]["id"]})
    newer = urlencode({**kept, "min_id": page[0]["id"]})
    return {"Link": f'<{url}?{older}>; rel="next", <{url}?{newer}>; rel="prev"'}


def answer(doc: Any, *, headers: dict[str, str] | None = None) -> web.Response:
    return plain_json(doc, headers=headers)


async def _page(request: web.Request, listing: Listing) -> web.Response:
    node = request.app[NODE]
    try:
        window = _window(request)
        limit = _limit(request)
    except BadRequest as exc:
        return error(400, str(exc))
    async with node.db.session() as session:
        rows = await status_queries.statuses(session, listing, window, limit=limit)
        page = await Renderer(session, node.urls.base).statuses(rows)
    return answer(page, headers=_link_header(request, page))


# --- instance -----------------------------------------------------------------------------------


async def instance_facts(node: Node) -> InstanceFacts:
    """What both instance documents say; the counts are NodeInfo's (users, local posts)."""
    async with node.db.session() as session:
        users = await actor_queries.count_local_actors(session)
        posts = await status_queries.count_local_posts(session)
        domains = await status_queries.count_known_domains(session)
        cities = await actor_queries.local_actors(session)
        languages = await status_queries.local_languages(session)
        contact = await Renderer(session, node.urls.base).account(cities[0]) if cities else None
    names = [city.name for city in cities if city.name]
    title = names[0] if len(names) == 1 else node.settings.domain
    summaries = [city.summary for city in cities if city.summary]
    base = node.urls.base
    streaming = (
        "wss://" + base.removeprefix("https://")
        if base.startswith("https://")
        else ("ws://" + base.removeprefix("http://"))
    )
    return InstanceFacts(
        domain=node.settings.domain,
        base_url=base,
        streaming_url=streaming,
        title=title,
        description=summaries[0] if len(summaries) == 1 else f"The cityfed node of {title}",
        software_version=__version__,
        users=users,
        statuses=posts,
        domains=domains,
        languages=languages or ["en"],
        contact_account=contact,
    )


async def instance_v1(request: web.Request) -> web.Response:
    return answer(entities.instance_v1(await instance_facts(request.app[NODE])))


async def instance_v2(request: web.Request) -> web.Response:
    return answer(entities.instance_v2(await instance_facts(request.app[NODE])))


async def empty_list(request: web.Request) -> web.Response:
    """Endpoints that exist but have nothing to show here (custom emojis, instance rules...)."""
    return answer([])


# --- accounts -----------------------------------------------------------------------------------


async def account_lookup(request: web.Request) -> web.Response:
    node = request.app[NODE]
    acct = request.query.get("acct", "").strip().removeprefix("@")
    if not acct:
        return error(400, "acct: required")
    handle, _, domain = acct.partition("@")
    if domain == node.settings.domain:
        domain = ""
    async with node.db.session() as session:
        actor = await status_queries.account_by_acct(session, handle, domain or None)
        if actor is None:
            return error(404, "Record not found")
        return answer(await Renderer(session, node.urls.base).account(actor))


async def account(request: web.Request) -> web.Response:
    node = request.app[NODE]
    actor_id = decode_account_id(request.match_info["id"])
    if actor_id is None:
        return error(404, "Record not found")
    async with node.db.session() as session:
        actor = await status_queries.account(session, actor_id)
        if actor is None:
            return error(404, "Record not found")
        return answer(await Renderer(session, node.urls.base).account(actor))


async def account_statuses(request: web.Request) -> web.Response:
    node = request.app[NODE]
    actor_id = decode_account_id(request.match_info["id"])
    if actor_id is None:
        return error(404, "Record not found")
    async with node.db.session() as session:
        actor = await status_queries.account(session, actor_id)
    if actor is None:
        return error(404, "Record not found")
    listing = Listing(
        local_only=False,
        actor_id=actor.id,
        exclude_replies=_flag(request, "exclude_replies"),
        pinned=_flag(request, "pinned"),
        only_media=_flag(request, "only_media"),
        tag=request.query.get("tagged") or None,
    )
    return await _page(request, listing)


# --- statuses -----------------------------------------------------------------------------------


async def _status_row(request: web.Request) -> Object | None:
    decoded = decode_status_id(request.match_info["id"])
    if decoded is None:
        return None
    async with request.app[NODE].db.session() as session:
        return await status_queries.status_at(session, Cursor(at=decoded[0], sequence=decoded[1]))


async def status(request: web.Request) -> web.Response:
    node = request.app[NODE]
    row = await _status_row(request)
    if row is None:
        return error(404, "Record not found")
    async with node.db.session() as session:
        rendered = await Renderer(session, node.urls.base).status(row)
    return answer(rendered) if rendered is not None else error(404, "Record not found")


async def status_context(request: web.Request) -> web.Response:
    """Ancestors (the object commented on, up to the thread's root) and descendants (the
    comments below this status, in thread order)."""
    node = request.app[NODE]
    row = await _status_row(request)
    if row is None:
        return error(404, "Record not found")
    async with node.db.session() as session:
        ancestors: list[Object] = []
        current = row
        seen = {row.ap_id}
        while current.in_reply_to and current.in_reply_to not in seen and len(ancestors) < 40:
            parent = (await status_queries.shown_by_ap_ids(session, [current.in_reply_to])).get(
                current.in_reply_to
            )
            if parent is None:
                break
            seen.add(parent.ap_id)
            ancestors.append(parent)
            current = parent
        ancestors.reverse()
        root = ancestors[0].ap_id if ancestors else row.ap_id
        thread = await status_queries.thread(session, root, limit=CONTEXT_LIMIT)
        descendants = _below(row.ap_id, thread)
        renderer = Renderer(session, node.urls.base)
        return answer(
            {
                "ancestors": await renderer.statuses(ancestors),
                "descendants": await renderer.statuses(descendants),
            }
        )


def _below(ap_id: str, thread: list[Object]) -> list[Object]:
    """The comments of ``thread`` that reply to ``ap_id`` directly or further down, in the
    order Mastodon gives descendants (depth first, oldest first at each level)."""
    children: dict[str, list[Object]] = defaultdict(list)
    for row in thread:
        if row.in_reply_to:
            children[row.in_reply_to].append(row)
    found: list[Object] = []
    stack = list(reversed(children.get(ap_id, [])))
    seen: set[str] = set()
    while stack:
        row = stack.pop()
        if row.ap_id in seen:
            continue
        seen.add(row.ap_id)
        found.append(row)
        stack.extend(reversed(children.get(row.ap_id, [])))
    return found


# --- timelines, search, trends ------------------------------------------------------------------


async def public_timeline(request: web.Request) -> web.Response:
    """This node's projects and challenges (a city node's public timeline is its own: it
    keeps no federated timeline), so ``remote=true`` is an empty page."""
    if _flag(request, "remote"):
        return answer([])
    listing = Listing(city_objects_only=True, only_media=_flag(request, "only_media"))
    return await _page(request, listing)


async def tag_timeline(request: web.Request) -> web.Response:
    tag = request.match_info["tag"].removeprefix("#")
    if not tag or _flag(request, "remote"):
        return answer([])
    listing = Listing(city_objects_only=True, tag=tag, only_media=_flag(request, "only_media"))
    return await _page(request, listing)


async def search(request: web.Request) -> web.Response:
    """Accounts, statuses and hashtags matching ``q`` among what this node holds (``resolve``
    fetches nothing for an anonymous client)."""
    node = request.app[NODE]
    text = request.query.get("q", "").strip()
    kind = request.query.get("type")
    try:
        limit = _limit(request)
    except BadRequest as exc:
        return error(400, str(exc))
    result: dict[str, list[dict[str, Any]]] = {"accounts": [], "statuses": [], "hashtags": []}
    if not text:
        return answer(result)
    async with node.db.session() as session:
        renderer = Renderer(session, node.urls.base)
        if kind in (None, "", "accounts"):
            for actor in await status_queries.search_accounts(session, text, limit=limit):
                result["accounts"].append(await renderer.account(actor))
        if kind in (None, "", "statuses"):
            if text.startswith(("http://", "https://")):
                rows = list((await status_queries.shown_by_ap_ids(session, [text])).values())
            else:
                rows = await status_queries.search_city_objects(session, text, limit=limit)
            result["statuses"] = await renderer.statuses(rows)
        if kind in (None, "", "hashtags"):
            wanted = text.removeprefix("#").casefold()
            since = datetime.now(UTC) - timedelta(days=365)
            names: Counter[str] = Counter()
            for row in await status_queries.recent_tagged_city_objects(session, since):
                names.update(
                    name for name in entities.hashtags(row.document) if wanted in name.casefold()
                )
            result["hashtags"] = [
                entities.tag_entity(name, base_url=node.urls.base)
                for name, _ in names.most_common(limit)
            ]
    return answer(result)


TREND_DAYS = 7


async def trending_tags(request: web.Request) -> web.Response:
    """The hashtags of this node's projects and challenges of the last seven days, most used
    first, with Mastodon's per-day history (uses and distinct cities per day)."""
    node = request.app[NODE]
    try:
        limit = _limit(request, default=10, most=20)
    except BadRequest as exc:
        return error(400, str(exc))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first_day = today - timedelta(days=TREND_DAYS - 1)
    uses: dict[str, Counter[datetime]] = defaultdict(Counter)
    users: dict[str, dict[datetime, set[int]]] = defaultdict(lambda: defaultdict(set))
    spelling: dict[str, str] = {}
    async with node.db.session() as session:
        rows = await status_queries.recent_tagged_city_objects(session, first_day)
    for row in rows:
        day = row.published.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        for name in entities.hashtags(row.document):
            key = name.casefold()
            spelling.setdefault(key, name)
            uses[key][day] += 1
            users[key][day].add(row.actor_id)
    ranked = sorted(uses, key=lambda key: (-sum(uses[key].values()), key))[:limit]
    days = [today - timedelta(days=n) for n in range(TREND_DAYS)]
    return answer(
        [
            entities.tag_entity(
                spelling[key],
                base_url=node.urls.base,
                history=[
                    TagUse(day=day, uses=uses[key][day], accounts=len(users[key][day]))
                    for day in days
                ],
            )
            for key in ranked
        ]
    )


def add_routes(app: web.Application) -> None:
    def get(path: str, handler: Handler) -> None:
        # Mastodon.py asks for some paths with a trailing slash (``/api/v2/instance/``), which
        # Mastodon's router accepts: so do we, without a redirect.
        app.router.add_get(path, handler)
        app.router.add_get(path + "/", handler)

    get("/api/v1/instance", instance_v1)
    get("/api/v2/instance", instance_v2)
    get("/api/v1/custom_emojis", empty_list)
    get("/api/v1/instance/rules", empty_list)
    get("/api/v1/instance/peers", empty_list)
    get("/api/v1/accounts/lookup", account_lookup)
    get("/api/v1/accounts/{id}", account)
    get("/api/v1/accounts/{id}/statuses", account_statuses)
    get("/api/v1/statuses/{id}", status)
    get("/api/v1/statuses/{id}/context", status_context)
    get("/api/v1/timelines/public", public_timeline)
    get("/api/v1/timelines/tag/{tag}", tag_timeline)
    get("/api/v2/search", search)
    get("/api/v1/trends/tags", trending_tags)
    get("/api/v1/trends", trending_tags)
