"""Content negotiation between ActivityStreams JSON (for servers) and HTML (for people)."""

from __future__ import annotations

from aiohttp import web

_AP_TYPES = ("application/activity+json", "application/ld+json")


def _quality(part: str) -> tuple[str, float]:
    media, _, params = part.partition(";")
    q = 1.0
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
    return media.strip().lower(), q


def wants_html(request: web.Request) -> bool:
    """True when the client prefers HTML over ActivityStreams (a browser); machine clients and
    a missing Accept header get JSON, the way fediverse servers are probed."""
    accept = request.headers.get("Accept", "")
    best_ap = best_html = -1.0
    for part in accept.split(","):
        if not part.strip():
            continue
        media, q = _quality(part)
        if media in _AP_TYPES:
            best_ap = max(best_ap, q)
        elif media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, q)
    return best_html > 0 and best_html > best_ap
