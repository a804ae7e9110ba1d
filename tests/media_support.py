"""Helpers for the media tests: pictures drawn by code, hostile files, a loopback S3 server."""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from PIL import Image, ImageDraw

from cityfed.media.storage import S3Storage
from tests.rig import free_port

# A GPS position that must never leave the node (an EXIF GPSInfo IFD, tags 1-4).
GPS = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}


def picture(
    width: int = 1200,
    height: int = 800,
    *,
    mode: str = "RGB",
    seed: int = 1,
) -> Image.Image:
    """A picture with some structure (so encoders have work to do): a gradient and shapes."""
    import random

    rnd = random.Random(seed)
    image = Image.linear_gradient("L").resize((width, height)).convert(mode)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rnd.randrange(width), rnd.randrange(height)
        size = rnd.randrange(max(2, min(width, height) // 4))
        fill = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256), 255)
        draw.ellipse((x, y, x + size, y + size), fill=fill[: len(mode)] if mode != "L" else 128)
    return image


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def jpeg_with_gps(
    width: int = 1200, height: int = 800, orientation: int = 1, seed: int = 1
) -> bytes:
    """A JPEG whose EXIF carries a GPS position, a camera name and an orientation."""
    image = picture(width, height, seed=seed)
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0112] = orientation
    exif[0x8825] = GPS  # GPSInfo
    return encode(image, "JPEG", exif=exif.tobytes(), quality=90, comment=b"secret comment")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb: the
    pixel data, a few bytes of deflate, would decode to gigabytes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * 3 * min(width, 4096)
    data = zlib.compress(row * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def fake_png() -> bytes:
    """PNG magic and a valid header, then garbage instead of pixel data."""
    header = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"this is not deflate data at all")
        + _chunk(b"IEND", b"")
    )


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>fetch('/api/cityfed/v1/admin/keys')</script><rect width='10' height='10'/></svg>"
)


S3_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A loopback S3 server for the tests of one module; skipped (saying why) without moto."""
    try:
        import aiobotocore  # noqa: F401
        import moto.server  # noqa: F401
    except ImportError as exc:
        print(f"S3 backend tests skipped: {exc} (pip install -e '.[test]')")
        pytest.skip(f"moto or aiobotocore cannot be imported: {exc}")
    with moto_s3() as endpoint:
        yield endpoint


async def make_bucket(endpoint: str) -> str:
    from aiobotocore.session import get_session

    bucket = f"cityfed-{uuid.uuid4().hex[:12]}"
    async with get_session().create_client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", **S3_CREDENTIALS
    ) as client:
        await client.create_bucket(Bucket=bucket)
    return bucket


async def bucket_keys(endpoint: str, bucket: str) -> list[str]:
    """Every object key in ``bucket``, asked of the server directly."""
    from aiobotocore.session import get_session

    async with get_session().create_client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", **S3_CREDENTIALS
    ) as client:
        listing = await client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def s3_storage(endpoint: str, bucket: str, **kwargs: Any) -> S3Storage:
    return S3Storage(
        bucket=bucket,
        endpoint_url=endpoint,
        access_key=S3_CREDENTIALS["aws_access_key_id"],
        secret_key=S3_CREDENTIALS["aws_secret_access_key"],
        **kwargs,
    )


@contextmanager
def moto_s3() -> Iterator[str]:
    """A real S3-compatible server (moto's server mode) on a loopback port; yields its URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
