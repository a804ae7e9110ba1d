"""A local cache of partner cities' images, so that our pages never hotlink them.

A page that showed a partner's image from the partner's server would tell that server the address
of every visitor. So an image of a remote project is fetched once, by the node, through the
SSRF-safe fetcher, checked and re-encoded like an upload (a remote file is no more trusted than an
uploaded one: same decoder, same bomb and size limits, no metadata kept), stored under its
content address, and served from our own domain.

The cache is bounded by total bytes, shared by every process through the database, and evicts the
least recently used images first. A domain's images are never fetched while it is blocked, nor
served from the cache: peer policy is asked on every use. Failures are remembered for a while
(a negative cache), so a broken link costs one fetch, not one per page view.

The fetching itself is not done here: ``BinaryFetcher`` says what it needs (the SSRF guard, the
per-hop policy check, the redirect and size limits of ``federation/fetch.py``, for a binary body).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from cityfed.activitypub.actor import authority
from cityfed.media.errors import MediaRejected
from cityfed.media.processing import ImageLimits, ImageProcessor, OutputFormat
from cityfed.media.storage import Storage, forget
from cityfed.models import media as queries
from cityfed.models.db import Database
from cityfed.models.types import utcnow

log = logging.getLogger("cityfed.media.remote")

# LRU needs only a coarse "last used": a write per page view would cost more than it tells.
TOUCH_EVERY = timedelta(minutes=10)
IMAGE_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.1"


@dataclass(frozen=True, slots=True)
class FetchedBody:
    """What a binary fetch returns: the final URL (after redirects), its type header, the bytes."""

    url: str
    content_type: str | None
    body: bytes


class RemoteFetchError(Exception):
    """A remote file could not be had (refused address, blocked domain, HTTP error, too large)."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"fetching {url}: {reason}")
        self.url, self.reason, self.status = url, reason, status


class BinaryFetcher(Protocol):
    """A GET of a binary body with the guarantees of ``federation/fetch.py``: no private or
    loopback address unless allowed, http(s) only, the blocked-domain check on every redirect hop,
    at most a few redirects, and never more than ``max_bytes`` read (longer bodies raise).
    Raises ``RemoteFetchError``."""

    async def __call__(self, url: str, *, max_bytes: int, accept: str) -> FetchedBody: ...


@dataclass(frozen=True, slots=True)
class CachedImage:
    """A cached remote image, as a page needs it."""

    url: str  # the remote URL it stands for
    storage_key: str
    media_type: str
    size: int
    width: int | None
    height: int | None
    blurhash: str | None


