"""The city's profile for admins (issue 16): display name, bio, fields with their verification,
avatar and header; the same actions as ``cityfed profile`` and the API's ``/profile``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cityfed.actions import profile as profile_actions
from cityfed.actions.profile import ImageRole, ProfileError
from cityfed.appkeys import NODE
from cityfed.media.errors import MediaRejected
from cityfed.schemas.profile import MAX_FIELDS
from cityfed.web.staff.auth import requires
from cityfed.web.staff.common import city, form, text
from cityfed.web.staff.render import page, redirect
from cityfed.web.staff.state import translator, who

PATH = "/staff/admin/profile"
IMAGE_PATH = PATH + "/image"


async def _profile_page(
    request: web.Request,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> web.Response:
    me = await city(request)
    view = await profile_actions.read(request.app[NODE], me)
    rows: list[tuple[str, str, Any]] = [(f.name, f.value, f) for f in view.fields]
    if values is not None:  # a refused form shows what was typed, not what is stored
        rows = [(n, v, None) for n, v in values["fields"]]
    rows += [("", "", None)] * (MAX_FIELDS - len(rows))
    return page(
        request,
        "admin_profile.html",
        status=status,
        profile=view,
        display_name=values["display_name"] if values else view.display_name,
        bio=values["bio"] if values else view.bio,
        rows=rows,
        errors=errors or {},
        roles=[(ImageRole.AVATAR, view.avatar), (ImageRole.HEADER, view.header)],
    )


@requires("admin")
async def profile_form(request: web.Request) -> web.StreamResponse:
    return await _profile_page(request)


@requires("admin")
async def save(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    pairs = [
        (text(data, f"field_name_{i}"), text(data, f"field_value_{i}")) for i in range(MAX_FIELDS)
    ]
    fields = [(n, v) for n, v in pairs if n or v]
    display_name, bio = text(data, "display_name"), data.get("bio", "").strip()
    values: dict[str, Any] = {"display_name": display_name, "bio": bio, "fields": fields}
    me = await city(request)
    node = request.app[NODE]
    try:
        await profile_actions.update(
            node, me, who=who(request), display_name=display_name, bio=bio, fields=fields
        )
    except ProfileError as exc:
        return await _profile_page(
            request, status=422, errors={exc.field: exc.message}, values=values
        )
    await profile_actions.verify_fields(node, me, only_unverified=True)
    return redirect(PATH, done="profile_saved")


@requires("admin")
async def verify(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    await profile_actions.verify_fields(node, await city(request))
    return redirect(PATH, done="profile_verified")


@requires("admin")
async def set_image(request: web.Request) -> web.StreamResponse:
    _ = translator(request)
    post = await request.post()
    role_name = post.get("role")
    if role_name not in (ImageRole.AVATAR.value, ImageRole.HEADER.value):
        raise web.HTTPBadRequest()
    role = ImageRole(str(role_name))
    me = await city(request)
    node = request.app[NODE]
    if post.get("remove"):
        await profile_actions.set_image(node, me, role, None, who=who(request))
        return redirect(PATH, done="profile_image_removed")
    upload = post.get("file")
    data = upload.file.read() if isinstance(upload, web.FileField) else b""
    if not data:
        return await _profile_page(
            request, status=422, errors={role.value: _("Choose an image file.")}
        )
    alt = post.get("alt_text")
    try:
        await profile_actions.set_image(
            node, me, role, data, who=who(request), alt_text=alt if isinstance(alt, str) else None
        )
    except MediaRejected as exc:
        return await _profile_page(request, status=exc.status, errors={role.value: exc.reason})
    return redirect(PATH, done="profile_image_saved")


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, profile_form)
    app.router.add_post(PATH, save)
    app.router.add_post(PATH + "/verify", verify)
    app.router.add_post(IMAGE_PATH, set_image)
