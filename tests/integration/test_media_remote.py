"""The remote image cache against real HTTP servers on loopback: fetched once, re-encoded clean,
served from our storage; never for blocked domains; bad files and failures remembered; LRU
eviction within the size limit; both storage backends.

The cache fetches through the node's real binary fetch (``federation.fetch.fetch_bytes``, bound as
``NodeBinaryFetcher``): the SSRF guard and the blocked-domain check on every redirect hop, the
redirect limit, and the size limit on a body read to its end, whatever pieces it comes in.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image
from sqlalchemy import func, select

from cityfed.actions.peers import set_policy
from cityfed.federation.fetch import NodeBinaryFetcher, fetch_bytes
from cityfed.media.processing import ImageLimits, ImageProcessor
from cityfed.media.remote import RemoteFetchError, RemoteMediaCache
from cityfed.media.storage import FileStorage, Storage
from cityfed.models import media as queries
from cityfed.models.tables import RemoteMedia
from tests.media_support import (
    SVG_WITH_SCRIPT,
    bucket_keys,
    fake_png,
    jpeg_with_gps,
    make_bucket,
    s3_endpoint,
    s3_storage,
)
from tests.rig import TestNode, free_port

__all__ = ["s3_endpoint"]  # a fixture, used by name


class Partner:
    """A partner city's web server: photos (with GPS in their EXIF), bad files, a redirect."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.domain = f"127.0.0.1:{self.port}"
        self.hits: Counter[str] = Counter()
        self.redirect_to = ""

    def app(self) -> web.Application:
        async def serve(request: web.Request) -> web.StreamResponse:
            name = request.match_info["name"]
            self.hits[name] += 1
            if name.startswith("photo"):
                seed = int(name.removeprefix("photo").removesuffix(".jpg"))
                return web.Response(
                    body=jpeg_with_gps(900, 600, seed=seed), content_type="image/jpeg"
                )
            if name == "fake.png":
                return web.Response(body=fake_png(), content_type="image/png")
            if name == "logo.svg":
                return web.Response(body=SVG_WITH_SCRIPT, content_type="image/svg+xml")
            if name == "huge.jpg":
                return web.Response(body=b"\xff\xd8\xff" + bytes(3 * 1024 * 1024))
            if name == "chunked.jpg":  # no Content-Length: the body arrives in small pieces
                body = jpeg_with_gps(900, 600, seed=7)
                response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
                response.enable_chunked_encoding()
                await response.prepare(request)
                for start in range(0, len(body), 1000):
                    await response.write(body[start : start + 1000])
                await response.write_eof()
                return response
            if name == "endless.jpg":  # chunked, and far longer than any limit
                response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
                response.enable_chunked_encoding()
                await response.prepare(request)
                for _ in range(400):
                    await response.write(bytes(16 * 1024))
                await response.write_eof()
                return response
            if name == "moved.jpg":
                raise web.HTTPFound(self.redirect_to)
            raise web.HTTPNotFound()

        app = web.Application()
        app.router.add_get("/media/{name}", serve)
        return app

    def url(self, name: str) -> str:
        return f"{self.base}/media/{name}"


@dataclass
class Rig:
    cache: RemoteMediaCache
    partner: Partner
    other: Partner
    node: TestNode
    listing: object

    async def stored(self) -> list[str]:
        return await self.listing()  # type: ignore[operator]

    async def rows(self) -> int:
        async with self.cache.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(RemoteMedia)) or 0)


