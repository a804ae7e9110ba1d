"""Media on our objects (issue 16): attach uploads to a project, challenge or comment, reorder,
remove, and what an object's ``attachment`` list says about them.

Each change rewrites the object's document and sends ``Update`` to followers in the same
transaction (``projects.edit_in``), so partners and Mastodon see the new pictures. Files that no
row references any more are deleted from storage only after that transaction commits.

The rules, as a Mastodon user sees them: at most ``MAX_IMAGES`` images (Mastodon shows the first
four attachments of a post), one of them the cover (shown first), each with alt text; documents
(PDF, ODT/ODS, CSV, …) after the images.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cityfed.actions import projects as project_actions
from cityfed.actions.project_fields import Submission
from cityfed.activitypub.vocab.media import DOCUMENT, IMAGE, Attachment
from cityfed.config import Settings
from cityfed.media.processing import VariantName
from cityfed.media.storage import forget_with_settings, open_storage
from cityfed.media.uploads import check_alt_text
from cityfed.models import media as media_queries
from cityfed.models.media import MediaKind, MediaRole
from cityfed.models.tables import Actor, Media, MediaFile, Object
from cityfed.node import Node

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("cityfed.actions.media")

MAX_IMAGES = 4  # Mastodon shows four attachments per post: a cover and three more
MAX_DOCUMENTS = 8


class MediaError(ValueError):
    """The change cannot be made; ``status`` is the 4xx a face answers, the message says why."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def media_url(settings: Settings, base: str, key: str) -> str:
    """Where a stored file is served: our ``/media/{key}`` route, or the object store's public
    URL (a CDN) when one is configured."""
    public = open_storage(settings).public_url(key) if settings.media_storage == "s3" else None
    return public or f"{base}/media/{key}"


def _pick(files: Sequence[MediaFile], media_type: str, prefer: VariantName) -> MediaFile | None:
    """The rendition named ``prefer`` in ``media_type``, else the largest in that type."""
    same_type = [f for f in files if f.media_type == media_type]
    for f in same_type:
        if f.variant == prefer.value:
            return f
    return same_type[0] if same_type else (files[0] if files else None)


@dataclass(frozen=True, slots=True)
class ShownMedia:
    """One media item of an object, as pages and the API show it."""

    id: int
    kind: str  # MediaKind
    role: str  # MediaRole
    media_type: str
    url: str  # the rendition federation gets (large JPEG/PNG, or the document)
    preview_url: str  # a smaller rendition for pages (medium, any format)
    alt_text: str | None
    filename: str | None
    width: int | None
    height: int | None
    blurhash: str | None
    focal_point: tuple[float, float] | None
    size: int

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "role": self.role,
            "media_type": self.media_type,
            "url": self.url,
            "preview_url": self.preview_url,
            "alt_text": self.alt_text,
            "filename": self.filename,
            "width": self.width,
            "height": self.height,
            "blurhash": self.blurhash,
            "focal_point": list(self.focal_point) if self.focal_point else None,
            "size": self.size,
        }

    def attachment(self) -> Attachment:
        return Attachment(
            kind=IMAGE if self.kind == MediaKind.IMAGE.value else DOCUMENT,
            url=self.url,
            media_type=self.media_type,
            name=self.alt_text or self.filename,
            width=self.width,
            height=self.height,
            blurhash=self.blurhash,
            focal_point=self.focal_point,
        )


async def shown(session: AsyncSession, node: Node, media: Media, role: str) -> ShownMedia:
    files = await media_queries.media_files(session, media.id)
    main = _pick(files, media.media_type, VariantName.LARGE)
    preview = next((f for f in files if f.variant == VariantName.MEDIUM.value), main)
    assert main is not None and preview is not None, f"media {media.id} has no files"
    base = node.urls.base
    focal = (
        (media.focal_x, media.focal_y)
        if media.focal_x is not None and media.focal_y is not None
        else None
    )
    return ShownMedia(
        id=media.id,
        kind=media.kind,
        role=role,
        media_type=main.media_type,
        url=media_url(node.settings, base, main.storage_key),
        preview_url=media_url(node.settings, base, preview.storage_key),
        alt_text=media.alt_text,
        filename=media.filename,
        width=main.width,
        height=main.height,
        blurhash=media.blurhash,
        focal_point=focal,
        size=media.size,
    )


async def object_media(session: AsyncSession, node: Node, object_id: int) -> list[ShownMedia]:
    """An object's media in the order they are sent: images (cover first), then documents."""
    items = [
        await shown(session, node, media, link.role)
        for media, link in await media_queries.object_media(session, object_id)
    ]
    return sorted(items, key=lambda m: m.kind != MediaKind.IMAGE.value)


async def own_media(session: AsyncSession, actor: Actor, media_id: int) -> Media:
    media = await media_queries.get_media(session, media_id)
    if media is None or media.owner_id != actor.id:
        raise MediaError(f"media: no upload {media_id} of this city", 404)
    return media


def _role_for(media: Media, role: str | None) -> MediaRole:
    if media.kind == MediaKind.DOCUMENT.value:
        if role not in (None, MediaRole.ATTACHMENT.value):
            raise MediaError("role: a document is attached with role 'attachment'")
        return MediaRole.ATTACHMENT
    if role in (None, MediaRole.GALLERY.value):
        return MediaRole.GALLERY
    if role == MediaRole.COVER.value:
        return MediaRole.COVER
    raise MediaError("role: an image is the 'cover' or in the 'gallery'")


