"""GET API /openapi.json: the OpenAPI 3.1 description of the REST API (§8), without a token.

The document is generated, on the first request, then kept on the application (nothing happens
at import):

- the operations (summaries, scopes, parameters, responses) come from ``openapi_base.json`` next
  to this module (package data);
- every request and response schema is written by msgspec from the structs of
  ``cityfed.schemas`` (``schemas.api.components``): a field declared there is documented without
  touching this package;
- the operations are checked against the application's real routes: a route without an operation,
  or an operation without a route, is an error (500 here, and a failing test in
  ``tests/integration/test_openapi.py``), never a silently wrong document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

import orjson
from aiohttp import web

from cityfed.schemas.api import components
from cityfed.urls import API_PREFIX

PATH = f"{API_PREFIX}/openapi.json"
PACKAGE = "cityfed.api"
RESOURCE = "openapi_base.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_WORDS = re.compile(r"[\w.-]+(\|[\w.-]+)*")


def document() -> dict[str, Any]:
    """The OpenAPI document: the operations with the schemas of ``cityfed.schemas``."""
    doc: dict[str, Any] = orjson.loads(resources.files(PACKAGE).joinpath(RESOURCE).read_bytes())
    version = doc.get("openapi")
    if not isinstance(version, str) or not version.startswith("3.1."):
        raise RuntimeError(f"{PACKAGE}/{RESOURCE} is not an OpenAPI 3.1 document")
    doc["components"]["schemas"] = components()
    return doc


def _group(pattern: str, name: str) -> str:
    """The regex of the named group ``name`` in ``pattern`` (balanced parentheses)."""
    start = pattern.index(f"(?P<{name}>") + len(f"(?P<{name}>")
    depth, index = 1, start
    while depth:
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        index += 1
    return pattern[start : index - 1]


def route_operations(routes: Iterable[web.AbstractRoute]) -> set[tuple[str, str]]:
    """(METHOD, OpenAPI path) of each API route; ``{x:a|b}`` is one literal path per word."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        info = route.resource.get_info() if route.resource else {}
        formatter = str(info.get("formatter") or info.get("path") or "")
        if not formatter.startswith(API_PREFIX + "/") or route.method == "HEAD":
            continue
        pattern = info["pattern"].pattern if "pattern" in info else re.escape(formatter)
        paths = [formatter]
        for name in re.findall(r"\{(\w+)\}", formatter):
            regex = _group(pattern, name)
            if _WORDS.fullmatch(regex):
                paths = [p.replace(f"{{{name}}}", word) for p in paths for word in regex.split("|")]
        found |= {(route.method, path) for path in paths}
    return found


def check_routes(doc: dict[str, Any], routes: set[tuple[str, str]]) -> None:
    """RuntimeError unless the document's operations are exactly ``routes``."""
    documented = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }
    missing, extra = sorted(routes - documented), sorted(documented - routes)
    if missing or extra:
        raise RuntimeError(
            f"OpenAPI operations without a route {extra}, routes without one {missing}"
        )


class OpenApiDocument:
    """The document's bytes: generated, checked against ``router`` (when given) and serialised
    compactly on first use, then kept."""

    def __init__(self, router: web.UrlDispatcher | None = None) -> None:
        self._router = router
        self._body: bytes | None = None

    def body(self) -> bytes:
        if self._body is None:
            doc = document()
            if self._router is not None:
                check_routes(doc, route_operations(self._router.routes()))
            self._body = orjson.dumps(doc)
        return self._body


OPENAPI: web.AppKey[OpenApiDocument] = web.AppKey("openapi", OpenApiDocument)


async def openapi(request: web.Request) -> web.Response:
    """The document; the API middleware lets this one path through without a token."""
    return web.Response(body=request.app[OPENAPI].body(), content_type="application/json")


def add_routes(app: web.Application) -> None:
    app[OPENAPI] = OpenApiDocument(app.router)
    app.router.add_get(PATH, openapi)
