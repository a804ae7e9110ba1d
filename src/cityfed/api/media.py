"""API /media: uploads (multipart), and the media of a project or challenge (issue 16).

``POST /media`` takes one file (``file``) with ``alt_text`` (required for images), an optional
``focal_point`` (``"x,y"`` in [-1, 1]) and ``description`` (documents); the type comes from the
content, never from the name or the declared type. Then ``POST /{projects|challenges}/{uid}/media``
attaches it (``{"media": id, "role": "cover"|"gallery"|"attachment"}``), ``PUT .../media``
reorders (``{"order": [ids]}``), ``DELETE .../media/{id}`` removes it; each sends ``Update``.

The body is read as a stream, never past the largest upload the ``[media]`` settings allow
(images and documents have their own limits), so the app's small ``client_max_size`` for JSON
bodies stays as it is. A refused file answers a 4xx with ``{"error": ...}`` and nothing is stored.
"""

from __future__ import annotations

import logging

from aiohttp import BodyPartReader, web

from cityfed.actions import media as media_actions
from cityfed.api.common import ApiError, acting_actor, json_body, page_of, reply, require
from cityfed.appkeys import MEDIA, NODE
from cityfed.media.errors import MediaRejected
from cityfed.media.processing import focal_point_from_text
from cityfed.models import media as media_queries
from cityfed.urls import API_PREFIX

log = logging.getLogger("cityfed.api.media")

TEXT_FIELD_LIMIT = 8 * 1024


def max_upload_bytes(request: web.Request) -> int:
    settings = request.app[NODE].settings
    return max(settings.media_max_image_bytes, settings.media_max_document_bytes)


async def read_upload(request: web.Request) -> tuple[bytes, str, str | None, dict[str, str]]:
    """(file bytes, file name, declared type, text fields) of a multipart upload."""
    if request.content_type != "multipart/form-data":
        raise ApiError(415, "send the file as multipart/form-data (a 'file' part)")
    limit = max_upload_bytes(request)
    if (request.content_length or 0) > limit + 64 * 1024:
        raise ApiError(413, f"file: larger than {limit // (1024 * 1024)} MiB")
    reader = await request.multipart()
    data: bytes | None = None
    filename, declared = "upload", None
    fields: dict[str, str] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise ApiError(400, "nested multipart bodies are not accepted")
        if part.name == "file":
            if data is not None:
                raise ApiError(422, "file: one file per request")
            filename = part.filename or "upload"
            declared = part.headers.get("Content-Type")
            chunks: list[bytes] = []
            size = 0
            while chunk := await part.read_chunk(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, f"file: larger than {limit // (1024 * 1024)} MiB")
                chunks.append(chunk)
            data = b"".join(chunks)
        elif part.name:
            raw = await part.read(decode=True)
            if len(raw) > TEXT_FIELD_LIMIT:
                raise ApiError(413, f"{part.name}: too long")
            fields[part.name] = raw.decode("utf-8", "replace")
    if not data:
        raise ApiError(422, "file: this field is required (a non-empty file)")
    return data, filename, declared, fields


async def upload(request: web.Request) -> web.Response:
    require(request, "editor")
    actor = await acting_actor(request)
    data, filename, declared, fields = await read_upload(request)
    library = request.app[MEDIA]
    try:
        focal_point = focal_point_from_text(fields.get("focal_point"))
    except MediaRejected as exc:
        raise ApiError(exc.status, f"focal_point: {exc.reason}") from None
    try:
        media = await library.upload(
            actor.id,
            data,
            filename=filename,
            declared_type=declared,
            alt_text=fields.get("alt_text"),
            focal_point=focal_point,
            description=fields.get("description"),
        )
    except MediaRejected as exc:
        log.info("upload by @%s refused: %s", actor.handle, exc.reason)
        raise ApiError(exc.status, f"file: {exc.reason}") from None
    return reply(await _media_view(request, media.id), 201)


async def _media_view(request: web.Request, media_id: int) -> dict[str, object]:
    node = request.app[NODE]
    actor = await acting_actor(request)
    async with node.db.session() as session:
        try:
            media = await media_actions.own_media(session, actor, media_id)
        except media_actions.MediaError as exc:
            raise ApiError(exc.status, str(exc)) from None
        shown = await media_actions.shown(session, node, media, "")
        objects = await media_queries.objects_showing(session, media_id)
    view = shown.as_json()
    view.pop("role")
    view["attached_to"] = [row.ap_id for row in objects]
    return view


