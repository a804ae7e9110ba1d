"""What runs around every handler: JSON errors, security headers, and each area's gatekeeper.

aiohttp runs every middleware of the app on every request, and each layer is a coroutine call
on the hot path. Instead of one layer per concern (API tokens, staff sign-in, authorized fetch)
there is one, ``answer``: what every response needs, and the one gate the request's path belongs
to. An inbox POST passes no gate; at thousands of activities a second, the layers it used to
pass were a visible share of the inbox's CPU (bench/README.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from cityfed.api.common import api_middleware, is_api_path
from cityfed.appkeys import NODE
from cityfed.federation.authfetch import authorized_fetch
from cityfed.http.negotiation import wants_html
from cityfed.http.responses import error
from cityfed.mastodon.gate import is_mastodon_path, mastodon_middleware
from cityfed.web.render import render_error
from cityfed.web.staff.auth import is_staff_path, staff_middleware
from cityfed.web.templates_key import TEMPLATES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("cityfed.server")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


# A browser that asks for a page that is not there gets a page that says so.
PAGE_ERRORS = {
    404: ("Page not found", "There is no page at this address. It may have moved or been deleted."),
    405: ("Not possible here", "This address cannot be used that way."),
}


def _for_a_person(request: web.Request) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and not request.path.startswith("/api/")
        and (wants_html(request))
    )


@web.middleware
async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals on machine endpoints answer JSON ``{"error": ...}``; every answer gets the
    security headers (error answers included). A body still arriving when the handler starts
    has ``body_timeout`` seconds to arrive whole. The request goes through its area's gate
    (``_through_gate``) on the way in."""
    deadline = _body_deadline(request)
    try:
        # The gate is chosen here rather than in a middleware of its own: aiohttp wraps each
        # middleware in a coroutine call on every request, and an inbox POST passes no gate.
        response = await _through_gate(request, handler)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        if exc.status in PAGE_ERRORS and _for_a_person(request):
            title, message = PAGE_ERRORS[exc.status]
            response = render_error(request.app[TEMPLATES], exc.status, title, message)
        else:
            response = (
                error(413, "request body too large")
                if exc.status == 413
                else error(exc.status, exc.reason)
            )
    finally:
        if deadline is not None:
            deadline.cancel()
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.content_type == "text/html":
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def _through_gate(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """The API needs a bearer token, the Mastodon client API its own gate (CORS, OAuth tokens),
    staff pages a session, ActivityStreams GETs (with authorized fetch on) a signature; the rest
    (inboxes verify their own) goes straight in.

    Returns the awaitable without awaiting it: no coroutine frame of its own on the hot path."""
    path = request.path
    if is_api_path(path):
        return api_middleware(request, handler)
    if is_mastodon_path(path):
        return mastodon_middleware(request, handler)
    if is_staff_path(path):
        return staff_middleware(request, handler)
    if request.method in ("GET", "HEAD"):
        return authorized_fetch(request, handler)
    return handler(request)


def _body_deadline(request: web.Request) -> asyncio.TimerHandle | None:
    """A timer that cuts off a client whose body is not in after ``body_timeout`` seconds.

    aiohttp has a deadline for headers (the keep-alive timer) but none for bodies: a client
    dripping one byte a second held its connection, and a handler waiting in ``read()``, for
    as long as it liked. Most bodies are whole by the time the handler runs: no timer then.
    """
    if not request.body_exists or request.content.is_eof():
        return None
    timeout = request.app[NODE].settings.body_timeout
    return asyncio.get_running_loop().call_later(timeout, _cut_off, request, timeout)


def _cut_off(request: web.Request, timeout: float) -> None:
    if request.content.is_eof() or request.protocol is None:
        return
    log.info(
        "cut off %s %s from %s: body not received within %g s",
        request.method,
        request.path,
        request.remote,
        timeout,
    )
    # Closing the connection makes the handler's pending read raise ConnectionResetError, so
    # whatever it holds is released; nobody is left to read an answer.
    request.protocol.force_close()
