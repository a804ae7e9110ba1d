"""Authorized fetch ("secure mode"): when enabled, ActivityStreams GETs must be signed.

Like Mastodon's AUTHORIZED_FETCH: discovery, HTML pages and the instance actor stay readable
without a signature (the instance actor must, or nobody could fetch the key that signs fetches),
everything else served as ActivityStreams JSON needs a valid signature from a non-blocked peer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cityfed.activitypub.actor import authority
from cityfed.appkeys import NODE
from cityfed.federation.verify import BlockedSigner, Unverified, Verifier
from cityfed.http.negotiation import wants_html
from cityfed.http.responses import error

OPEN_PREFIXES = ("/.well-known/", "/nodeinfo/", "/static/", "/api/", "/tags/")
# Feeds and open-data exports are for feed readers and data portals, which sign nothing.
OPEN_SUFFIXES = ("/feed.atom", "/projects.jsonld", "/projects.csv", "/projects", "/challenges")
OPEN_PATHS = frozenset({"/", "/actor", "/ns"})

VERIFIER: web.AppKey[Verifier] = web.AppKey("fetch_verifier", Verifier)


@web.middleware
async def authorized_fetch(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    node = request.app[NODE]
    if (
        not node.settings.authorized_fetch
        or request.method not in ("GET", "HEAD")
        or request.path in OPEN_PATHS
        or request.path.startswith(OPEN_PREFIXES)
        or request.path.endswith(OPEN_SUFFIXES)
        or wants_html(request)
    ):
        return await handler(request)
    await node.policy.refresh(node.db)
    try:
        signer = await request.app[VERIFIER].verify(request, None)
    except BlockedSigner:
        return error(401, "request signature required")
    except Unverified as exc:
        return error(401, exc.reason)
    if node.policy.is_blocked(authority(signer.owner)):
        return error(401, "request signature required")
    return await handler(request)
