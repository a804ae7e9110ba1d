"""Authentication, request parsing and error answers shared by every API handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from cityfed.actions.errors import ActionError
from cityfed.appkeys import NODE
from cityfed.models import actors as actor_queries
from cityfed.models import tokens
from cityfed.models.tables import Actor, ApiToken
from cityfed.urls import API_PREFIX

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN: web.RequestKey[ApiToken] = web.RequestKey("token", ApiToken)
SCOPE_ORDER = {"editor": 1, "admin": 2}
MAX_PAGE = 100


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, refusal: ActionError | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.refusal = refusal

    @classmethod
    def refused(cls, exc: ActionError, status: int = 422) -> ApiError:
        """An action's structured refusal: ``error`` in English plus its code, field, params."""
        return cls(status, str(exc), refusal=exc)

    def body(self) -> dict[str, Any]:
        if self.refusal is not None:
            return self.refusal.as_json()
        return {"error": self.message}


def reply(doc: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(doc), status=status, content_type="application/json")


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route of our REST API needs a valid bearer token; errors answer ``{"error": ...}``."""
    if not is_api_path(request.path):
        return await handler(request)
    try:
        if request.path != f"{API_PREFIX}/openapi.json":
            await _authenticate(request)
            # Defence in depth: each admin handler checks its scope too, but a route added
            # without that check must still not be reachable with an editor token.
            if (
                request.path.startswith(f"{API_PREFIX}/admin/")
                or request.path == f"{API_PREFIX}/admin"
            ):
                require(request, "admin")
        return await handler(request)
    except ApiError as exc:
        headers = {"WWW-Authenticate": 'Bearer realm="cityfed"'} if exc.status == 401 else None
        response = reply(exc.body(), exc.status)
        if headers:
            response.headers.update(headers)
        return response


async def _authenticate(request: web.Request) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "a bearer token is required")
    node = request.app[NODE]
    async with node.db.session() as session:
        token = await tokens.authenticate(session, secret.strip())
    if token is None:
        raise ApiError(401, "invalid or revoked token")
    request[TOKEN] = token


def require(request: web.Request, scope: str) -> ApiToken:
    token = request[TOKEN]
    if SCOPE_ORDER.get(token.scope, 0) < SCOPE_ORDER[scope]:
        raise ApiError(403, f"this needs a token with the {scope} scope")
    return token


async def json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type not in ("application/json", "application/merge-patch+json"):
        raise ApiError(415, "send the request body as application/json")
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def field(body: dict[str, Any], name: str, kind: type = str, *, required: bool = True) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(422, f"{name}: this field is required")
        return None
    if not isinstance(value, kind) or (
        kind is str and isinstance(value, str) and not value.strip()
    ):
        raise ApiError(422, f"{name}: expected a non-empty {kind.__name__}")
    return value.strip() if isinstance(value, str) else value


async def acting_actor(request: web.Request, handle: str | None = None) -> Actor:
    """The local city the request acts for: ``?as=handle`` (or ``"as"`` in the body), else the
    node's first city."""
    node = request.app[NODE]
    handle = handle or request.query.get("as")
    async with node.db.session() as session:
        if handle:
            actor = await actor_queries.local_actor(session, handle)
        else:
            cities = await actor_queries.local_actors(session)
            actor = cities[0] if cities else None
    if actor is None:
        raise ApiError(404, "no such local actor")
    return actor


def paged(total: int, page: int, items: list[Any], **extra: Any) -> web.Response:
    """The one shape of every list the API answers: ``{"total", "page", "items"}`` (plus what
    the list is of, e.g. ``"object"``); ``?page=`` and ``?per_page=`` choose the page."""
    return reply({**extra, "total": total, "page": page, "items": items})


def page_of(request: web.Request, rows: list[Any], **extra: Any) -> web.Response:
    """A short list that is read whole (peers, keys, adoptions), answered one page at a time."""
    page, per_page = paging(request)
    start = (page - 1) * per_page
    return paged(len(rows), page, rows[start : start + per_page], **extra)


def newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items with an ISO ``published`` (one format, so text order is time order), newest first."""
    return sorted(items, key=lambda item: item.get("published") or "", reverse=True)


def paging(request: web.Request) -> tuple[int, int]:
    try:
        page = int(request.query.get("page", "1"))
        per_page = int(request.query.get("per_page", "20"))
    except ValueError:
        raise ApiError(422, "page/per_page: expected integers") from None
    if page < 1 or not 1 <= per_page <= MAX_PAGE:
        raise ApiError(422, f"page must be ≥ 1 and per_page 1-{MAX_PAGE}")
    return page, per_page
