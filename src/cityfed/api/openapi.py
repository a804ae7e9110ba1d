"""GET API /openapi.json: the OpenAPI 3.1 description of the REST API (§8), without a token.

The document is ``openapi.json`` next to this module (package data). It is read and checked once,
on the first request, and kept on the application: nothing happens at import. Its coverage of the
real routes is enforced by ``tests/integration/test_openapi.py``.
"""

from __future__ import annotations

from importlib import resources

import orjson
from aiohttp import web

PATH = "/api/cityfed/v1/openapi.json"
PACKAGE = "cityfed.api"
RESOURCE = "openapi.json"


class OpenApiDocument:
    """The document's bytes: read, checked and serialised compactly on first use, then kept."""

    def __init__(self) -> None:
        self._body: bytes | None = None

    def body(self) -> bytes:
        if self._body is None:
            document = orjson.loads(resources.files(PACKAGE).joinpath(RESOURCE).read_bytes())
            version = document.get("openapi") if isinstance(document, dict) else None
            if not isinstance(version, str) or not version.startswith("3.1."):
                raise RuntimeError(f"{PACKAGE}/{RESOURCE} is not an OpenAPI 3.1 document")
            self._body = orjson.dumps(document)
        return self._body


OPENAPI: web.AppKey[OpenApiDocument] = web.AppKey("openapi", OpenApiDocument)


async def openapi(request: web.Request) -> web.Response:
    """The document; the API middleware lets this one path through without a token."""
    return web.Response(body=request.app[OPENAPI].body(), content_type="application/json")


def add_routes(app: web.Application) -> None:
    app[OPENAPI] = OpenApiDocument()
    app.router.add_get(PATH, openapi)
