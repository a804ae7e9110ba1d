"""Links in remote documents: every id, url and href must be an absolute http(s) URL (§6).

A peer's document is read once, at the boundary, and refused whole if any link in it (at any
depth: tags, attachments, icons, endpoints, embedded objects) is ``javascript:``, ``data:``,
``vbscript:``, relative, or written with whitespace or control characters that browsers strip
before they look at the scheme. What is stored is then safe to put in an ``href``; templates
still pass remote links through the ``safe_url`` filter (web/filters.py) for rows stored before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

# The properties whose values are links: ActivityStreams' @id-typed terms and ours (CF_TERMS),
# and the security vocabulary's key owner/controller. Addressing (to, cc, bto, bcc, audience)
# is left out: "as:Public" and "Public" are compact IRIs there, not links anyone follows.
LINK_KEYS = frozenset(
    {
        "id", "@id", "url", "href", "actor", "alsoKnownAs", "anyOf", "attachment", "attributedTo",
        "context", "current", "describes", "endpoints", "first", "followers", "following",
        "generator", "icon", "image", "inReplyTo", "inbox", "instrument", "items", "last",
        "liked", "likes", "location", "next", "object", "oneOf", "orderedItems", "origin",
        "outbox", "partOf", "prev", "preview", "relationship", "replies", "result",
        "sharedInbox", "shares", "streams", "subject", "tag", "target", "owner", "controller",
        "movedTo", "featured", "cf:isBasedOn", "cf:solutions", "cf:solution", "cf:localProject",
        "cf:adopter", "cf:adoptions", "cf:resolvedBy", "cf:addresses", "cf:challenge",
        "cf:project",
    }
)  # fmt: skip
# Not walked: contexts, addressing, and signatures/proofs (checked by their own code).
_SKIP = frozenset({"@context", "to", "cc", "bto", "bcc", "audience", "signature", "proof"})
# Whitespace and C0 controls are refused, not cleaned: browsers drop them ("java\tscript:",
# " javascript:") before reading the scheme. So are backslashes, which browsers read as "/"
# where Python's URL parser does not.
_MAX_SHOWN = 80


class UnsafeLinkError(ValueError):
    """A link in a remote document is not an absolute http(s) URL."""


def is_safe_link(value: str) -> bool:
    """``value`` is an absolute http(s) URL with a host and nothing a browser would strip."""
    # isprintable() is False for C0 controls, DEL and other invisible characters (in C, fast).
    if not value.isprintable() or " " in value or "\\" in value:
        return False
    # The usual spelling, without parsing (this runs on every inbox request).
    if value.startswith("https://"):
        return len(value) > 8 and value[8] != "/"
    if value.startswith("http://"):
        return len(value) > 7 and value[7] != "/"
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_links(doc: Any) -> None:
    """Raise UnsafeLinkError naming the first link in ``doc`` that is not ``is_safe_link``.

    A loop over a stack rather than recursion, with exact type checks: the inbox runs this on
    every activity it receives."""
    pending: list[tuple[str, Any]] = [("", doc)]
    while pending:
        key, value = pending.pop()
        if type(value) is list:
            for item in value:
                kind = type(item)
                if kind is str:
                    if key in LINK_KEYS and not is_safe_link(item):
                        _refuse(key, item)
                elif kind is dict or kind is list:
                    pending.append((key, item))
        elif type(value) is dict or isinstance(value, Mapping):
            for name, item in value.items():
                kind = type(item)
                if kind is str:
                    if name in LINK_KEYS and not is_safe_link(item):
                        _refuse(name, item)
                elif (kind is dict or kind is list) and name not in _SKIP:
                    pending.append((name, item))


def checked(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` itself, once ``check_links`` has passed it (for use in a return statement)."""
    check_links(doc)
    return doc


def _refuse(key: str, value: str) -> None:
    shown = value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "…"
    raise UnsafeLinkError(f"{key}: {shown!r} is not an http(s) URL")
