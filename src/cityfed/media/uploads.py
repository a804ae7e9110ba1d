"""Take an upload from bytes to stored, recorded media: check, process, quota, store, record.

The order keeps the rule "nothing stored half-way": every check that needs no storage runs first
(size, type, decoding, alt text, a first quota check); then the renditions are put into storage;
then one transaction checks the quota again under a lock on the city and records the rows. If that
transaction fails, the files it would have referenced are deleted again (unless another row already
references the same bytes). Files are deleted from storage only after the transaction that stopped
referencing them has committed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cityfed.config import Settings
from cityfed.media.documents import check_document
from cityfed.media.errors import InvalidFile, QuotaExceeded
from cityfed.media.processing import (
    ImageLimits,
    ImageProcessor,
    ProcessedImage,
    VariantName,
    looks_like_image,
)
from cityfed.media.storage import Storage, forget, open_storage
from cityfed.models import media as queries
from cityfed.models.db import Database
from cityfed.models.tables import Media

log = logging.getLogger("cityfed.media")

MAX_ALT_TEXT = 1500  # Mastodon's limit for media descriptions
DOCUMENT_VARIANT = "file"


@dataclass
class MediaLibrary:
    """A node's media: what faces and actions call to upload, and to free files after deletes."""

    db: Database
    storage: Storage
    processor: ImageProcessor
    max_document_bytes: int = 32 * 1024 * 1024
    quota_bytes: int = 0  # per city; 0 = unlimited

    @classmethod
    def from_settings(
        cls, settings: Settings, db: Database, storage: Storage | None = None
    ) -> MediaLibrary:
        return cls(
            db=db,
            storage=storage or open_storage(settings),
            processor=ImageProcessor(
                ImageLimits.from_settings(settings), settings.media_processing_concurrency
            ),
            max_document_bytes=settings.media_max_document_bytes,
            quota_bytes=settings.media_quota_bytes,
        )

    # ---- quota ----

    def _over(self, used: int, adding: int) -> bool:
        return self.quota_bytes > 0 and used + adding > self.quota_bytes

    def _quota_error(self) -> QuotaExceeded:
        return QuotaExceeded(
            f"this city's media quota ({self.quota_bytes // (1024 * 1024)} MiB) is used up: "
            "remove media or ask the admin to raise [media] quota_bytes"
        )

    async def _check_quota_early(self, owner_id: int) -> None:
        """Before any work: refuse at once when the quota is already used up."""
        if self.quota_bytes <= 0:
            return
        async with self.db.session() as session:
            used = await queries.used_bytes(session, owner_id)
        if used >= self.quota_bytes:
            raise self._quota_error()

    # ---- storing ----

    async def _store(
        self,
        owner_id: int,
        files: Sequence[tuple[str, str, bytes, int | None, int | None]],
        **row: Any,
    ) -> Media:
        """Put ``files`` (variant, media type, bytes, width, height) into storage, then record
        them in one transaction that checks the quota; undo the puts if that fails."""
        results = await asyncio.gather(
            *(self.storage.put(data, mt) for _v, mt, data, _w, _h in files),
            return_exceptions=True,
        )
        keys = [r for r in results if isinstance(r, str)]
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:  # the store is down or full: take back what did get in, then say so
            await self._forget_unreferenced(keys)
            raise failed[0]
        new_files = [
            queries.NewFile(variant, media_type, key, len(data), width, height)
            for (variant, media_type, data, width, height), key in zip(files, keys, strict=True)
        ]
        try:
            async with self.db.transaction() as session:
                await queries.lock_owner(session, owner_id)
                used = await queries.used_bytes(session, owner_id)
                if self._over(used, sum(f.size for f in new_files)):
                    raise self._quota_error()
                media = await queries.add_media(session, owner_id=owner_id, files=new_files, **row)
        except BaseException:
            await self._forget_unreferenced(keys)
            raise
        log.info(
            "media %s stored for actor %s: %s, %d files, %d bytes",
            media.id,
            owner_id,
            media.media_type,
            len(new_files),
            media.size,
        )
        return media

    async def _forget_unreferenced(self, keys: Sequence[str]) -> None:
        async with self.db.session() as session:
            orphans = await queries.unreferenced_keys(session, keys)
        await self.forget(orphans)

    async def upload_image(
        self,
        owner_id: int,
        data: bytes,
        *,
        alt_text: str,
        focal_point: tuple[float, float] | None = None,
    ) -> Media:
        """Check, process and store an image. Raises ``MediaRejected`` (nothing stored)."""
        alt = check_alt_text(alt_text)
        await self._check_quota_early(owner_id)
        processed = await self.processor.process(data, focal_point)
        files = [
            (v.name.value, v.media_type, v.data, v.width, v.height) for v in processed.variants
        ]
        return await self._store(
            owner_id,
            files,
            kind=queries.MediaKind.IMAGE,
            media_type=federated_type(processed),
            sha256=hashlib.sha256(data).hexdigest(),
            width=processed.width,
            height=processed.height,
            blurhash=processed.blurhash,
            focal_point=processed.focal_point,
            alt_text=alt,
        )

    async def upload_document(
        self,
        owner_id: int,
        data: bytes,
        *,
        filename: str,
        declared_type: str | None = None,
        description: str | None = None,
    ) -> Media:
        """Check and store a document as it is (never modified: it may be signed). Raises
        ``MediaRejected`` (nothing stored)."""
        checked = check_document(data, filename, declared_type, max_bytes=self.max_document_bytes)
        await self._check_quota_early(owner_id)
        return await self._store(
            owner_id,
            [(DOCUMENT_VARIANT, checked.type.value, data, None, None)],
            kind=queries.MediaKind.DOCUMENT,
            media_type=checked.type.value,
            sha256=hashlib.sha256(data).hexdigest(),
            alt_text=description.strip() if description and description.strip() else None,
            filename=checked.filename,
        )

    async def upload(
        self,
        owner_id: int,
        data: bytes,
        *,
        filename: str,
        declared_type: str | None = None,
        alt_text: str | None = None,
        focal_point: tuple[float, float] | None = None,
        description: str | None = None,
    ) -> Media:
        """A picture or a document, told apart by the content (never the name or the declared
        type): what the upload forms and the API call. Raises ``MediaRejected``."""
        if looks_like_image(data):
            return await self.upload_image(
                owner_id, data, alt_text=alt_text or "", focal_point=focal_point
            )
        return await self.upload_document(
            owner_id,
            data,
            filename=filename,
            declared_type=declared_type,
            description=description or alt_text,
        )

    # ---- deleting ----

    async def forget(self, keys: Iterable[str]) -> None:
        """Delete files no row references any more. Call only after the transaction that
        released them has committed. A failure is logged, not raised: the row is already gone,
        and a stray file costs space, not correctness."""
        await forget(self.storage, keys)

    async def delete(self, media_ids: Iterable[int]) -> None:
        """Delete media (e.g. removed by staff) and the files nothing else uses."""
        async with self.db.transaction() as session:
            keys = await queries.delete_media(session, media_ids)
        await self.forget(keys)

    async def release_object(self, object_id: int) -> None:
        """An object was deleted: its media go, with their files, unless something else uses
        them. (An action that deletes an object in its own transaction calls
        ``models.media.release_object_media`` there and ``forget`` after its commit instead.)"""
        async with self.db.transaction() as session:
            keys = await queries.release_object_media(session, object_id)
        await self.forget(keys)

    async def close(self) -> None:
        await self.storage.close()


def check_alt_text(alt_text: str | None) -> str:
    """Alt text is required for images (accessibility) and bounded."""
    text = (alt_text or "").strip()
    if not text:
        raise InvalidFile(
            "describe the image in its alt text (required, for people who can't see it)"
        )
    if len(text) > MAX_ALT_TEXT:
        raise InvalidFile(f"the alt text is longer than {MAX_ALT_TEXT} characters")
    return text


def federated_type(processed: ProcessedImage) -> str:
    """The media type of the rendition an ``Image`` attachment points at: the JPEG/PNG fallback
    when there is one (every fediverse server shows it), otherwise the first format made."""
    made = [v for v in processed.variants if v.name != VariantName.ORIGINAL]
    for variant in made:
        if variant.media_type in ("image/jpeg", "image/png"):
            return variant.media_type
    return made[0].media_type
