"""/api/cityfed/v1/profile: a city's profile (issue 16), for admins.

``GET /profile`` answers it; ``PATCH /profile`` changes ``display_name``, ``bio`` (Markdown) and/or
``fields`` (a list of ``{"name", "value"}``, at most 8, replacing the list); ``POST
/profile/verify`` checks every link field for a ``rel="me"`` link back again; ``PUT
/profile/avatar`` and ``PUT /profile/header`` take an image as multipart/form-data (``file``,
optional ``alt_text``), ``DELETE`` removes it. Every change sends ``Update{Organization}`` to the
city's followers. ``?as=handle`` picks the city on a node with several.
"""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from cityfed.actions import profile as profile_actions
from cityfed.actions.profile import ImageRole, ProfileError, ProfileView
from cityfed.api.common import ApiError, acting_actor, json_body, reply, require
from cityfed.appkeys import NODE
from cityfed.media.errors import MediaRejected
from cityfed.urls import API_PREFIX

TEXT_FIELD_LIMIT = 8 * 1024


def profile_json(view: ProfileView) -> dict[str, Any]:
    return view.to_json()


def _fields(body: dict[str, Any]) -> list[tuple[str, str]] | None:
    raw = body.get("fields")
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise ApiError(422, 'fields: expected a list of {"name": ..., "value": ...}')
    pairs = []
    for index, item in enumerate(raw, start=1):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("value"), str)
        ):
            raise ApiError(422, f"fields: item {index} needs a string name and a string value")
        pairs.append((item["name"], item["value"]))
    return pairs


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(422, f"{name}: expected a string")
    return value


async def show(request: web.Request) -> web.Response:
    require(request, "admin")
    actor = await acting_actor(request)
    return reply(profile_json(await profile_actions.read(request.app[NODE], actor)))


async def change(request: web.Request) -> web.Response:
    token = require(request, "admin")
    body = await json_body(request)
    unknown = set(body) - {"display_name", "bio", "fields", "as"}
    if unknown:
        raise ApiError(422, f"{sorted(unknown)[0]}: not a profile field")
    actor = await acting_actor(request, body.get("as"))
    node = request.app[NODE]
    try:
        await profile_actions.update(
            node,
            actor,
            who=token.name,
            display_name=_text(body, "display_name"),
            bio=_text(body, "bio"),
            fields=_fields(body),
        )
    except ProfileError as exc:
        raise ApiError(422, str(exc)) from None
    # As Mastodon does after a profile save: check the links not verified yet.
    await profile_actions.verify_fields(node, actor, only_unverified=True)
    return reply(profile_json(await profile_actions.read(node, actor)))


async def verify(request: web.Request) -> web.Response:
    require(request, "admin")
    actor = await acting_actor(request)
    node = request.app[NODE]
    await profile_actions.verify_fields(node, actor)
    return reply(profile_json(await profile_actions.read(node, actor)))


async def _read_image(request: web.Request) -> tuple[bytes, str | None]:
    """The ``file`` and ``alt_text`` of a multipart upload, never read past the image limit."""
    if request.content_type != "multipart/form-data":
        raise ApiError(415, "send the image as multipart/form-data (a 'file' part)")
    limit = request.app[NODE].settings.media_max_image_bytes
    too_large = ApiError(413, f"file: larger than {limit // (1024 * 1024)} MiB")
    if (request.content_length or 0) > limit + TEXT_FIELD_LIMIT * 2:
        raise too_large
    reader = await request.multipart()
    data: bytes | None = None
    alt_text: str | None = None
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise ApiError(400, "nested multipart bodies are not accepted")
        if part.name == "file":
            if data is not None:
                raise ApiError(422, "file: one file per request")
            chunks: list[bytes] = []
            size = 0
            while chunk := await part.read_chunk(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
            data = b"".join(chunks)
        elif part.name == "alt_text":
            raw = await part.read(decode=True)
            if len(raw) > TEXT_FIELD_LIMIT:
                raise ApiError(413, "alt_text: too long")
            alt_text = raw.decode("utf-8", "replace")
        else:
            await part.release()
    if not data:
        raise ApiError(422, "file: this field is required (a non-empty image)")
    return data, alt_text


def _role(request: web.Request) -> ImageRole:
    return ImageRole(request.match_info["role"])


async def put_image(request: web.Request) -> web.Response:
    token = require(request, "admin")
    actor = await acting_actor(request)
    data, alt_text = await _read_image(request)
    node = request.app[NODE]
    try:
        await profile_actions.set_image(
            node, actor, _role(request), data, who=token.name, alt_text=alt_text
        )
    except MediaRejected as exc:
        raise ApiError(exc.status, f"file: {exc.reason}") from None
    return reply(profile_json(await profile_actions.read(node, actor)))


async def delete_image(request: web.Request) -> web.Response:
    token = require(request, "admin")
    actor = await acting_actor(request)
    node = request.app[NODE]
    await profile_actions.set_image(node, actor, _role(request), None, who=token.name)
    return reply(profile_json(await profile_actions.read(node, actor)))


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API_PREFIX}/profile", show)
    app.router.add_patch(f"{API_PREFIX}/profile", change)
    app.router.add_post(f"{API_PREFIX}/profile/verify", verify)
    app.router.add_put(f"{API_PREFIX}/profile/{{role:avatar|header}}", put_image)
    app.router.add_delete(f"{API_PREFIX}/profile/{{role:avatar|header}}", delete_image)