def _media_id(request: web.Request) -> int:
    try:
        return int(request.match_info["media_id"])
    except ValueError:
        raise ApiError(404, "no such media") from None


async def get_media(request: web.Request) -> web.Response:
    require(request, "editor")
    return reply(await _media_view(request, _media_id(request)))


async def patch_media(request: web.Request) -> web.Response:
    require(request, "editor")
    body = await json_body(request)
    actor = await acting_actor(request, body.pop("as", None))
    media_id = _media_id(request)
    if "alt_text" not in body:
        raise ApiError(422, "alt_text: this field is required")
    try:
        await media_actions.set_alt_text(request.app[NODE], actor, media_id, body["alt_text"])
    except media_actions.MediaError as exc:
        raise ApiError(exc.status, str(exc)) from None
    except MediaRejected as exc:
        raise ApiError(exc.status, f"alt_text: {exc.reason}") from None
    return reply(await _media_view(request, media_id))


async def delete_media(request: web.Request) -> web.Response:
    """Delete an upload that is attached to nothing (remove it from its objects first)."""
    require(request, "editor")
    view = await _media_view(request, _media_id(request))
    if view["attached_to"]:
        raise ApiError(409, "media: still attached; remove it from its objects first")
    await request.app[MEDIA].delete([_media_id(request)])
    return web.Response(status=204)


def _object_id(request: web.Request) -> str:
    node = request.app[NODE]
    return f"{node.urls.base}/{request.match_info['collection']}/{request.match_info['uid']}"


def _object_reply(request: web.Request, items: list[media_actions.ShownMedia]) -> web.Response:
    """An object's media, in the API's one list shape (``{total, page, items}``)."""
    return page_of(request, [m.as_json() for m in items])


async def object_media(request: web.Request) -> web.Response:
    require(request, "editor")
    node = request.app[NODE]
    actor = await acting_actor(request)
    async with node.db.session() as session:
        try:
            row = await media_actions.own_object_row(session, actor, _object_id(request))
        except media_actions.MediaError as exc:
            raise ApiError(exc.status, str(exc)) from None
        items = await media_actions.object_media(session, node, row.id)
    return _object_reply(request, items)


async def attach(request: web.Request) -> web.Response:
    require(request, "editor")
    body = await json_body(request)
    actor = await acting_actor(request, body.pop("as", None))
    media_id = body.get("media")
    if not isinstance(media_id, int) or isinstance(media_id, bool):
        raise ApiError(422, "media: expected the id of an upload (POST /media)")
    role = body.get("role")
    if role is not None and not isinstance(role, str):
        raise ApiError(422, "role: expected 'cover', 'gallery' or 'attachment'")
    try:
        items = await media_actions.attach(
            request.app[NODE], actor, _object_id(request), media_id, role
        )
    except media_actions.MediaError as exc:
        raise ApiError(exc.status, str(exc)) from None
    return _object_reply(request, items)


async def reorder(request: web.Request) -> web.Response:
    require(request, "editor")
    body = await json_body(request)
    actor = await acting_actor(request, body.pop("as", None))
    order = body.get("order")
    if not isinstance(order, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in order
    ):
        raise ApiError(422, "order: expected a list of media ids")
    try:
        items = await media_actions.reorder(request.app[NODE], actor, _object_id(request), order)
    except media_actions.MediaError as exc:
        raise ApiError(exc.status, str(exc)) from None
    return _object_reply(request, items)


async def detach(request: web.Request) -> web.Response:
    require(request, "editor")
    actor = await acting_actor(request)
    try:
        items = await media_actions.remove(
            request.app[NODE], actor, _object_id(request), _media_id(request)
        )
    except media_actions.MediaError as exc:
        raise ApiError(exc.status, str(exc)) from None
    return _object_reply(request, items)


def add_routes(app: web.Application) -> None:
    app.router.add_post(f"{API_PREFIX}/media", upload)
    app.router.add_get(f"{API_PREFIX}/media/{{media_id}}", get_media)
    app.router.add_patch(f"{API_PREFIX}/media/{{media_id}}", patch_media)
    app.router.add_delete(f"{API_PREFIX}/media/{{media_id}}", delete_media)
    objects = f"{API_PREFIX}/{{collection:projects|challenges}}/{{uid}}/media"
    app.router.add_get(objects, object_media)
    app.router.add_post(objects, attach)
    app.router.add_put(objects, reorder)
    app.router.add_delete(f"{objects}/{{media_id}}", detach)
