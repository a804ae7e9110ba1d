"""Comments as a page shows them: each one's HTML made safe and its language found, and a
thread arranged as nested replies."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup

from cityfed.activitypub.sanitize import sanitize_html
from cityfed.activitypub.vocab.common import id_of, language_map, text_of
from cityfed.models.tables import Actor, Object
from cityfed.web.cities import City, city
from cityfed.web.filters import web_url
from cityfed.web.media import PageMedia, page_media

# Replies nest as lists up to this depth; deeper ones continue flat at this depth (each saying
# whom it answers), so a long back-and-forth does not squeeze the text into a sliver.
MAX_DEPTH = 5
# Headings in a comment would break the page's outline (one <h1>, sections under <h2>): they
# become bold paragraphs. Applied to the stored HTML *before* it is sanitised again, so what
# reaches the page is always the sanitiser's own output.
_HEADING_OPEN = re.compile(r"<h[1-6](?=[\s/>])[^>]*>", re.IGNORECASE)
_HEADING_CLOSE = re.compile(r"</h[1-6]\s*>", re.IGNORECASE)


def comment_html(stored: str) -> Markup:
    """A comment's HTML, safe to embed: the stored HTML was sanitised on receipt (or written by
    us), and is sanitised again here with the same Mastodon allow-list, because a page must
    not depend on every path into the database having done it (older rows, imports, bugs)."""
    flattened = _HEADING_CLOSE.sub("</strong></p>", _HEADING_OPEN.sub("<p><strong>", stored))
    return Markup(sanitize_html(flattened))


def comment_language(document: Mapping[str, object]) -> str | None:
    """The language of a comment's ``content``: the key of its ``contentMap`` (Mastodon sends
    ``{"en": content}``); None when there is none, or several and none matches ``content``."""
    texts = language_map(document.get("contentMap"))
    texts.pop("und", None)  # "undetermined" says nothing
    if len(texts) == 1:
        return next(iter(texts))
    content = document.get("content")
    return next((lang for lang, text in texts.items() if text == content), None)


def comment_anchor(ap_id: str) -> str:
    # Derived from the id, so a link to one comment stays valid when others are hidden later.
    return "comment-" + hashlib.sha256(ap_id.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ReplyTo:
    """Whom a comment answers, when the nesting no longer shows it."""

    anchor: str
    author: str


@dataclass
class CommentView:
    ap_id: str  # what a reply answers (``in_reply_to``)
    anchor: str
    author: City
    url: str | None
    published: datetime
    updated: datetime | None
    html: Markup
    lang: str | None
    reply_to: ReplyTo | None = None
    children: list[CommentView] = field(default_factory=list)
    # Pictures and documents sent with the comment (a partner's pictures from our cache).
    media: PageMedia = field(default_factory=lambda: PageMedia([], []))


@dataclass(frozen=True)
class Discussion:
    comments: list[CommentView]
    count: int  # how many are shown, nested or not
    truncated: bool = False  # more exist than a page shows


def _comment(row: Object, author: Actor) -> CommentView:
    doc = row.document
    content = text_of(doc.get("content"))
    if content is None:  # a Note with only a contentMap
        content = next(iter(language_map(doc.get("contentMap")).values()), "")
    return CommentView(
        ap_id=row.ap_id,
        anchor=comment_anchor(row.ap_id),
        author=city(author),
        url=web_url(id_of(doc.get("url")) or row.ap_id),
        published=row.published,
        updated=row.updated,
        html=comment_html(content),
        lang=comment_language(doc),
        media=page_media(row),
    )


def discussion(
    root: str, rows: Sequence[tuple[Object, Actor]], *, limit: int | None = None
) -> Discussion:
    """The thread of ``root`` as nested lists: each comment under the one it answers, siblings
    oldest first. ``rows`` come oldest first; with ``limit``, one more row than that means the
    thread goes on beyond what is shown. A comment whose parent is not shown (held, removed,
    deleted, blocked) stands at the top level rather than disappearing with it."""
    truncated = limit is not None and len(rows) > limit
    shown = rows[:limit] if limit is not None else rows
    views = {row.ap_id: _comment(row, author) for row, author in shown}
    parent_of: dict[str, str] = {}
    replies: dict[str, list[str]] = {}
    for row, _author in shown:
        parent = row.in_reply_to
        if parent and parent != root and parent != row.ap_id and parent in views:
            parent_of[row.ap_id] = parent
            replies.setdefault(parent, []).append(row.ap_id)
    placed: set[str] = set()

    def rest_of_conversation(ap_id: str) -> list[str]:
        """Every reply below ``ap_id``, in time order (``views`` is oldest first)."""
        below: set[str] = set()
        stack = list(replies.get(ap_id, []))
        while stack:
            child = stack.pop()
            if child not in below and child not in placed:  # forged data could make a loop
                below.add(child)
                stack.extend(replies.get(child, []))
        return [other for other in views if other in below]

    def place(ap_id: str, depth: int, siblings: list[CommentView]) -> None:
        placed.add(ap_id)
        view = views[ap_id]
        siblings.append(view)
        if depth < MAX_DEPTH:
            for child in replies.get(ap_id, []):
                if child not in placed:
                    place(child, depth + 1, view.children)
            return
        # At the deepest level the conversation goes on flat, each reply naming whom it answers.
        for later in rest_of_conversation(ap_id):
            placed.add(later)
            parent = views[parent_of[later]]
            views[later].reply_to = ReplyTo(parent.anchor, parent.author.name)
            siblings.append(views[later])

    top_level: list[CommentView] = []
    for ap_id in views:
        # Top-level comments first; anything still unplaced afterwards hangs off a loop with no
        # way in (forged data), and is shown at the top level rather than lost.
        if ap_id not in parent_of:
            place(ap_id, 1, top_level)
    for ap_id in views:
        if ap_id not in placed:
            place(ap_id, 1, top_level)
    return Discussion(top_level, len(views), truncated)
