"""The Atom feed (RFC 4287) of a city's projects and challenges, for feed readers.

Built with ``xml.etree`` so escaping is the library's job; characters XML 1.0 cannot carry at
all (most C0 controls), which escaping cannot fix, are removed first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from html import escape

from aiohttp import web

from cityfed.actions.projects import kind_of, load
from cityfed.activitypub.jsonld import CF_NAMESPACE
from cityfed.activitypub.timefmt import format_datetime
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


def atom_feed(actor: Actor, rows: Sequence[Object], base: str) -> bytes:
    """The feed document; ``base`` is the node's ``scheme://host[:port]``."""
    links = CityLinks.of(actor)
    name = actor.name or actor.handle
    feed = ET.Element("feed", {"xmlns": ATOM, XML_LANG: "en"})
    _child(feed, "id", links.feed)
    _child(feed, "title", f"{name}: projects and challenges")
    updated = _child(feed, "updated")
    author = _child(feed, "author")
    _child(author, "name", name)
    _child(author, "uri", profile_url(actor))
    _child(feed, "link", rel="self", type="application/atom+xml", href=links.feed)
    _child(feed, "link", rel="alternate", type="text/html", href=profile_url(actor))
    _child(feed, "generator", "cityfed")
    if actor.icon_url:
        _child(feed, "icon", actor.icon_url)
    # An empty feed was last updated when the city was; otherwise by its newest change.
    newest = max((_entry(feed, row, base) for row in rows), default=actor.updated_at)
    updated.text = format_datetime(newest)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


async def feed(request: web.Request) -> web.Response:
    node = request.app[NODE]
    async with node.db.session() as session:
        actor = await actor_queries.local_actor(session, request.match_info["handle"])
        if actor is None:
            return error(404, "no such actor")
        rows = await object_queries.local_objects(session, actor.id, limit=FEED_ENTRIES)
    return open_document(request, atom_feed(actor, rows, node.urls.base), ATOM_TYPE)
