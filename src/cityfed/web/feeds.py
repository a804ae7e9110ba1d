"""Atom feeds (RFC 4287) for feed readers: a city's projects and challenges, and this node's
items per hashtag and per SDG (issue 18.6).

Built with ``xml.etree`` so escaping is the library's job; characters XML 1.0 cannot carry at
all (most C0 controls), which escaping cannot fix, are removed first. Each feed names an XSLT
stylesheet (``/static/feed.xsl``, an ``<?xml-stylesheet?>`` instruction): a browser opening the
feed shows a readable page (what a feed is, how to subscribe, the entries) instead of raw XML,
while feed readers ignore the instruction.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from cityfed.actions.projects import kind_of, load
from cityfed.activitypub.jsonld import CF_NAMESPACE
from cityfed.activitypub.timefmt import format_datetime
from cityfed.activitypub.vocab.common import is_valid_hashtag
from cityfed.appkeys import NODE
from cityfed.http.responses import error
from cityfed.models import actors as actor_queries
from cityfed.models import objects as object_queries
from cityfed.models.tables import Actor, Object
from cityfed.web.cities import CityLinks, profile_url
from cityfed.web.filters import KIND_LABELS
from cityfed.web.markdown import render_markdown
from cityfed.web.opendata_http import open_document

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
STYLESHEET = "/static/feed.xsl"
STYLESHEET_FILE = Path(__file__).parent / "static" / "feed.xsl"
SDG_COUNT = 17
FEED_ENTRIES = 50  # feed readers poll often; older items stay in the paged HTML lists

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _child(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _text(text)
    return element


def _entry(feed: ET.Element, row: Object, base: str) -> datetime:
    item = load(row)
    published = item.published or row.published
    updated = item.updated or published
    entry = _child(feed, "entry", **{XML_LANG: item.language})
    _child(entry, "id", item.id)
    _child(entry, "title", item.name)
    _child(entry, "updated", format_datetime(updated))
    _child(entry, "published", format_datetime(published))
    _child(entry, "link", rel="alternate", type="text/html", href=item.url or item.id)
    if item.teaser:
        _child(entry, "summary", item.teaser)
    description = render_markdown(item.description)
    # Pictures lead the entry's HTML, with their alt text; documents follow as links, and every
    # attachment is also an enclosure (what podcast-style readers offer to download).
    pictures = "".join(
        f'<p><img src="{escape(a.url, quote=True)}" alt="{escape(a.name or "", quote=True)}"'
        + (f' width="{a.width}" height="{a.height}"' if a.width and a.height else "")
        + "></p>"
        for a in item.attachments
        if a.is_image
    )
    files = "".join(
        f'<li><a href="{escape(a.url, quote=True)}">{escape(a.name or a.url)}</a></li>'
        for a in item.attachments
        if not a.is_image
    )
    html = pictures + description + (f"<ul>{files}</ul>" if files else "")
    if html:
        _child(entry, "content", html, type="html")
    for attachment in item.attachments:
        _child(entry, "link", rel="enclosure", type=attachment.media_type, href=attachment.url)
    kind = kind_of(row)
    _child(entry, "category", term=kind, label=KIND_LABELS[kind], scheme=CF_NAMESPACE)
    for tag in item.tags:
        _child(entry, "category", term=tag, label=f"#{tag}", scheme=f"{base}/tags/")
    return updated


def _document(feed: ET.Element) -> bytes:
    """The feed with the XML declaration and the stylesheet instruction browsers follow."""
    return (
        b"<?xml version='1.0' encoding='utf-8'?>\n"
        + f'<?xml-stylesheet type="text/xsl" href="{STYLESHEET}"?>\n'.encode()
        + ET.tostring(feed, encoding="utf-8")
    )


def _feed(
    *,
    feed_id: str,
    title: str,
    author: tuple[str, str],
    page: str,
    rows: Sequence[Object],
    base: str,
    empty_updated: datetime,
    icon: str | None = None,
) -> bytes:
    feed = ET.Element("feed", {"xmlns": ATOM, XML_LANG: "en"})
    _child(feed, "id", feed_id)
    _child(feed, "title", title)
    updated = _child(feed, "updated")
    who = _child(feed, "author")
    _child(who, "name", author[0])
    _child(who, "uri", author[1])
    _child(feed, "link", rel="self", type="application/atom+xml", href=feed_id)
    _child(feed, "link", rel="alternate", type="text/html", href=page)
    _child(feed, "generator", "cityfed")
    if icon:
        _child(feed, "icon", icon)
    # An empty feed was last updated at ``empty_updated``; otherwise by its newest change.
    newest = max((_entry(feed, row, base) for row in rows), default=empty_updated)
    updated.text = format_datetime(newest)
    return _document(feed)


def atom_feed(actor: Actor, rows: Sequence[Object], base: str) -> bytes:
    """The feed document; ``base`` is the node's ``scheme://host[:port]``."""
    links = CityLinks.of(actor)
    name = actor.name or actor.handle
    return _feed(
        feed_id=links.feed,
        title=f"{name}: projects and challenges",
        author=(name, profile_url(actor)),
        page=profile_url(actor),
        rows=rows,
        base=base,
        empty_updated=actor.updated_at,
        icon=actor.icon_url,
    )


