"""The gate of the Mastodon client API paths (``/api/v1/*``, ``/api/v2/*``).

Browser apps (Elk, Phanpy) call from other origins, so every answer carries Mastodon's open CORS
headers and a preflight is answered here. Reading needs no token. Signed-in endpoints (issue 17.4,
OAuth) resolve the bearer token in ``mastodon_middleware``: that is where the OAuth work plugs in,
and where the ``user`` stream will find its viewer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cityfed.http.responses import error

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MASTODON_PREFIXES = ("/api/v1/", "/api/v2/")
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Expose-Headers": "Link, X-RateLimit-Reset, X-RateLimit-Limit, "
    "X-RateLimit-Remaining, X-Request-Id",
}


def is_mastodon_path(path: str) -> bool:
    return path.startswith(MASTODON_PREFIXES)


async def mastodon_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=CORS)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # Answered here (not by the app's outer layer) so the refusal keeps the CORS headers
        # a browser app needs to read it.
        response = error(exc.status, exc.reason)
    if not response.prepared:  # a stream has sent its headers already (it set them itself)
        response.headers.update(CORS)
    return response
