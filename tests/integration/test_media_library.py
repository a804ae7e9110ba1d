"""Uploads end to end on a real node's database (SQLite, or PostgreSQL with
CITYFED_TEST_DATABASE_URL) and on both storage backends: bad files refused with nothing stored,
quotas, shared files, and deleting an object's media with the files nothing else uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cityfed.media.errors import (
    InvalidFile,
    MediaRejected,
    QuotaExceeded,
    TooLarge,
    UnsupportedType,
)
from cityfed.media.processing import ImageLimits, ImageProcessor, process_image
from cityfed.media.storage import FileStorage, Storage, content_key
from cityfed.media.uploads import MediaLibrary
from cityfed.models import media as queries
from cityfed.models.actors import local_actor
from cityfed.models.tables import Media, MediaFile, Object
from cityfed.models.types import utcnow
from tests.media_support import (
    SVG_WITH_SCRIPT,
    bucket_keys,
    encode,
    fake_png,
    jpeg_with_gps,
    make_bucket,
    picture,
    png_bomb,
    s3_endpoint,
    s3_storage,
)
from tests.rig import TestNode

__all__ = ["s3_endpoint"]  # a fixture, used by name

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@dataclass
class Setup:
    library: MediaLibrary
    owner_id: int
    node: TestNode
    files: Storage
    listing: object  # async () -> list of stored keys, asked of the backend itself

    async def stored(self) -> list[str]:
        return await self.listing()  # type: ignore[operator]


@pytest.fixture(params=["files", "s3"])
async def setup(
    request: pytest.FixtureRequest, node: TestNode, tmp_path: Path
) -> AsyncIterator[Setup]:
    if request.param == "files":
        root = tmp_path / "media"
        storage: Storage = FileStorage(root)

        async def listing() -> list[str]:
            return sorted(p.name for p in root.rglob("*") if p.is_file())

    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = await make_bucket(endpoint)
        storage = s3_storage(endpoint, bucket)

        async def listing() -> list[str]:
            return sorted(k.rsplit("/", 1)[-1] for k in await bucket_keys(endpoint, bucket))

    async with node.node.db.session() as session:
        owner = await local_actor(session, node.handle)
    assert owner is not None
    library = MediaLibrary(
        db=node.node.db,
        storage=storage,
        # Small sizes keep the suite fast; the sizes themselves are tested in test_media_processing.
        processor=ImageProcessor(
            ImageLimits(max_bytes=4 * 1024 * 1024, sizes=(640, 320, 160)), concurrency=2
        ),
        max_document_bytes=1024 * 1024,
    )
    try:
        yield Setup(library, owner.id, node, storage, listing)
    finally:
        await library.close()


async def count_rows(setup: Setup) -> tuple[int, int]:
    async with setup.library.db.session() as session:
        media = await session.scalar(select(func.count()).select_from(Media))
        files = await session.scalar(select(func.count()).select_from(MediaFile))
    return int(media or 0), int(files or 0)


async def new_object(setup: Setup, name: str) -> int:
    async with setup.library.db.transaction() as session:
        obj = Object(
            ap_id=f"{setup.node.base}/objects/{name}",
            type="Note",
            actor_id=setup.owner_id,
            local=True,
            document={"type": "Note"},
        )
        session.add(obj)
        await session.flush()
        return obj.id


async def test_an_image_is_stored_in_every_rendition_with_its_facts(setup: Setup) -> None:
    media = await setup.library.upload_image(
        setup.owner_id,
        jpeg_with_gps(1600, 1000),
        alt_text="  The new tram stop  ",
        focal_point=(0.25, -0.5),
    )
    assert media.kind == queries.MediaKind.IMAGE
    assert (media.width, media.height) == (640, 400)  # the largest rendition
    assert media.alt_text == "The new tram stop"
    assert (media.focal_x, media.focal_y) == (0.25, -0.5)
    assert media.media_type == "image/jpeg" and len(media.blurhash or "") == 36
    async with setup.library.db.session() as session:
        files = await queries.media_files(session, media.id)
    assert {(f.variant, f.media_type) for f in files} == {
        (size, media_type)
        for size in ("large", "medium", "small")
        for media_type in ("image/webp", "image/jpeg")
    }
    assert media.size == sum(f.size for f in files)
    assert sorted(f.storage_key for f in files) == await setup.stored()
    for f in files:
        data = await setup.files.get(f.storage_key)
        assert len(data) == f.size and b"SecretCam" not in data


BAD_UPLOADS = [
    ("a fake PNG", fake_png(), InvalidFile, 422),
    ("a decompression bomb", png_bomb(30_000, 30_000), TooLarge, 413),
    ("a 50 MB file", b"\xff\xd8\xff\xe0" + bytes(50 * 1024 * 1024), TooLarge, 413),
    ("an SVG with a script", SVG_WITH_SCRIPT, UnsupportedType, 415),
]


async def test_a_bad_upload_gets_a_clear_4xx_and_nothing_is_stored(setup: Setup) -> None:
    for what, data, error, status in BAD_UPLOADS:
        with pytest.raises(MediaRejected) as refused:
            await setup.library.upload_image(setup.owner_id, data, alt_text="a picture")
        assert type(refused.value) is error, what
        assert refused.value.status == status and refused.value.reason, what
        assert await count_rows(setup) == (0, 0), what
        assert await setup.stored() == [], what


async def test_alt_text_is_required(setup: Setup) -> None:
    with pytest.raises(InvalidFile, match="alt text"):
        await setup.library.upload_image(
            setup.owner_id, encode(picture(50, 50), "PNG"), alt_text=" "
        )
    assert await count_rows(setup) == (0, 0)


async def test_documents_are_stored_as_they_are(setup: Setup) -> None:
    media = await setup.library.upload_document(
        setup.owner_id, PDF, filename="../Ausschreibung Q3.exe", declared_type="text/html"
    )
    assert (media.kind, media.media_type) == (queries.MediaKind.DOCUMENT, "application/pdf")
    assert media.filename == "Ausschreibung Q3.pdf"
    async with setup.library.db.session() as session:
        (only,) = await queries.media_files(session, media.id)
    assert await setup.files.get(only.storage_key) == PDF
    with pytest.raises(UnsupportedType):
        await setup.library.upload_document(setup.owner_id, b"<html>", filename="a.txt")
    with pytest.raises(TooLarge):
        await setup.library.upload_document(setup.owner_id, PDF * 40_000, filename="big.pdf")
    assert await count_rows(setup) == (1, 1)


async def test_the_quota_is_checked_before_storing(setup: Setup) -> None:
    first = await setup.library.upload_image(
        setup.owner_id, encode(picture(600, 400, seed=1), "PNG"), alt_text="one"
    )
    setup.library.quota_bytes = first.size + 100  # room for the first, not for a second
    before = await setup.stored()
    with pytest.raises(QuotaExceeded) as refused:
        await setup.library.upload_image(
            setup.owner_id, encode(picture(600, 400, seed=2), "PNG"), alt_text="two"
        )
    assert refused.value.status == 413 and "quota" in refused.value.reason
    assert await count_rows(setup) == (1, len(before))
    assert await setup.stored() == before  # the second image's files were put, then removed
    async with setup.library.db.session() as session:
        assert await queries.used_bytes(session, setup.owner_id) == first.size


async def test_concurrent_uploads_cannot_both_take_the_last_space(setup: Setup) -> None:
    images = [encode(picture(500, 500, seed=s), "PNG") for s in (3, 4, 5)]
    sizes = []
    for data in images:  # measure what each costs, then start again
        media = await setup.library.upload_image(setup.owner_id, data, alt_text="m")
        sizes.append(media.size)
        await setup.library.delete([media.id])
    assert await setup.stored() == []
    setup.library.quota_bytes = max(sizes) + min(sizes) // 2  # any one fits, no two do
    results = await asyncio.gather(
        *(setup.library.upload_image(setup.owner_id, d, alt_text="m") for d in images),
        return_exceptions=True,
    )
    stored = [r for r in results if isinstance(r, Media)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert len(stored) == 1 and len(refused) == 2, results
    media_rows, file_rows = await count_rows(setup)
    assert media_rows == 1 and file_rows == len(await setup.stored()) == 6


async def test_deleting_objects_frees_files_only_when_nothing_else_uses_them(setup: Setup) -> None:
    data = encode(picture(700, 500, seed=7), "PNG")
    lib = setup.library
    shown_twice = await lib.upload_image(setup.owner_id, data, alt_text="cover")
    same_bytes = await lib.upload_image(setup.owner_id, data, alt_text="the same picture again")
    project, challenge, comment = [
        await new_object(setup, n) for n in ("project", "challenge", "comment")
    ]
    async with lib.db.transaction() as session:
        await queries.attach(session, shown_twice.id, project, queries.MediaRole.COVER)
        await queries.attach(session, shown_twice.id, challenge, queries.MediaRole.GALLERY, 1)
        await queries.attach(session, same_bytes.id, comment, queries.MediaRole.ATTACHMENT)
    keys = await setup.stored()
    assert len(keys) == 6  # two media rows, one set of files (content-addressed)

    await lib.release_object(project)
    assert await count_rows(setup) == (2, 12) and await setup.stored() == keys
    await lib.release_object(challenge)  # shown_twice is gone; same_bytes still uses the files
    assert await count_rows(setup) == (1, 6) and await setup.stored() == keys
    await lib.release_object(comment)
    assert await count_rows(setup) == (0, 0)
    assert await setup.stored() == []


async def test_object_media_order_and_unattached_uploads(setup: Setup) -> None:
    lib = setup.library
    ids = [
        (
            await lib.upload_image(
                setup.owner_id, encode(picture(80, 60, seed=s), "PNG"), alt_text=str(s)
            )
        ).id
        for s in range(3)
    ]
    project = await new_object(setup, "p")
    async with lib.db.transaction() as session:
        await queries.attach(session, ids[0], project, queries.MediaRole.GALLERY, 0)
        await queries.attach(session, ids[1], project, queries.MediaRole.GALLERY, 1)
        await queries.attach(session, ids[2], project, queries.MediaRole.COVER)
        await queries.reorder(session, project, [ids[1], ids[0]])
    async with lib.db.session() as session:
        shown = [m.id for m, _link in await queries.object_media(session, project)]
        assert shown == [ids[2], ids[1], ids[0]]  # cover first, then the gallery's order
        later = utcnow() + timedelta(hours=1)
        assert await queries.unattached_media(session, created_before=later) == []
    async with lib.db.transaction() as session:
        keys = await queries.detach(session, project, [ids[0]])
    await lib.forget(keys)
    async with lib.db.session() as session:
        assert await queries.get_media(session, ids[0]) is None
        assert [m.id for m, _ in await queries.object_media(session, project)] == [ids[2], ids[1]]


async def test_a_storage_failure_leaves_no_files_and_no_rows(setup: Setup, tmp_path: Path) -> None:
    if not isinstance(setup.files, FileStorage):
        pytest.skip("the failure is made with the file backend's directories")
    data = encode(picture(700, 500, seed=11), "PNG")
    # Encoding is deterministic: the renditions' keys are known, so one of their fan-out
    # directories can be blocked by a file, and that one put fails while the others succeed.
    renditions = process_image(data, setup.library.processor.limits).variants
    keys = [content_key(v.data) for v in renditions]
    blocker = setup.files.root / keys[-1][:2]
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"in the way")
    with pytest.raises(OSError):
        await setup.library.upload_image(setup.owner_id, data, alt_text="x")
    assert await count_rows(setup) == (0, 0)
    assert [p for p in setup.files.root.rglob("*") if p.is_file()] == [blocker]