def tag_feed_url(base: str, tag: str) -> str:
    return f"{base}/tags/{quote(tag, safe='')}/feed.atom"


def sdg_feed_url(base: str, goal: int) -> str:
    return f"{base}/sdgs/{goal}/feed.atom"


def topic_feed(
    *, feed_id: str, title: str, page: str, node_name: str, rows: Sequence[Object], base: str
) -> bytes:
    """A feed of this node's items on one topic (a hashtag, an SDG)."""
    return _feed(
        feed_id=feed_id,
        title=title,
        author=(node_name, base + "/"),
        page=page,
        rows=rows,
        base=base,
        # An empty topic feed has no change of its own: the epoch says "never updated".
        empty_updated=datetime(1970, 1, 1, tzinfo=UTC),
    )


async def feed(request: web.Request) -> web.Response:
    node = request.app[NODE]
    async with node.db.session() as session:
        actor = await actor_queries.local_actor(session, request.match_info["handle"])
        if actor is None:
            return error(404, "no such actor")
        rows = await object_queries.local_objects(session, actor.id, limit=FEED_ENTRIES)
    return open_document(request, atom_feed(actor, rows, node.urls.base), ATOM_TYPE)


async def tag_feed(request: web.Request) -> web.Response:
    """``/tags/{tag}/feed.atom``: the newest of this node's items with a hashtag."""
    node = request.app[NODE]
    tag = request.match_info["tag"].removeprefix("#")
    if not is_valid_hashtag(tag):
        return error(404, "not a hashtag")
    async with node.db.session() as session:
        rows, _ = await object_queries.tagged_local_objects(
            session, tag, offset=0, limit=FEED_ENTRIES
        )
    base = node.urls.base
    body = topic_feed(
        feed_id=tag_feed_url(base, tag),
        title=f"#{tag}: projects and challenges on {node.settings.domain}",
        page=f"{base}/tags/{quote(tag, safe='')}",
        node_name=node.settings.domain,
        rows=rows,
        base=base,
    )
    return open_document(request, body, ATOM_TYPE)


async def sdg_feed(request: web.Request) -> web.Response:
    """``/sdgs/{goal}/feed.atom``: the newest of this node's items for a Sustainable Development
    Goal (1-17)."""
    node = request.app[NODE]
    raw = request.match_info["goal"]
    goal = int(raw) if raw.isdigit() and len(raw) <= 2 else 0
    if not 1 <= goal <= SDG_COUNT:
        return error(404, "no such Sustainable Development Goal (1 to 17)")
    async with node.db.session() as session:
        rows = await object_queries.sdg_local_objects(session, goal, limit=FEED_ENTRIES)
    base = node.urls.base
    body = topic_feed(
        feed_id=sdg_feed_url(base, goal),
        title=f"SDG {goal}: projects and challenges on {node.settings.domain}",
        page=f"https://sdgs.un.org/goals/goal{goal}",
        node_name=node.settings.domain,
        rows=rows,
        base=base,
    )
    return open_document(request, body, ATOM_TYPE)


async def stylesheet(_request: web.Request) -> web.Response:
    """The feeds' XSLT stylesheet, as a type browsers apply (Python's mimetypes may not know
    ``.xsl``, and a browser refuses a stylesheet served as text/plain)."""
    return web.Response(
        body=STYLESHEET_FILE.read_bytes(),
        headers={
            "Content-Type": "text/xsl; charset=utf-8",
            "Cache-Control": "public, max-age=3600",
        },
    )