async def start(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@pytest.fixture(params=["files", "s3"])
async def rig(request: pytest.FixtureRequest, node: TestNode, tmp_path: Path) -> AsyncIterator[Rig]:
    if request.param == "files":
        root = tmp_path / "cache"
        storage: Storage = FileStorage(root)

        async def listing() -> list[str]:
            return sorted(p.name for p in root.rglob("*") if p.is_file())

    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = await make_bucket(endpoint)
        storage = s3_storage(endpoint, bucket)

        async def listing() -> list[str]:
            return sorted(k.rsplit("/", 1)[-1] for k in await bucket_keys(endpoint, bucket))

    partner, other = Partner(), Partner()
    runners = [await start(partner.app(), partner.port), await start(other.app(), other.port)]
    the_node = node.node
    cache = RemoteMediaCache(
        db=the_node.db,
        storage=storage,
        processor=ImageProcessor(ImageLimits(), concurrency=2),
        fetcher=NodeBinaryFetcher(the_node),
        # The node's own peer policy, asked the way fetch.py asks it.
        is_blocked=the_node.policy.is_blocked,
        refresh_policy=lambda: the_node.policy.refresh(the_node.db),
        max_bytes=2 * 1024 * 1024,
        side=400,
    )
    try:
        yield Rig(cache, partner, other, node, listing)
    finally:
        await storage.close()
        for runner in runners:
            await runner.cleanup()


async def test_a_remote_image_is_fetched_once_and_served_clean_from_our_storage(rig: Rig) -> None:
    url = rig.partner.url("photo1.jpg")
    cached = await rig.cache.get(url)
    assert cached is not None
    assert (cached.media_type, cached.width, cached.height) == ("image/webp", 400, 267)
    assert cached.blurhash and len(cached.blurhash) == 36
    data = await rig.cache.storage.get(cached.storage_key)
    assert len(data) == cached.size and b"SecretCam" not in data
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP" and not image.getexif()
    again = await rig.cache.get(url)
    assert again == cached
    assert rig.partner.hits["photo1.jpg"] == 1  # served from the cache the second time
    assert await rig.stored() == [cached.storage_key]


async def test_concurrent_requests_share_one_fetch(rig: Rig) -> None:
    url = rig.partner.url("photo2.jpg")
    results = await asyncio.gather(*(rig.cache.get(url) for _ in range(5)))
    assert len({r.storage_key for r in results if r is not None}) == 1
    assert rig.partner.hits["photo2.jpg"] == 1
    assert await rig.rows() == 1


async def test_a_blocked_domain_is_never_fetched_and_its_images_go(rig: Rig) -> None:
    kept = await rig.cache.get(rig.partner.url("photo3.jpg"))
    assert kept is not None
    await set_policy(rig.node.node, rig.partner.domain, "blocked", "spam", "test")
    assert await rig.cache.get(rig.partner.url("photo4.jpg")) is None
    assert await rig.cache.get(rig.partner.url("photo3.jpg")) is None  # not served either
    assert rig.partner.hits["photo4.jpg"] == 0 and rig.partner.hits["photo3.jpg"] == 1
    # The block itself forgot the domain's entries (the files of the node's own storage go
    # with them: test_media_api checks that; this rig's storage is not the node's).
    assert await rig.rows() == 0
    assert await rig.cache.purge_domain(rig.partner.domain) == 0


async def test_a_redirect_to_a_blocked_domain_is_not_cached(rig: Rig) -> None:
    await set_policy(rig.node.node, rig.other.domain, "blocked", None, "test")
    rig.partner.redirect_to = rig.other.url("photo5.jpg")
    assert await rig.cache.get(rig.partner.url("moved.jpg")) is None
    assert await rig.stored() == []
    async with rig.cache.db.session() as session:
        entry = await queries.remote_by_url(session, rig.partner.url("moved.jpg"))
    assert entry is not None and entry.state == queries.RemoteState.FAILED
    assert "blocked" in (entry.error or "")


@pytest.mark.parametrize("name", ["fake.png", "logo.svg", "huge.jpg", "missing.jpg"])
async def test_bad_remote_files_are_refused_and_remembered(rig: Rig, name: str) -> None:
    url = rig.partner.url(name)
    assert await rig.cache.get(url) is None
    assert await rig.cache.get(url) is None
    assert rig.partner.hits[name] == 1  # the failure is remembered: not fetched again at once
    async with rig.cache.db.session() as session:
        entry = await queries.remote_by_url(session, url)
    assert entry is not None and entry.state == queries.RemoteState.FAILED and entry.error
    assert await rig.stored() == []
    rig.cache.retry_after = timedelta(0)  # once the failure has expired, it is tried again
    assert await rig.cache.get(url) is None
    assert rig.partner.hits[name] == 2


async def test_the_least_recently_used_images_are_evicted_beyond_the_limit(rig: Rig) -> None:
    rig.cache.touch_every = timedelta(0)
    first = await rig.cache.get(rig.partner.url("photo6.jpg"))
    second = await rig.cache.get(rig.partner.url("photo7.jpg"))
    assert first is not None and second is not None
    assert await rig.cache.get(rig.partner.url("photo6.jpg")) == first  # used again: now newer
    third = await rig.cache.get(rig.partner.url("photo8.jpg"))
    assert third is not None and len(await rig.stored()) == 3
    rig.cache.cache_bytes = first.size + third.size  # room for two: the second is the oldest
    assert await rig.cache.evict() == 1
    assert sorted(await rig.stored()) == sorted([first.storage_key, third.storage_key])
    async with rig.cache.db.session() as session:
        assert await queries.remote_by_url(session, rig.partner.url("photo7.jpg")) is None
    assert await rig.cache.get(rig.partner.url("photo6.jpg")) == first
    assert rig.partner.hits["photo6.jpg"] == 1
    # Each new image makes room for itself: the cache never stays over its limit.
    rig.cache.cache_bytes = third.size + 100
    fourth = await rig.cache.get(rig.partner.url("photo9.jpg"))
    assert fourth is not None
    async with rig.cache.db.session() as session:
        assert await queries.remote_total_bytes(session) <= rig.cache.cache_bytes
    assert fourth.storage_key in await rig.stored()


async def test_fetch_bytes_reads_a_body_in_pieces_to_its_end_and_stops_past_the_limit(
    rig: Rig,
) -> None:
    node = rig.node.node
    whole = jpeg_with_gps(900, 600, seed=7)
    fetched = await fetch_bytes(node, rig.partner.url("chunked.jpg"), max_bytes=len(whole))
    assert fetched.body == whole and fetched.content_type == "image/jpeg"
    with pytest.raises(RemoteFetchError, match="larger than"):
        await fetch_bytes(node, rig.partner.url("endless.jpg"), max_bytes=1024 * 1024)
    with pytest.raises(RemoteFetchError, match="HTTP 404"):
        await fetch_bytes(node, rig.partner.url("nothing.jpg"), max_bytes=1024)


async def test_fetch_bytes_refuses_private_addresses_unless_allowed(nodes, rig: Rig) -> None:
    closed = await nodes("closed", allow_private_addresses=False)
    with pytest.raises(RemoteFetchError) as refused:
        await fetch_bytes(closed.node, rig.partner.url("photo1.jpg"), max_bytes=1024 * 1024)
    assert rig.partner.hits["photo1.jpg"] == 0, refused.value.reason
