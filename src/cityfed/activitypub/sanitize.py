"""Incoming HTML, cleaned to the set Mastodon keeps, and plain text turned into such HTML.

Mastodon's strict sanitiser config is the de-facto contract of the fediverse: whatever it keeps,
peers may send and readers expect to see; everything else (scripts, styles, images, forms, event
handlers, unknown classes) is removed, and links get ``rel="nofollow noopener noreferrer"``.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable

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


# A hashtag in plain text, as Mastodon finds one: '#' not inside a word, a path or an entity
# (``&#x27;`` after escaping), then word characters (plus the middle dot and ZWNJ).
HASHTAG_IN_TEXT = re.compile(r"(?<![\w/&#])#([\w\u00b7\u200c]+)")


def _is_hashtag(name: str) -> bool:
    return any(ch.isalpha() or ch == "_" for ch in name)  # "#1" is not a hashtag


def hashtags_in(text: str) -> list[str]:
    """The hashtags of a plain text (without '#'), each once, in order of appearance."""
    found = (m.group(1) for m in HASHTAG_IN_TEXT.finditer(text))
    return list(dict.fromkeys(name for name in found if _is_hashtag(name)))


def _link_hashtags(escaped: str, tag_url: Callable[[str], str]) -> str:
    def link(match: re.Match[str]) -> str:
        name = match.group(1)
        if not _is_hashtag(name):
            return match.group(0)
        href = html.escape(tag_url(name), quote=True)
        return f'<a href="{href}" class="mention hashtag" rel="tag">#<span>{name}</span></a>'

    return HASHTAG_IN_TEXT.sub(link, escaped)


def text_to_html(text: str, *, tag_url: Callable[[str], str] | None = None) -> str:
    """Plain text as Mastodon renders a status: paragraphs on blank lines, <br> on newlines, and
    with ``tag_url`` hashtags linked to their pages as Mastodon links them."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip().replace("\r\n", "\n")) if p.strip()]
    rendered = "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
    return _link_hashtags(rendered, tag_url) if tag_url is not None else rendered


def html_to_text(value: str) -> str:
    """The readable text of an HTML fragment (for reports, logs and plain-text views)."""
    text = re.sub(r"<br\s*/?>|</p>", "\n", value, flags=re.IGNORECASE)
    return html.unescape(nh3.clean(text, tags=set())).strip()
