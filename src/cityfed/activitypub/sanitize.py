"""Incoming HTML, cleaned to the set Mastodon keeps, and plain text turned into such HTML.

Mastodon's strict sanitiser config is the de-facto contract of the fediverse: whatever it keeps,
peers may send and readers expect to see; everything else (scripts, styles, images, forms, event
handlers, unknown classes) is removed, and links get ``rel="nofollow noopener noreferrer"``.
"""

from __future__ import annotations

import functools
import html
import re

import nh3

TAGS = frozenset({
    "p", "br", "span", "a", "del", "s", "pre", "blockquote", "code", "b", "strong", "u", "i",
    "em", "ul", "ol", "li", "ruby", "rt", "rp", "h1", "h2", "h3", "h4", "h5", "h6",
})  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "class", "translate"},
    "span": {"class", "translate"},
    "ol": {"start", "reversed"},
    "li": {"value"},
}
URL_SCHEMES = frozenset({
    "http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini",
})  # fmt: skip
# Microformats and Mastodon's own classes only: a remote post must not borrow our page's styling.
_CLASS = re.compile(r"^(h|p|u|dt|e)-[\w-]+$|^(mention|hashtag|ellipsis|invisible)$")
LINK_REL = "nofollow noopener noreferrer"


def _keep_class(element: str, attribute: str, value: str) -> str | None:
    if attribute != "class":
        return value
    kept = [name for name in value.split() if _CLASS.match(name)]
    return " ".join(kept) or None


@functools.cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(TAGS),
        attributes={tag: set(attrs) for tag, attrs in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        attribute_filter=_keep_class,
        strip_comments=True,
    )


def sanitize_html(value: str) -> str:
    return _cleaner().clean(value)


def text_to_html(text: str) -> str:
    """Plain text as Mastodon renders a status: paragraphs on blank lines, <br> on newlines."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip().replace("\r\n", "\n")) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def html_to_text(value: str) -> str:
    """The readable text of an HTML fragment (for reports, logs and plain-text views)."""
    text = re.sub(r"<br\s*/?>|</p>", "\n", value, flags=re.IGNORECASE)
    return html.unescape(nh3.clean(text, tags=set())).strip()
