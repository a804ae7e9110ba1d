"""Responses for documents meant to be reused anywhere: feeds and open-data exports.

They are public by nature, so any web origin may read them (CORS ``*``); feed readers and
harvesters poll them, so they carry an ETag and answer a matching ``If-None-Match`` with 304.
"""

from __future__ import annotations

import hashlib
import re

from aiohttp import web

CACHE_SECONDS = 300


def open_document(
    request: web.Request,
    body: bytes,
    content_type: str,
    *,
    filename: str | None = None,
) -> web.Response:
    """``body`` as ``content_type`` (a full media type with its charset), for anyone."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "Access-Control-Allow-Origin": "*",
        "Cache-Control": f"public, max-age={CACHE_SECONDS}",
        "ETag": etag,
    }
    if filename:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
        headers["Content-Disposition"] = f'inline; filename="{safe}"'
    # Proxies may weaken an ETag (W/"..."); for a 304 a weak match is enough (RFC 9110 13.1.2).
    wanted = {
        tag.strip().removeprefix("W/")
        for tag in request.headers.get("If-None-Match", "").split(",")
    }
    if etag in wanted or "*" in wanted:
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = content_type
    return web.Response(body=body, headers=headers)
