"""JSON responses in the media types peers expect, serialised once with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

AP_CONTENT_TYPE = "application/activity+json; charset=utf-8"
LD_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AP_ACCEPT = f"application/activity+json, {LD_PROFILE}"


def json_bytes(doc: Any) -> bytes:
    return orjson.dumps(doc)


def activity_json(doc: Any, *, status: int = 200, cache_seconds: int = 0) -> web.Response:
    headers = {"Vary": "Accept"}
    if cache_seconds:
        headers["Cache-Control"] = f"public, max-age={cache_seconds}"
    return web.Response(
        body=json_bytes(doc),
        status=status,
        headers=headers,
        content_type="application/activity+json",
        charset="utf-8",
    )


def plain_json(
    doc: Any,
    *,
    status: int = 200,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> web.Response:
    return web.Response(
        body=json_bytes(doc),
        status=status,
        headers=headers,
        content_type=content_type,
        charset="utf-8",
    )


def error(status: int, reason: str) -> web.Response:
    """Every refusal answers with a JSON body that says why, so peers can debug us."""
    return plain_json({"error": reason}, status=status)
