"""GET /media/{key}: the avatar and header of our cities (and any other local upload).

A stop-gap of the profile branch (issue 16.1) while ``/media`` routes are not on main: the media
branch (16.2) serves the same path with the same headers from ``web/media.py``; at merge that one
replaces this module. Uploads are served under their content address with a year-long
``immutable`` cache header, their recorded type (never guessed), ``nosniff`` and a
``Content-Security-Policy`` that forbids scripts should a browser render one as a page.
"""

from __future__ import annotations

from aiohttp import web

from cityfed.appkeys import NODE
from cityfed.media.storage import FileStorage, MissingMedia, cache_headers, open_storage
from cityfed.models import media as media_queries
from cityfed.models.media import MediaKind

IMAGE_POLICY = "default-src 'none'; sandbox"


async def local_file(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    node = request.app[NODE]
    async with node.db.session() as session:
        found = await media_queries.file_by_key(session, key)
        media = await media_queries.get_media(session, found.media_id) if found else None
    if found is None or media is None or media.kind != MediaKind.IMAGE.value:
        raise web.HTTPNotFound()
    headers = {
        **cache_headers(key),
        "Content-Type": found.media_type,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": IMAGE_POLICY,
    }
    if request.headers.get("If-None-Match") == headers["ETag"]:
        return web.Response(
            status=304, headers={k: v for k, v in headers.items() if k != "Content-Type"}
        )
    storage = open_storage(node.settings)
    try:
        if isinstance(storage, FileStorage):
            path = storage.path(key)
            if not path.is_file():
                raise web.HTTPNotFound()
            return web.FileResponse(path, headers=headers)
        try:
            body = await storage.get(key)
        except MissingMedia:
            raise web.HTTPNotFound() from None
        return web.Response(body=body, headers=headers)
    finally:
        await storage.close()


def add_routes(app: web.Application) -> None:
    app.router.add_get("/media/{key:[0-9a-f]{64}}", local_file)
