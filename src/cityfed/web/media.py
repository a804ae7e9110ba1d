"""GET /media/{key}: our uploads; GET /media/remote/{object}/{n}: partners' images from our cache.

Uploads are served under their content address with a year-long ``immutable`` cache header (the
bytes under a key never change), their recorded type (never guessed from a name), ``nosniff``, a
``Content-Security-Policy`` that forbids scripts should a browser render one as a page, and, for
documents, ``Content-Disposition: attachment`` with the name staff gave it.

A partner's image is never linked from our pages (that would tell the partner's server who reads
them): the page points here, and this route serves our cached, re-encoded copy, fetching it once
through the SSRF-safe fetcher. Only images of a stored remote object can be asked for (by the
object's row and the attachment's place), so this is no open proxy, and nothing is fetched or
served for a blocked domain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from cityfed.activitypub.actor import authority
from cityfed.activitypub.vocab.media import read_attachments
from cityfed.appkeys import MEDIA, NODE, REMOTE_MEDIA
from cityfed.media.documents import DocumentType, serving_headers
from cityfed.media.storage import FileStorage, MissingMedia, Storage, cache_headers
from cityfed.models import media as media_queries
from cityfed.models import objects as object_queries
from cityfed.models.media import MediaKind
from cityfed.models.tables import Object

log = logging.getLogger("cityfed.web.media")

IMAGE_POLICY = "default-src 'none'; sandbox"
# A cached copy stands for a remote URL that may change: cache it a day, not a year.
REMOTE_CACHE = "public, max-age=86400"


async def _send(
    request: web.Request, storage: Storage, key: str, headers: dict[str, str]
) -> web.StreamResponse:
    if request.headers.get("If-None-Match") == headers.get("ETag"):
        return web.Response(
            status=304, headers={k: v for k, v in headers.items() if k != "Content-Type"}
        )
    if isinstance(storage, FileStorage):
        path = storage.path(key)
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers=headers)
    response = web.StreamResponse(headers=headers)
    try:
        chunks = storage.stream(key)
        first = await anext(chunks, b"")
    except MissingMedia:
        raise web.HTTPNotFound() from None
    await response.prepare(request)
    if first:
        await response.write(first)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def local_file(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    node = request.app[NODE]
    async with node.db.session() as session:
        found = await media_queries.file_by_key(session, key)
        media = await media_queries.get_media(session, found.media_id) if found else None
    if found is None or media is None:
        raise web.HTTPNotFound()
    headers = {
        **cache_headers(key),
        "Content-Type": found.media_type,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": IMAGE_POLICY,
    }
    if media.kind == MediaKind.DOCUMENT.value:
        headers.update(serving_headers(DocumentType(media.media_type), media.filename or "file"))
    return await _send(request, request.app[MEDIA].storage, key, headers)


async def remote_file(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    object_id, index = int(request.match_info["object"]), int(request.match_info["index"])
    async with node.db.session() as session:
        row = await object_queries.by_id(session, object_id)
    if row is None or row.local or row.deleted_at is not None:
        raise web.HTTPNotFound()
    images = [a for a in read_attachments(row.document.get("attachment")) if a.is_image]
    if index >= len(images):
        raise web.HTTPNotFound()
    url = images[index].url
    # Partners may keep their files on another host (a CDN): both must be unblocked.
    if node.policy.is_blocked(authority(url)) or node.policy.is_blocked(authority(row.ap_id)):
        raise web.HTTPNotFound()
    cached = await request.app[REMOTE_MEDIA].get(url)
    if cached is None:
        raise web.HTTPNotFound()
    headers = {
        "Cache-Control": REMOTE_CACHE,
        "ETag": f'"{cached.storage_key}"',
        "Content-Type": cached.media_type,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": IMAGE_POLICY,
    }
    return await _send(request, request.app[REMOTE_MEDIA].storage, cached.storage_key, headers)


def remote_image_url(object_id: int, index: int) -> str:
    return f"/media/remote/{object_id}/{index}"


@dataclass(frozen=True, slots=True)
class PageImage:
    src: str
    alt: str
    width: int | None
    height: int | None


@dataclass(frozen=True, slots=True)
class PageDocument:
    href: str
    name: str
    media_type: str


@dataclass(frozen=True, slots=True)
class PageMedia:
    images: list[PageImage]
    documents: list[PageDocument]

    def __bool__(self) -> bool:
        return bool(self.images or self.documents)


def page_media(row: Object) -> PageMedia:
    """What a page shows of an object's attachments: our own files by their URL, a partner's
    images through ``/media/remote/...`` (our cache, never the partner's server), documents as
    download links. Images without alt text get an empty ``alt`` (decorative), not a guess."""
    attachments = read_attachments((row.document or {}).get("attachment"))
    images: list[PageImage] = []
    documents: list[PageDocument] = []
    for attachment in attachments:
        if attachment.is_image:
            src = attachment.url if row.local else remote_image_url(row.id, len(images))
            images.append(
                PageImage(src, attachment.name or "", attachment.width, attachment.height)
            )
        else:
            name = attachment.name or attachment.url.rsplit("/", 1)[-1] or attachment.media_type
            documents.append(PageDocument(attachment.url, name, attachment.media_type))
    return PageMedia(images, documents)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/media/{key:[0-9a-f]{64}}", local_file)
    app.router.add_get(r"/media/remote/{object:\d{1,18}}/{index:\d{1,3}}", remote_file)
