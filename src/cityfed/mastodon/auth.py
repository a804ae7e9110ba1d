"""Bearer tokens on the Mastodon client API: who is signed in, with which scopes.

Handlers that need a signed-in staff member call ``signed_in(request, scope)``; the anonymous
endpoints need nothing. Refusals are Mastodon's: 401 ``{"error": "The access token is
invalid"}`` with a ``WWW-Authenticate`` challenge, 403 for a missing scope. Request parameters
come as a query, a form or JSON, whichever the app sends (Mastodon accepts all three):
``params`` reads them into one dict.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from cityfed.actions import oauth as oauth_actions
from cityfed.appkeys import NODE
from cityfed.http.responses import plain_json

BEARER: web.RequestKey[oauth_actions.Bearer] = web.RequestKey(
    "mastodon_bearer", oauth_actions.Bearer
)
ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    422: web.HTTPUnprocessableEntity,
}


def refusal(status: int, message: str, *, challenge: str | None = None) -> web.HTTPException:
    """An HTTP error with Mastodon's JSON body, raised from a handler."""
    exc = ERRORS[status](
        text=orjson.dumps({"error": message}).decode(), content_type="application/json"
    )
    if challenge is not None:
        exc.headers["WWW-Authenticate"] = challenge
    return exc


async def bearer(request: web.Request) -> oauth_actions.Bearer | None:
    """The request's OAuth grant, None without an Authorization header; 401 when invalid."""
    found = request.get(BEARER)
    if found is not None:
        return found
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise refusal(401, "The access token is invalid", challenge='Bearer realm="Doorkeeper"')
    grant = await oauth_actions.authenticate(request.app[NODE], secret.strip())
    if grant is None:
        raise refusal(
            401,
            "The access token is invalid",
            challenge='Bearer realm="Doorkeeper", error="invalid_token"',
        )
    request[BEARER] = grant
    return grant


async def with_scope(request: web.Request, scope: str) -> oauth_actions.Bearer:
    """A token (of a staff member or an app) that allows ``scope``."""
    grant = await bearer(request)
    if grant is None:
        raise refusal(401, "The access token is invalid", challenge='Bearer realm="Doorkeeper"')
    if not grant.allows(scope):
        raise refusal(403, "This action is outside the authorized scopes")
    return grant


async def signed_in(request: web.Request, scope: str) -> oauth_actions.Bearer:
    """A staff member's token that allows ``scope`` (an app's own token acts for nobody)."""
    grant = await with_scope(request, scope)
    if grant.user is None:
        raise refusal(422, "This method requires an authenticated user")
    return grant


async def params(request: web.Request) -> dict[str, Any]:
    """Query, form or JSON parameters in one dict (body over query). Array parameters
    (``id[]``) keep every value, under the name without brackets."""
    found: dict[str, Any] = {}
    sources: list[Any] = [request.query]
    if request.method not in ("GET", "HEAD") and request.body_exists:
        if request.content_type == "application/json":
            try:
                body = orjson.loads(await request.read())
            except orjson.JSONDecodeError:
                raise refusal(400, "The body is not valid JSON") from None
            if not isinstance(body, dict):
                raise refusal(400, "The body must be a JSON object")
            sources.append(body)
        else:
            sources.append(await request.post())
    for source in sources:
        if isinstance(source, dict):
            found.update(source)
            continue
        for key in set(source.keys()):
            values = [value for value in source.getall(key) if isinstance(value, str)]
            if key.endswith("[]"):
                found[key[:-2]] = values
            elif values:
                found[key] = values[-1]
    return found


def text_param(values: dict[str, Any], name: str) -> str | None:
    value = values.get(name)
    return value if isinstance(value, str) else None


def json_reply(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return plain_json(doc, status=status, headers=headers)
