"""Queries about media: uploads and their renditions, links to objects, quotas, the remote cache.

Files are content-addressed and may be shared (the same bytes uploaded twice, or a remote image
that happens to equal a local one), so removing rows never deletes bytes here: the functions that
remove rows return the storage keys that no row references any more, and the caller deletes those
from storage *after* its transaction commits (a rollback must never leave rows without files).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.tables import (
    Actor,
    Media,
    MediaFile,
    MediaLink,
    Object,
    ProfileMedia,
    RemoteMedia,
)
from cityfed.models.types import utcnow


class MediaKind(StrEnum):
    IMAGE = "image"
    DOCUMENT = "document"


class MediaRole(StrEnum):
    """How an object shows a media item: Mastodon shows them all as attachments, in order."""

    COVER = "cover"
    GALLERY = "gallery"
    ATTACHMENT = "attachment"  # documents of projects, challenges and comments


class RemoteState(StrEnum):
    CACHED = "cached"
    FAILED = "failed"  # a negative cache entry: not fetched again before it expires


@dataclass(frozen=True, slots=True)
class NewFile:
    """A rendition already put into storage, to be recorded."""

    variant: str
    media_type: str
    storage_key: str
    size: int
    width: int | None = None
    height: int | None = None


# ---- quota ----------------------------------------------------------------------------------


async def lock_owner(session: AsyncSession, owner_id: int) -> None:
    """Serialise quota checks of one city: on PostgreSQL, lock its actor row until commit (two
    uploads at once must not both fit in the last free megabyte). SQLite has one writer anyway,
    and SQLAlchemy leaves FOR UPDATE out there."""
    await session.execute(select(Actor.id).where(Actor.id == owner_id).with_for_update())


async def used_bytes(session: AsyncSession, owner_id: int) -> int:
    """Bytes stored for a city's media (all renditions), what its quota counts."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Media.size), 0)).where(Media.owner_id == owner_id)
    )
    return int(total or 0)


# ---- local media ----------------------------------------------------------------------------


async def add_media(
    session: AsyncSession,
    *,
    owner_id: int,
    kind: MediaKind,
    media_type: str,
    sha256: str,
    files: Sequence[NewFile],
    width: int | None = None,
    height: int | None = None,
    blurhash: str | None = None,
    focal_point: tuple[float, float] | None = None,
    alt_text: str | None = None,
    filename: str | None = None,
) -> Media:
    media = Media(
        owner_id=owner_id,
        kind=kind.value,
        media_type=media_type,
        size=sum(f.size for f in files),
        sha256=sha256,
        width=width,
        height=height,
        blurhash=blurhash,
        focal_x=focal_point[0] if focal_point else None,
        focal_y=focal_point[1] if focal_point else None,
        alt_text=alt_text,
        filename=filename,
    )
    session.add(media)
    await session.flush()
    session.add_all(
        MediaFile(
            media_id=media.id,
            variant=f.variant,
            media_type=f.media_type,
            storage_key=f.storage_key,
            size=f.size,
            width=f.width,
            height=f.height,
        )
        for f in files
    )
    await session.flush()
    return media


async def get_media(session: AsyncSession, media_id: int) -> Media | None:
    return await session.get(Media, media_id)


async def media_files(session: AsyncSession, media_id: int) -> list[MediaFile]:
    """A media item's renditions, largest first."""
    rows = await session.scalars(
        select(MediaFile)
        .where(MediaFile.media_id == media_id)
        .order_by(MediaFile.size.desc(), MediaFile.id)
    )
    return list(rows)


async def file_by_key(session: AsyncSession, key: str) -> MediaFile | None:
    """Any rendition stored under ``key`` (for serving it with its media type)."""
    return await session.scalar(select(MediaFile).where(MediaFile.storage_key == key).limit(1))


