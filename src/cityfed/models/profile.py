"""Queries about a local city's profile: its fields (with their verification) and the uploads
that are its avatar and header."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.tables import Media, MediaFile, ProfileField, ProfileMedia


class ImageRole(StrEnum):
    """Which picture of a profile: ``icon`` and ``image`` of the actor document."""

    AVATAR = "avatar"
    HEADER = "header"


@dataclass(frozen=True, slots=True)
class ProfileImage:
    """An avatar or header: the upload and the rendition that is sent and shown."""

    media: Media
    file: MediaFile


# ---- fields ---------------------------------------------------------------------------------


async def fields_of(session: AsyncSession, actor_id: int) -> list[ProfileField]:
    rows = await session.scalars(
        select(ProfileField)
        .where(ProfileField.actor_id == actor_id)
        .order_by(ProfileField.position, ProfileField.id)
    )
    return list(rows)


async def replace_fields(
    session: AsyncSession, actor_id: int, pairs: Sequence[tuple[str, str]]
) -> list[ProfileField]:
    """Make the city's fields exactly ``pairs`` (name, value), in order. A field whose value is
    unchanged keeps its verification; a changed value must be verified again."""
    old = {row.value: row for row in await fields_of(session, actor_id)}
    verified = {value: (row.verified_at, row.checked_at) for value, row in old.items()}
    await session.execute(delete(ProfileField).where(ProfileField.actor_id == actor_id))
    await session.flush()
    rows = []
    for position, (name, value) in enumerate(pairs):
        verified_at, checked_at = verified.get(value, (None, None))
        row = ProfileField(
            actor_id=actor_id,
            position=position,
            name=name,
            value=value,
            verified_at=verified_at,
            checked_at=checked_at,
        )
        session.add(row)
        rows.append(row)
    await session.flush()
    return rows


async def record_check(
    session: AsyncSession, field_id: int, value: str, *, verified_at: datetime | None, at: datetime
) -> bool:
    """Record a verification outcome, unless the field changed meanwhile (then its new value
    awaits its own check). False when nothing was recorded."""
    result = await session.execute(
        update(ProfileField)
        .where(ProfileField.id == field_id, ProfileField.value == value)
        .values(verified_at=verified_at, checked_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# ---- avatar and header ----------------------------------------------------------------------


async def image_media_id(session: AsyncSession, actor_id: int, role: ImageRole) -> int | None:
    return await session.scalar(
        select(ProfileMedia.media_id).where(
            ProfileMedia.actor_id == actor_id, ProfileMedia.role == role.value
        )
    )


async def set_image(
    session: AsyncSession, actor_id: int, role: ImageRole, media_id: int | None
) -> int | None:
    """Make ``media_id`` the city's avatar or header (None: remove it); returns the media id it
    replaces, for the caller to delete."""
    old = await image_media_id(session, actor_id, role)
    await session.execute(
        delete(ProfileMedia).where(
            ProfileMedia.actor_id == actor_id, ProfileMedia.role == role.value
        )
    )
    if media_id is not None:
        session.add(ProfileMedia(actor_id=actor_id, role=role.value, media_id=media_id))
    await session.flush()
    return old if old != media_id else None


async def images_of(session: AsyncSession, actor_id: int) -> dict[ImageRole, ProfileImage]:
    """The city's avatar and header with the rendition each one shows: of the type federation
    gets (JPEG/PNG, which every server reads), the smallest at least as large as the role needs
    (an avatar is shown at most 400 px wide; a header up to 1500), else the largest there is."""
    rows = await session.execute(
        select(ProfileMedia.role, Media, MediaFile)
        .join(Media, Media.id == ProfileMedia.media_id)
        .join(MediaFile, MediaFile.media_id == Media.id)
        .where(ProfileMedia.actor_id == actor_id, MediaFile.media_type == Media.media_type)
        .order_by(MediaFile.width, MediaFile.id)
    )
    wanted = {ImageRole.AVATAR: 400, ImageRole.HEADER: 1500}
    found: dict[ImageRole, ProfileImage] = {}
    for role_name, media, file in rows:
        role = ImageRole(role_name)
        current = found.get(role)
        # Ascending width: the first file large enough wins; until one is, keep the larger.
        if current is None or max(current.file.width or 0, current.file.height or 0) < wanted[role]:
            found[role] = ProfileImage(media, file)
    return found


async def profile_media_ids(session: AsyncSession) -> set[int]:
    """Every upload that is some city's avatar or header (never swept as unattached)."""
    return set(await session.scalars(select(ProfileMedia.media_id)))
