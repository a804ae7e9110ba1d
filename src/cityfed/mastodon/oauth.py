"""The OAuth 2 endpoints Mastodon apps call (issue 17.4), over actions/oauth.py.

``POST /api/v1/apps``, ``GET /api/v1/apps/verify_credentials``, ``POST /oauth/token``
(authorization code, with or without PKCE, and client credentials), ``POST /oauth/revoke`` and
the RFC 8414 metadata at ``/.well-known/oauth-authorization-server`` (Mastodon 4.3 serves it;
Mastodon.py reads its endpoints from there).

``GET /oauth/authorize`` hands the request, query and all, to the staff consent page
(``/staff/oauth/authorize``, web/staff/oauth.py): signing in and consenting are staff pages,
with their session, CSRF protection and templates, while this face stays free of them.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from cityfed.actions import oauth as oauth_actions
from cityfed.appkeys import NODE
from cityfed.http.responses import plain_json
from cityfed.mastodon.auth import bearer, json_reply, params, refusal, text_param
from cityfed.models.tables import OAuthApp

log = logging.getLogger("cityfed.mastodon.oauth")

CONSENT_PATH = "/staff/oauth/authorize"
# Browser apps (Elk, Phanpy) exchange and revoke tokens from their own origin, as on Mastodon.
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", **CORS}


@dataclass
class RegistrationLimiter:
    """At most ``limit`` app registrations per client address in ``window`` seconds, as Mastodon
    (30 per 5 minutes): registering is open to anyone, and each app is a row.

    In memory, per process, keyed by the TCP peer (the same trade-offs as the staff sign-in
    limiter: behind a proxy, configure the proxy's limit too)."""

    limit: int = 30
    window: float = 5 * 60
    max_keys: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def attempt(self, client: str) -> int | None:
        """Count one registration; seconds to wait when it is one too many, else None."""
        now = self.clock()
        times = self._seen.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return max(1, math.ceil(times[0] + self.window - now))
        times.append(now)
        if len(self._seen) > self.max_keys:  # forget the oldest client first
            self._seen.pop(next(iter(self._seen)))
        return None


REGISTRATIONS: web.AppKey[RegistrationLimiter] = web.AppKey(
    "mastodon_registrations", RegistrationLimiter
)


def _oauth_error(exc: oauth_actions.OAuthError) -> web.Response:
    """RFC 6749 §5.2: ``error`` and ``error_description``, never cached."""
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="cityfed"'
    return plain_json(
        {"error": exc.error, "error_description": exc.description},
        status=exc.status,
        headers=headers,
    )


def application_entity(app: OAuthApp, *, secret: str | None = None) -> dict[str, Any]:
    """Mastodon's Application (with its credentials right after registration only)."""
    uris = app.redirect_uris.splitlines()
    entity: dict[str, Any] = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "vapid_key": "",
    }
    if secret is not None:
        entity.update(client_id=app.client_id, client_secret=secret, client_secret_expires_at=0)
    return entity


async def create_app(request: web.Request) -> web.Response:
    wait = request.app[REGISTRATIONS].attempt(request.remote or "unknown")
    if wait is not None:
        return json_reply({"error": "Too many requests"}, 429, headers={"Retry-After": str(wait)})
    values = await params(request)
    uris = values.get("redirect_uris")
    try:
        app, secret = await oauth_actions.register_app(
            request.app[NODE],
            text_param(values, "client_name") or "",
            uris if isinstance(uris, list | str) else None,
            text_param(values, "scopes"),
            text_param(values, "website"),
        )
    except oauth_actions.OAuthError as exc:
        return json_reply({"error": exc.description}, exc.status)
    return json_reply(application_entity(app, secret=secret))


async def verify_app(request: web.Request) -> web.Response:
    """Any live token of the app will do, whatever its scopes (as on Mastodon)."""
    grant = await bearer(request)
    if grant is None:
        raise refusal(401, "The access token is invalid", challenge='Bearer realm="Doorkeeper"')
    return json_reply(application_entity(grant.app))


async def authorize(request: web.Request) -> web.StreamResponse:
    """On to the staff consent page, which signs the person in first when needed."""
    query = request.query_string
    return web.Response(
        status=303, headers={"Location": CONSENT_PATH + (f"?{query}" if query else "")}
    )


def _client_auth(request: web.Request, values: dict[str, Any]) -> tuple[str | None, str | None]:
    """client_id and client_secret from HTTP Basic (RFC 6749 §2.3.1) or the body."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise oauth_actions.OAuthError(
                "invalid_client", "malformed Basic credentials", 401
            ) from None
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return text_param(values, "client_id"), text_param(values, "client_secret")


async def token(request: web.Request) -> web.Response:
    node = request.app[NODE]
    values = await params(request)
    grant_type = text_param(values, "grant_type")
    try:
        client_id, client_secret = _client_auth(request, values)
        if grant_type == "authorization_code":
            issued = await oauth_actions.exchange_code(
                node,
                client_id=client_id,
                client_secret=client_secret,
                code=text_param(values, "code"),
                redirect_uri=text_param(values, "redirect_uri"),
                code_verifier=text_param(values, "code_verifier"),
            )
        elif grant_type == "client_credentials":
            issued = await oauth_actions.client_credentials(
                node,
                client_id=client_id,
                client_secret=client_secret,
                scope=text_param(values, "scope"),
            )
        else:
            raise oauth_actions.OAuthError(
                "unsupported_grant_type", "authorization_code or client_credentials"
            )
    except oauth_actions.OAuthError as exc:
        log.info("token request refused: %s", exc)
        return _oauth_error(exc)
    body = {
        "access_token": issued.secret,
        "token_type": "Bearer",
        "scope": " ".join(issued.scopes),
        "created_at": int(issued.created_at.timestamp()),
    }
    return plain_json(body, headers=NO_STORE)


async def revoke(request: web.Request) -> web.Response:
    values = await params(request)
    try:
        client_id, client_secret = _client_auth(request, values)
        await oauth_actions.revoke(
            request.app[NODE],
            client_id=client_id,
            client_secret=client_secret,
            token=text_param(values, "token"),
        )
    except oauth_actions.OAuthError as exc:
        return _oauth_error(exc)
    return plain_json({}, headers=NO_STORE)


async def metadata(request: web.Request) -> web.Response:
    """RFC 8414 authorization server metadata, with Mastodon 4.3's additions."""
    base = request.app[NODE].urls.base
    doc = {
        "issuer": f"{base}/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": [*oauth_actions.TOP_SCOPES, *SUB_SCOPES],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
    }
    return plain_json(doc, headers={"Cache-Control": "public, max-age=3600", **CORS})


async def preflight(_request: web.Request) -> web.Response:
    return web.Response(status=204, headers=CORS)


SUB_SCOPES = (
    "read:accounts",
    "read:favourites",
    "read:follows",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:favourites",
    "write:follows",
    "write:statuses",
    "admin:read:reports",
)


def add_routes(app: web.Application) -> None:
    app[REGISTRATIONS] = RegistrationLimiter()
    r = app.router
    r.add_post("/api/v1/apps", create_app)
    r.add_get("/api/v1/apps/verify_credentials", verify_app)
    r.add_get("/oauth/authorize", authorize)
    r.add_post("/oauth/token", token)
    r.add_post("/oauth/revoke", revoke)
    r.add_get("/.well-known/oauth-authorization-server", metadata)
    for path in ("/oauth/token", "/oauth/revoke", "/.well-known/oauth-authorization-server"):
        r.add_route("OPTIONS", path, preflight)