class RemoteMediaCache:
    """Fetch-once, serve-locally cache of remote images, bounded by ``cache_bytes`` (LRU)."""

    def __init__(
        self,
        *,
        db: Database,
        storage: Storage,
        processor: ImageProcessor,
        fetcher: BinaryFetcher,
        is_blocked: Callable[[str], bool],
        refresh_policy: Callable[[], Awaitable[object]] | None = None,
        max_bytes: int = 8 * 1024 * 1024,
        cache_bytes: int = 512 * 1024 * 1024,
        side: int = 1280,
        max_pixels: int = 7680 * 4320,
        retry_after: timedelta = timedelta(hours=1),
        touch_every: timedelta = TOUCH_EVERY,
    ) -> None:
        self.db = db
        self.storage = storage
        self.processor = processor
        self.fetcher = fetcher
        self.is_blocked = is_blocked
        self.refresh_policy = refresh_policy
        self.max_bytes = max_bytes
        self.cache_bytes = cache_bytes
        self.retry_after = retry_after
        self.touch_every = touch_every
        # One rendition, WebP: the cache only serves our own pages, and every browser we
        # support shows WebP.
        self.limits = ImageLimits(
            max_bytes=max_bytes, max_pixels=max_pixels, sizes=(side,), formats=(OutputFormat.WEBP,)
        )
        # One fetch per URL at a time in this process: a page with the same image twice, or a
        # burst of visitors, waits for the first fetch instead of starting its own.
        self._inflight: dict[str, asyncio.Future[CachedImage | None]] = {}

    async def _blocked(self, url: str) -> bool:
        if self.refresh_policy is not None:
            await self.refresh_policy()
        return self.is_blocked(authority(url))

    async def get(self, url: str) -> CachedImage | None:
        """The cached copy of ``url``, fetching it if needed; None if it cannot be had (blocked
        domain, failed recently, not an acceptable image). Never raises for remote trouble."""
        if await self._blocked(url):
            log.info("remote media %s not fetched: %s is blocked", url, authority(url))
            return None
        async with self.db.session() as session:
            entry = await queries.remote_by_url(session, url)
        if entry is not None and entry.state == queries.RemoteState.CACHED.value:
            assert entry.storage_key is not None and entry.media_type is not None
            if utcnow() - entry.last_used_at >= self.touch_every:
                async with self.db.transaction() as session:
                    await queries.touch_remote(session, entry.id)
            return CachedImage(
                url,
                entry.storage_key,
                entry.media_type,
                entry.size,
                entry.width,
                entry.height,
                entry.blurhash,
            )
        if entry is not None and utcnow() - entry.fetched_at < self.retry_after:
            return None  # failed recently: don't ask the remote again yet
        pending = self._inflight.get(url)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[CachedImage | None] = asyncio.get_running_loop().create_future()
        self._inflight[url] = future
        try:
            result = await self._fetch(url)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else has to
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[url]

    async def _fail(self, url: str, reason: str) -> None:
        log.info("remote media %s not cached: %s", url, reason)
        async with self.db.transaction() as session:
            _entry, old_key = await queries.record_remote(
                session,
                url=url,
                domain=authority(url),
                state=queries.RemoteState.FAILED,
                error=reason[:500],
            )
        if old_key:
            await self._forget([old_key])

    async def _fetch(self, url: str) -> CachedImage | None:
        try:
            fetched = await self.fetcher(url, max_bytes=self.max_bytes, accept=IMAGE_ACCEPT)
        except RemoteFetchError as exc:
            await self._fail(url, exc.reason)
            return None
        if fetched.url != url and await self._blocked(fetched.url):
            await self._fail(url, f"redirected to blocked {authority(fetched.url)}")
            return None
        try:
            processed = await self.processor.process(fetched.body, limits=self.limits)
        except MediaRejected as exc:
            await self._fail(url, exc.reason)
            return None
        variant = processed.variants[0]
        if len(variant.data) > self.cache_bytes:
            await self._fail(url, "larger than the whole cache")
            return None
        key = await self.storage.put(variant.data, variant.media_type)
        try:
            async with self.db.transaction() as session:
                _entry, old_key = await queries.record_remote(
                    session,
                    url=url,
                    domain=authority(url),
                    state=queries.RemoteState.CACHED,
                    storage_key=key,
                    media_type=variant.media_type,
                    size=len(variant.data),
                    width=variant.width,
                    height=variant.height,
                    blurhash=processed.blurhash,
                )
        except BaseException:
            async with self.db.session() as session:
                await self._forget(await queries.unreferenced_keys(session, [key]))
            raise
        if old_key:
            await self._forget([old_key])
        log.info(
            "remote media %s cached: %s %dx%d, %d bytes (from %d)",
            url,
            variant.media_type,
            variant.width,
            variant.height,
            len(variant.data),
            len(fetched.body),
        )
        await self.evict()
        return CachedImage(
            url,
            key,
            variant.media_type,
            len(variant.data),
            variant.width,
            variant.height,
            processed.blurhash,
        )

    async def evict(self) -> int:
        """Drop least recently used images until the cache fits ``cache_bytes``, and failure
        records older than ``retry_after``. Returns how many images were dropped."""
        dropped = 0
        while True:
            async with self.db.transaction() as session:
                total = await queries.remote_total_bytes(session)
                if total <= self.cache_bytes:
                    break
                victims: list[int] = []
                for entry in await queries.least_recently_used(session, limit=100):
                    victims.append(entry.id)
                    total -= entry.size
                    if total <= self.cache_bytes:
                        break
                if not victims:
                    break
                keys = await queries.remove_remote(session, victims)
            await self._forget(keys)
            dropped += len(victims)
        async with self.db.transaction() as session:
            await queries.remove_failed_remote(session, before=utcnow() - self.retry_after)
        if dropped:
            log.info(
                "remote media cache: evicted %d images (limit %d bytes)", dropped, self.cache_bytes
            )
        return dropped

    async def purge_domain(self, domain: str) -> int:
        """Forget every cached image of a domain and its subdomains (called when it is blocked)."""
        async with self.db.transaction() as session:
            ids = await queries.remote_of_domain(session, domain)
            keys = await queries.remove_remote(session, ids)
        await self._forget(keys)
        if ids:
            log.info("remote media cache: purged %d images of %s", len(ids), domain)
        return len(ids)

    async def _forget(self, keys: list[str]) -> None:
        await forget(self.storage, keys)
