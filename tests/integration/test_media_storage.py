"""Both storage backends keep the same contract: files under the data dir, and an S3-compatible
object store (moto's server mode on a loopback port: a real S3 protocol server, not a stand-in)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cityfed.config import Settings
from cityfed.media.storage import (
    IMMUTABLE,
    FileStorage,
    MissingMedia,
    S3Storage,
    Storage,
    cache_headers,
    check_key,
    content_key,
    open_storage,
)
from tests.media_support import make_bucket, s3_endpoint, s3_storage

__all__ = ["s3_endpoint"]  # a fixture, used by name


@pytest.fixture(params=["files", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "files":
        backend: Storage = FileStorage(tmp_path / "media")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        backend = s3_storage(endpoint, await make_bucket(endpoint))
    try:
        yield backend
    finally:
        await backend.close()


async def test_put_get_stream_delete(storage: Storage) -> None:
    data = b"a picture of the town hall" * 5000
    key = await storage.put(data, "image/webp")
    assert key == hashlib.sha256(data).hexdigest() == content_key(data)
    assert await storage.exists(key)
    assert await storage.get(key) == data
    chunks = [chunk async for chunk in storage.stream(key, chunk_size=8192)]
    assert b"".join(chunks) == data and len(chunks) > 1
    # Content-addressed: the same bytes again are the same key, stored once.
    assert await storage.put(data, "image/webp") == key
    await storage.delete(key)
    assert not await storage.exists(key)
    with pytest.raises(MissingMedia):
        await storage.get(key)
    with pytest.raises(MissingMedia):
        _ = [chunk async for chunk in storage.stream(key)]
    await storage.delete(key)  # deleting what is gone is no error


async def test_keys_can_never_name_a_path(storage: Storage) -> None:
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63, "0" * 64 + "/x", ""):
        with pytest.raises(ValueError):
            await storage.get(bad)
        with pytest.raises(ValueError):
            await storage.delete(bad)
    assert check_key("0" * 64) == "0" * 64


def test_cache_headers_are_long_lived_and_immutable() -> None:
    key = content_key(b"x")
    headers = cache_headers(key)
    assert headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert headers["ETag"] == f'"{key}"'


async def test_files_are_written_atomically_and_fan_out(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "media")
    data = b"%PDF-1.7 tender"
    key = await storage.put(data, "application/pdf")
    path = storage.path(key)
    assert path == tmp_path / "media" / key[:2] / key[2:4] / key
    assert path.read_bytes() == data
    # No temporary file is left next to it, and it is readable by the web server's user.
    assert sorted(p.name for p in path.parent.iterdir()) == [key]
    assert path.stat().st_mode & 0o777 == 0o644
    await storage.delete(key)
    assert not (tmp_path / "media" / key[:2]).exists()  # empty fan-out directories go too
    assert (tmp_path / "media").exists()


async def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "media")
    data = b"half a file"
    key = content_key(data)
    storage.path(key).parent.mkdir(parents=True)
    storage.path(key).mkdir()  # the rename into place must fail: a directory is in the way
    with pytest.raises(OSError):
        await storage.put(data, "text/plain")
    assert [p.name for p in storage.path(key).parent.iterdir()] == [key]


async def test_s3_objects_carry_type_and_cache_headers(s3_endpoint: str) -> None:
    from aiobotocore.session import get_session

    bucket = await make_bucket(s3_endpoint)
    storage = s3_storage(s3_endpoint, bucket, prefix="city/", public_base_url="https://cdn.x/")
    try:
        key = await storage.put(b"RIFF....WEBP", "image/webp")
        assert storage.object_key(key) == f"city/{key[:2]}/{key}"
        assert storage.public_url(key) == f"https://cdn.x/city/{key[:2]}/{key}"
        async with get_session().create_client(
            "s3",
            endpoint_url=s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        ) as client:
            head = await client.head_object(Bucket=bucket, Key=storage.object_key(key))
        assert head["ContentType"] == "image/webp"
        assert head["CacheControl"] == IMMUTABLE
    finally:
        await storage.close()
    assert FileStorage(Path("/x")).public_url(key) is None


def test_the_backend_follows_the_settings(tmp_path: Path) -> None:
    files = open_storage(Settings(domain="x.example", data_dir=tmp_path, database_url="sqlite://"))
    assert isinstance(files, FileStorage) and files.root == tmp_path / "media"
    s3 = open_storage(
        Settings(
            domain="x.example",
            data_dir=tmp_path,
            database_url="sqlite://",
            media_storage="s3",
            media_s3_bucket="city-media",
            media_s3_endpoint="http://127.0.0.1:9000",
        )
    )
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.endpoint_url, s3.prefix) == (
        "city-media",
        "http://127.0.0.1:9000",
        "media/",
    )