async def set_alt_text(session: AsyncSession, media_id: int, alt_text: str) -> bool:
    result = await session.execute(
        update(Media).where(Media.id == media_id).values(alt_text=alt_text)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def set_focal_point(
    session: AsyncSession, media_id: int, focal_point: tuple[float, float] | None
) -> bool:
    x, y = focal_point if focal_point else (None, None)
    result = await session.execute(
        update(Media).where(Media.id == media_id).values(focal_x=x, focal_y=y)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# ---- links to objects -----------------------------------------------------------------------


async def attach(
    session: AsyncSession, media_id: int, object_id: int, role: MediaRole, position: int = 0
) -> None:
    """Show ``media_id`` on ``object_id`` (idempotent: attaching again updates role and place)."""
    link = await session.get(MediaLink, (media_id, object_id))
    if link is None:
        session.add(
            MediaLink(media_id=media_id, object_id=object_id, role=role.value, position=position)
        )
    else:
        link.role, link.position = role.value, position
    await session.flush()


async def object_media(session: AsyncSession, object_id: int) -> list[tuple[Media, MediaLink]]:
    """The media an object shows, cover first, then in the order staff set."""
    rows = await session.execute(
        select(Media, MediaLink)
        .join(MediaLink, MediaLink.media_id == Media.id)
        .where(MediaLink.object_id == object_id)
        .order_by((MediaLink.role != MediaRole.COVER.value), MediaLink.position, Media.id)
    )
    return [(media, link) for media, link in rows]


async def reorder(session: AsyncSession, object_id: int, media_ids: Sequence[int]) -> None:
    """Set the positions of an object's media to the order of ``media_ids``."""
    for position, media_id in enumerate(media_ids):
        await session.execute(
            update(MediaLink)
            .where(MediaLink.object_id == object_id, MediaLink.media_id == media_id)
            .values(position=position)
        )


async def objects_showing(session: AsyncSession, media_id: int) -> list[Object]:
    """The live objects a media item is attached to."""
    rows = await session.scalars(
        select(Object)
        .join(MediaLink, MediaLink.object_id == Object.id)
        .where(MediaLink.media_id == media_id, Object.deleted_at.is_(None))
        .order_by(Object.id)
    )
    return list(rows)


async def unreferenced_keys(session: AsyncSession, keys: Iterable[str]) -> list[str]:
    """Those of ``keys`` that no local rendition and no remote cache entry uses any more."""
    wanted = set(keys)
    if not wanted:
        return []
    used = set(
        await session.scalars(
            select(MediaFile.storage_key).where(MediaFile.storage_key.in_(wanted)).distinct()
        )
    )
    used |= set(
        await session.scalars(
            select(RemoteMedia.storage_key).where(RemoteMedia.storage_key.in_(wanted)).distinct()
        )
    )
    return sorted(wanted - used)


async def delete_media(session: AsyncSession, media_ids: Iterable[int]) -> list[str]:
    """Delete media rows (their renditions and links go with them); return the storage keys
    that nothing references any more, for the caller to delete after commit."""
    ids = list(media_ids)
    if not ids:
        return []
    keys = set(
        await session.scalars(select(MediaFile.storage_key).where(MediaFile.media_id.in_(ids)))
    )
    # Explicit deletes rather than relying on ON DELETE CASCADE: SQLite enforces it only with
    # foreign_keys=ON, and the answer must not depend on a connection setting.
    await session.execute(delete(MediaLink).where(MediaLink.media_id.in_(ids)))
    await session.execute(delete(MediaFile).where(MediaFile.media_id.in_(ids)))
    await session.execute(delete(Media).where(Media.id.in_(ids)))
    return await unreferenced_keys(session, keys)


async def detach(session: AsyncSession, object_id: int, media_ids: Iterable[int]) -> list[str]:
    """Take media off an object; those shown nowhere else are deleted. Returns the storage keys
    to delete after commit."""
    ids = list(media_ids)
    if not ids:
        return []
    await session.execute(
        delete(MediaLink).where(MediaLink.object_id == object_id, MediaLink.media_id.in_(ids))
    )
    still_linked = set(
        await session.scalars(select(MediaLink.media_id).where(MediaLink.media_id.in_(ids)))
    )
    return await delete_media(session, [i for i in ids if i not in still_linked])


async def release_object_media(session: AsyncSession, object_id: int) -> list[str]:
    """An object is deleted (our objects become Tombstones, their rows stay): its media go
    unless another object shows them. Returns the storage keys to delete after commit."""
    ids = list(
        await session.scalars(select(MediaLink.media_id).where(MediaLink.object_id == object_id))
    )
    return await detach(session, object_id, ids)


async def unattached_media(
    session: AsyncSession, *, created_before: datetime, limit: int = 100
) -> list[int]:
    """Uploads never attached to anything (an abandoned form), old enough to sweep. A city's
    avatar and header are attached to the city, not to an object: they are never swept."""
    rows = await session.scalars(
        select(Media.id)
        .outerjoin(MediaLink, MediaLink.media_id == Media.id)
        .where(
            MediaLink.media_id.is_(None),
            Media.created_at < created_before,
            Media.id.not_in(select(ProfileMedia.media_id)),
        )
        .order_by(Media.id)
        .limit(limit)
    )
    return list(rows)


# ---- remote media cache ---------------------------------------------------------------------


async def remote_by_url(session: AsyncSession, url: str) -> RemoteMedia | None:
    return await session.scalar(select(RemoteMedia).where(RemoteMedia.url == url))


async def touch_remote(session: AsyncSession, remote_id: int) -> None:
    """Mark a cache entry as just used (what LRU eviction orders by)."""
    await session.execute(
        update(RemoteMedia).where(RemoteMedia.id == remote_id).values(last_used_at=utcnow())
    )


async def record_remote(
    session: AsyncSession,
    *,
    url: str,
    domain: str,
    state: RemoteState,
    storage_key: str | None = None,
    media_type: str | None = None,
    size: int = 0,
    width: int | None = None,
    height: int | None = None,
    blurhash: str | None = None,
    error: str | None = None,
) -> tuple[RemoteMedia, str | None]:
    """Insert or replace the cache entry of ``url``. Returns it and the storage key it held
    before, if that key is now unreferenced (for the caller to delete after commit)."""
    entry = await remote_by_url(session, url)
    old_key = entry.storage_key if entry is not None else None
    now = utcnow()
    if entry is None:
        entry = RemoteMedia(url=url, domain=domain)
        session.add(entry)
    entry.domain = domain
    entry.state = state.value
    entry.storage_key = storage_key
    entry.media_type = media_type
    entry.size = size
    entry.width, entry.height, entry.blurhash, entry.error = width, height, blurhash, error
    entry.fetched_at = entry.last_used_at = now
    await session.flush()
    if old_key is None or old_key == storage_key:
        return entry, None
    gone = await unreferenced_keys(session, [old_key])
    return entry, (gone[0] if gone else None)


async def remote_total_bytes(session: AsyncSession) -> int:
    total = await session.scalar(select(func.coalesce(func.sum(RemoteMedia.size), 0)))
    return int(total or 0)


async def least_recently_used(session: AsyncSession, limit: int = 100) -> list[RemoteMedia]:
    rows = await session.scalars(
        select(RemoteMedia)
        .where(RemoteMedia.state == RemoteState.CACHED.value)
        .order_by(RemoteMedia.last_used_at, RemoteMedia.id)
        .limit(limit)
    )
    return list(rows)


async def remove_remote(session: AsyncSession, remote_ids: Iterable[int]) -> list[str]:
    """Drop cache entries; returns the storage keys to delete after commit."""
    ids = list(remote_ids)
    if not ids:
        return []
    keys = {
        key
        for key in await session.scalars(
            select(RemoteMedia.storage_key).where(RemoteMedia.id.in_(ids))
        )
        if key
    }
    await session.execute(delete(RemoteMedia).where(RemoteMedia.id.in_(ids)))
    return await unreferenced_keys(session, keys)


async def remove_failed_remote(session: AsyncSession, *, before: datetime) -> int:
    """Forget failure records older than ``before`` (they hold no file)."""
    result = await session.execute(
        delete(RemoteMedia).where(
            RemoteMedia.state == RemoteState.FAILED.value, RemoteMedia.fetched_at < before
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def remote_of_domain(session: AsyncSession, domain: str) -> list[int]:
    """Cache entries of a domain and its subdomains (a block covers both, §7)."""
    domain = domain.lower()
    rows = await session.scalars(
        select(RemoteMedia.id).where(
            (RemoteMedia.domain == domain)
            | RemoteMedia.domain.endswith("." + domain, autoescape=True)
        )
    )
    return list(rows)
