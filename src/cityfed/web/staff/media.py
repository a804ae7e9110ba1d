"""Staff pages for a project's or challenge's pictures and documents (issue 16).

On the staff page of one of our objects: upload a picture (alt text required, optional focal
point, cover or gallery) or a document; the stored picture then shows there as its preview,
with buttons to move it, change its alt text or remove it. Every change goes through
``actions.media`` (the API's code path) and sends ``Update`` to followers.

An upload form is the one staff form larger than the app's body limit: the staff middleware
lets ``UPLOAD_PATH`` read up to the ``[media]`` limits (``auth.media_upload_limit``).
"""

from __future__ import annotations

import logging

from aiohttp import web
from multidict import MultiDictProxy

from cityfed.actions import media as media_actions
from cityfed.appkeys import MEDIA, NODE
from cityfed.media.errors import MediaRejected
from cityfed.media.processing import focal_point_from_text
from cityfed.web.staff.auth import MEDIA_UPLOAD_PATH, requires
from cityfed.web.staff.common import city, form, object_url, text
from cityfed.web.staff.objects import render_object
from cityfed.web.staff.state import translator

log = logging.getLogger("cityfed.web.staff.media")

UPLOAD_PATH = MEDIA_UPLOAD_PATH


async def _problem(request: web.Request, ap_id: str, status: int, message: str) -> web.Response:
    return await render_object(request, ap_id, status=status, errors={"media": message})


@requires("editor")
async def upload(request: web.Request) -> web.StreamResponse:
    _ = translator(request)
    data: MultiDictProxy = await request.post()
    ap_id = data.get("id") if isinstance(data.get("id"), str) else ""
    assert isinstance(ap_id, str)
    upload_field = data.get("file")
    if not isinstance(upload_field, web.FileField):
        return await _problem(request, ap_id, 422, _("Choose a file to upload."))
    raw = upload_field.file.read()
    if not raw:
        return await _problem(request, ap_id, 422, _("Choose a file to upload."))
    me = await city(request)
    node = request.app[NODE]
    library = request.app[MEDIA]
    alt = data.get("alt_text") if isinstance(data.get("alt_text"), str) else ""
    role = data.get("role") if isinstance(data.get("role"), str) else None
    focal = data.get("focal_point") if isinstance(data.get("focal_point"), str) else ""
    assert isinstance(alt, str) and isinstance(focal, str)
    async with node.db.session() as session:
        try:
            await media_actions.own_object_row(session, me, ap_id)
        except media_actions.MediaError:
            return await _problem(request, ap_id, 404, _("No such project or challenge of ours."))
    try:
        media = await library.upload(
            me.id,
            raw,
            filename=upload_field.filename or "document",
            declared_type=upload_field.content_type,
            alt_text=alt,
            focal_point=focal_point_from_text(focal),
        )
    except MediaRejected as exc:
        log.info("staff upload by @%s refused: %s", me.handle, exc.reason)
        return await _problem(request, ap_id, exc.status, exc.reason)
    try:
        await media_actions.attach(
            node, me, ap_id, media.id, role if role and media.kind == "image" else None
        )
    except media_actions.MediaError as exc:
        await library.delete([media.id])  # attached nowhere: nothing stays behind
        return await _problem(request, ap_id, exc.status, str(exc))
    return web.Response(
        status=303, headers={"Location": object_url(ap_id) + "&done=media_added#media"}
    )


async def _ids(request: web.Request) -> tuple[str, int | None, dict[str, str]]:
    data = await form(request)
    try:
        media_id: int | None = int(text(data, "media"))
    except ValueError:
        media_id = None
    return text(data, "id"), media_id, data


@requires("editor")
async def move(request: web.Request) -> web.StreamResponse:
    """Move one picture or document a place earlier (``direction=up``) or later."""
    ap_id, media_id, data = await _ids(request)
    me = await city(request)
    node = request.app[NODE]
    async with node.db.session() as session:
        try:
            row = await media_actions.own_object_row(session, me, ap_id)
        except media_actions.MediaError as exc:
            return await _problem(request, ap_id, exc.status, str(exc))
        order = [m.id for m in await media_actions.object_media(session, node, row.id)]
    if media_id in order:
        at = order.index(media_id)
        to = at - 1 if text(data, "direction") == "up" else at + 1
        if 0 <= to < len(order):
            order[at], order[to] = order[to], order[at]
            await media_actions.reorder(node, me, ap_id, order)
    return web.Response(
        status=303, headers={"Location": object_url(ap_id) + "&done=media_saved#media"}
    )


@requires("editor")
async def remove(request: web.Request) -> web.StreamResponse:
    ap_id, media_id, _data = await _ids(request)
    me = await city(request)
    try:
        await media_actions.remove(request.app[NODE], me, ap_id, media_id or 0)
    except media_actions.MediaError as exc:
        return await _problem(request, ap_id, exc.status, str(exc))
    return web.Response(
        status=303, headers={"Location": object_url(ap_id) + "&done=media_removed#media"}
    )


@requires("editor")
async def alt_text(request: web.Request) -> web.StreamResponse:
    ap_id, media_id, data = await _ids(request)
    me = await city(request)
    try:
        await media_actions.set_alt_text(
            request.app[NODE], me, media_id or 0, text(data, "alt_text")
        )
    except media_actions.MediaError as exc:
        return await _problem(request, ap_id, exc.status, str(exc))
    except MediaRejected as exc:
        return await _problem(request, ap_id, exc.status, exc.reason)
    return web.Response(
        status=303, headers={"Location": object_url(ap_id) + "&done=media_saved#media"}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post(UPLOAD_PATH, upload)
    app.router.add_post("/staff/media/move", move)
    app.router.add_post("/staff/media/remove", remove)
    app.router.add_post("/staff/media/alt", alt_text)