async def _republish(
    session: AsyncSession, node: Node, actor: Actor, row: Object
) -> list[ShownMedia]:
    """Rewrite the object's ``attachment`` and send Update (same transaction)."""
    items = await object_media(session, node, row.id)
    submission = Submission(values={"attachments": [m.attachment() for m in items]})
    await project_actions.edit_in(session, node, actor, row.ap_id, submission)
    return items


async def attach(
    node: Node,
    actor: Actor,
    ap_id: str,
    media_id: int,
    role: str | None = None,
) -> list[ShownMedia]:
    """Show an upload on one of our projects or challenges; returns the object's media."""
    async with node.db.transaction() as session:
        row = await _own_object(session, actor, ap_id)
        media = await own_media(session, actor, media_id)
        chosen = _role_for(media, role)
        current = await media_queries.object_media(session, row.id)
        others = [(m, link) for m, link in current if m.id != media.id]
        images = [m for m, _link in others if m.kind == MediaKind.IMAGE.value]
        documents = [m for m, _link in others if m.kind == MediaKind.DOCUMENT.value]
        if media.kind == MediaKind.IMAGE.value and len(images) >= MAX_IMAGES:
            raise MediaError(f"media: at most {MAX_IMAGES} images (a cover and a small gallery)")
        if media.kind == MediaKind.DOCUMENT.value and len(documents) >= MAX_DOCUMENTS:
            raise MediaError(f"media: at most {MAX_DOCUMENTS} documents")
        if chosen == MediaRole.COVER:
            # One cover: the previous one moves to the front of the gallery.
            for m, link in others:
                if link.role == MediaRole.COVER.value:
                    await media_queries.attach(session, m.id, row.id, MediaRole.GALLERY, -1)
        position = max((link.position for _m, link in others), default=-1) + 1
        await media_queries.attach(session, media.id, row.id, chosen, position)
        items = await _republish(session, node, actor, row)
    log.info("@%s attached media %s to %s as %s", actor.handle, media_id, ap_id, chosen.value)
    return items


async def reorder(
    node: Node, actor: Actor, ap_id: str, media_ids: Sequence[int]
) -> list[ShownMedia]:
    """Put an object's media in the order of ``media_ids`` (all of them, each once)."""
    async with node.db.transaction() as session:
        row = await _own_object(session, actor, ap_id)
        current = {m.id for m, _link in await media_queries.object_media(session, row.id)}
        if sorted(media_ids) != sorted(current) or len(set(media_ids)) != len(media_ids):
            raise MediaError("order: list every media id of the object once")
        await media_queries.reorder(session, row.id, media_ids)
        items = await _republish(session, node, actor, row)
    log.info("@%s reordered the media of %s", actor.handle, ap_id)
    return items


async def remove(node: Node, actor: Actor, ap_id: str, media_id: int) -> list[ShownMedia]:
    """Take media off an object; an upload shown nowhere else is deleted with its files."""
    async with node.db.transaction() as session:
        row = await _own_object(session, actor, ap_id)
        current = {m.id for m, _link in await media_queries.object_media(session, row.id)}
        if media_id not in current:
            raise MediaError(f"media: {media_id} is not attached to this object", 404)
        orphans = await media_queries.detach(session, row.id, [media_id])
        items = await _republish(session, node, actor, row)
    await forget_with_settings(node.settings, orphans)
    log.info("@%s removed media %s from %s", actor.handle, media_id, ap_id)
    return items


async def set_alt_text(node: Node, actor: Actor, media_id: int, alt_text: str) -> None:
    """Change an image's alt text; every object showing it is sent again."""
    text = check_alt_text(alt_text)
    async with node.db.transaction() as session:
        await own_media(session, actor, media_id)
        await media_queries.set_alt_text(session, media_id, text)
        for row in await media_queries.objects_showing(session, media_id):
            await _republish(session, node, actor, row)


async def own_object_row(session: AsyncSession, actor: Actor, ap_id: str) -> Object:
    """One of ``actor``'s live projects or challenges (``MediaError`` 404 otherwise)."""
    return await _own_object(session, actor, ap_id)


async def _own_object(session: AsyncSession, actor: Actor, ap_id: str) -> Object:
    try:
        return await project_actions.own_object(session, actor, ap_id)
    except project_actions.NotFound:
        raise MediaError("object: no such project or challenge of this city", 404) from None


async def link_to_comment(
    session: AsyncSession, node: Node, author: Actor, object_id: int, media_ids: Sequence[int]
) -> list[dict[str, object]]:
    """Attach uploads to a new comment (inside its transaction); returns its ``attachment``."""
    if len(media_ids) > MAX_DOCUMENTS:
        raise MediaError(f"attachments: at most {MAX_DOCUMENTS}")
    for position, media_id in enumerate(media_ids):
        media = await own_media(session, author, media_id)
        role = _role_for(media, None)
        await media_queries.attach(session, media.id, object_id, role, position)
    return [m.attachment().to_ap() for m in await object_media(session, node, object_id)]
