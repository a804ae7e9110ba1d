"""Where media bytes live: one small async interface, two backends.

Keys are content addresses: the SHA-256 of the bytes, in hex. The same bytes stored twice are one
file; a file never changes under its key, so it is served with a year-long ``immutable`` cache
header; and deleting is only ever "this content is no longer referenced" (``models/media.py``
decides that, the storage just forgets the bytes).

- ``FileStorage``: files under ``<data_dir>/media/ab/cd/<key>``, written to a temporary file in the
  same directory, flushed to disk and renamed into place, so a reader never sees half a file and a
  crash leaves at most a stray temporary file.
- ``S3Storage``: an S3-compatible object store (AWS, MinIO, Garage, Ceph, …) through aiobotocore,
  for a city that runs several web processes on several machines. aiobotocore is an optional
  extra (``pip install cityfed[s3]``) and is imported only when this backend is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from cityfed.config import Settings

log = logging.getLogger("cityfed.media")

_KEY = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 64 * 1024
# A key names its content forever: caches may keep it for a year and never ask again.
IMMUTABLE = "public, max-age=31536000, immutable"


class MissingMedia(KeyError):
    """No bytes are stored under this key."""


def content_key(data: bytes) -> str:
    """The storage key of ``data``: its SHA-256 in hex."""
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    """A key is 64 lower-case hex digits and nothing else: it can never name a path outside the
    store, whatever a URL or a database row says."""
    if not _KEY.match(key):
        raise ValueError(f"not a media key: {key[:80]!r}")
    return key


def cache_headers(key: str) -> dict[str, str]:
    """Headers for serving the content under ``key`` (the face adds Content-Type)."""
    return {"Cache-Control": IMMUTABLE, "ETag": f'"{check_key(key)}"'}


class Storage(ABC):
    """The interface every backend offers. All methods are safe to call concurrently."""

    @abstractmethod
    async def put(self, data: bytes, media_type: str) -> str:
        """Store ``data`` (idempotent) and return its key."""

    @abstractmethod
    async def get(self, key: str) -> bytes:
        """The bytes under ``key``; ``MissingMedia`` if there are none."""

    @abstractmethod
    def stream(self, key: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """The bytes under ``key`` in chunks, for serving large files without holding them."""

    @abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Forget the bytes under ``key``; nothing happens if there are none."""

    def public_url(self, key: str) -> str | None:
        """A URL that serves ``key`` directly, or None when our own route must serve it."""
        return None

    async def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release connections (called from the application's cleanup)."""


class FileStorage(Storage):
    """Content-addressed files under ``root`` (by default ``<data_dir>/media``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        """The file of ``key``, for a face that serves files with sendfile."""
        key = check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def _write(self, key: str, data: bytes) -> None:
        target = self.path(key)
        if target.is_file():
            return  # content-addressed: the same bytes are already there
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(temp, 0o644)
            os.replace(temp, target)  # atomic on POSIX: readers see no file or the whole file
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        # The rename is durable only once the directory entry is on disk too.
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    async def put(self, data: bytes, media_type: str) -> str:
        key = content_key(data)
        await asyncio.to_thread(self._write, key, data)
        return key

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self.path(key).read_bytes)
        except FileNotFoundError:
            raise MissingMedia(key) from None

    async def stream(self, key: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        try:
            fh = await asyncio.to_thread(self.path(key).open, "rb")
        except FileNotFoundError:
            raise MissingMedia(key) from None
        try:
            while chunk := await asyncio.to_thread(fh.read, chunk_size):
                yield chunk
        finally:
            fh.close()

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    def _unlink(self, key: str) -> None:
        path = self.path(key)
        path.unlink(missing_ok=True)
        # Leave no empty fan-out directories behind (a race with a writer is harmless: mkdir
        # with exist_ok recreates it, and rmdir refuses a directory that is not empty).
        for parent in (path.parent, path.parent.parent):
            try:
                parent.rmdir()
            except OSError:
                break

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._unlink, key)


class S3Storage(Storage):
    """Objects in an S3-compatible bucket, under ``prefix``ab/<key>."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "media/",
        public_base_url: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self.access_key = access_key
        self.secret_key = secret_key
        self.prefix = prefix
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    def object_key(self, key: str) -> str:
        key = check_key(key)
        return f"{self.prefix}{key[:2]}/{key}"

    async def client(self) -> Any:
        """One client (and its connection pool) for the life of the storage, made on first use."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    from aiobotocore.config import AioConfig
                    from aiobotocore.session import get_session
                except ImportError:  # pragma: no cover - depends on the installation
                    raise RuntimeError(
                        "[media] storage = \"s3\" needs aiobotocore: pip install 'cityfed[s3]'"
                    ) from None
                stack = AsyncExitStack()
                config = AioConfig(
                    retries={"max_attempts": 3, "mode": "standard"},
                    connect_timeout=10,
                    read_timeout=30,
                    # Path-style addressing works with every S3-compatible server (MinIO,
                    # Garage, moto) and with AWS.
                    s3={"addressing_style": "path"},
                )
                self._client = await stack.enter_async_context(
                    get_session().create_client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        region_name=self.region,
                        aws_access_key_id=self.access_key,
                        aws_secret_access_key=self.secret_key,
                        config=config,
                    )
                )
                self._stack = stack
        return self._client

    @staticmethod
    def _missing(exc: Exception) -> bool:
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        return code in {"NoSuchKey", "404", "NotFound"}

    async def put(self, data: bytes, media_type: str) -> str:
        key = content_key(data)
        if await self.exists(key):
            return key  # the same bytes are already there: skip the upload
        client = await self.client()
        await client.put_object(
            Bucket=self.bucket,
            Key=self.object_key(key),
            Body=data,
            ContentType=media_type,
            CacheControl=IMMUTABLE,
        )
        return key

    async def _get_object(self, key: str) -> Any:
        client = await self.client()
        try:
            return await client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except Exception as exc:
            if self._missing(exc):
                raise MissingMedia(key) from None
            raise

    async def get(self, key: str) -> bytes:
        response = await self._get_object(key)
        async with response["Body"] as body:
            return bytes(await body.read())

    async def stream(self, key: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        response = await self._get_object(key)
        async with response["Body"] as body:
            async for chunk in body.iter_chunks(chunk_size):
                yield chunk

    async def exists(self, key: str) -> bool:
        client = await self.client()
        try:
            await client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except Exception as exc:
            if self._missing(exc):
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        client = await self.client()
        await client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def public_url(self, key: str) -> str | None:
        if self.public_base_url is None:
            return None
        return f"{self.public_base_url}/{self.object_key(key)}"

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = self._client = None


async def forget(storage: Storage, keys: Iterable[str]) -> None:
    """Delete files that no row references any more; call it only after the transaction that
    released them has committed. A failure is logged, not raised: the rows are already gone, and a
    stray file costs space, not correctness."""
    for key in keys:
        try:
            await storage.delete(key)
        except Exception as exc:  # any backend error
            log.warning("could not delete media file %s: %s", key, exc)


async def forget_with_settings(settings: Settings, keys: Iterable[str]) -> None:
    """``forget`` for code that holds no storage of its own (an action run from the CLI, or one
    that the app's media library is not passed to): opens the configured backend for the call."""
    keys = list(keys)
    if not keys:
        return
    storage = open_storage(settings)
    try:
        await forget(storage, keys)
    finally:
        await storage.close()


def open_storage(settings: Settings) -> Storage:
    """The backend ``[media] storage`` names, configured from the settings."""
    if settings.media_storage == "s3":
        return S3Storage(
            bucket=settings.media_s3_bucket or "",
            endpoint_url=settings.media_s3_endpoint,
            region=settings.media_s3_region,
            access_key=settings.media_s3_access_key,
            secret_key=settings.media_s3_secret_key,
            prefix=settings.media_s3_prefix,
            public_base_url=settings.media_s3_public_url,
        )
    return FileStorage(Path(settings.data_dir) / "media")
