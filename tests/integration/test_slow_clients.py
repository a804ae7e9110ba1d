"""Slow clients on real loopback sockets: a client dripping its headers or its body is cut off
after the configured deadline (``[limits] header_timeout``, ``body_timeout``), while a normal
client is served meanwhile.

The assertions compare with the drip, not with a clock: a dripper that would go on for 30 s is
cut off long before its last byte (the deadlines here are 1 s).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.rig import TestNode

DRIP_SECONDS = 30.0
STEP = 0.25


async def drip(node: TestNode, head: bytes, then: bytes) -> tuple[bool, bytes]:
    """Send ``head`` at once, then ``then`` a byte every STEP s; (cut off before the end?, what
    the server answered)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    answer = b""
    try:
        writer.write(head)
        await writer.drain()
        for byte in then[: int(DRIP_SECONDS / STEP)]:
            await asyncio.sleep(STEP)
            if reader.at_eof():
                return True, answer
            with contextlib.suppress(TimeoutError):
                answer += await asyncio.wait_for(reader.read(65536), 0.001)
            if reader.at_eof():
                return True, answer
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except ConnectionError:
                return True, answer
        return False, answer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def served(node: TestNode) -> int:
    async with node.get("/.well-known/nodeinfo") as resp:
        await resp.read()
        return resp.status


@pytest.fixture
async def node(nodes) -> TestNode:
    return await nodes("berlin", header_timeout=1.0, body_timeout=1.0)


async def test_a_client_dripping_its_headers_is_cut_off(node: TestNode) -> None:
    head = f"POST /inbox HTTP/1.1\r\nHost: {node.domain}\r\n".encode()
    headers = b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
    dripping = asyncio.create_task(drip(node, head, headers))
    await asyncio.sleep(0.5)
    assert await served(node) == 200  # the others are served meanwhile
    cut, _ = await dripping
    assert cut


async def test_a_client_dripping_its_body_is_cut_off(node: TestNode, caplog) -> None:
    body = b'{"type": "Create", "id": "' + b"x" * 300 + b'"}'
    head = (
        f"POST /inbox HTTP/1.1\r\nHost: {node.domain}\r\n"
        "Content-Type: application/activity+json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body[:10]
    caplog.set_level("INFO", logger="cityfed")
    dripping = asyncio.create_task(drip(node, head, body[10:]))
    await asyncio.sleep(0.5)
    assert await served(node) == 200
    cut, _ = await dripping
    assert cut
    assert "body not received within 1 s" in caplog.text


async def test_a_staff_form_dripping_its_body_is_cut_off_too(node: TestNode) -> None:
    body = b"email=a%40b.example&password=" + b"p" * 200
    head = (
        f"POST /staff/login HTTP/1.1\r\nHost: {node.domain}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    cut, _ = await drip(node, head, body)
    assert cut


async def test_a_slow_but_steady_normal_request_is_served(node: TestNode) -> None:
    """Headers and body in a few pieces, well within the deadlines: answered as usual."""
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    try:
        for piece in (b"GET /.well-known/nodeinfo HTTP/1.1\r\n", f"Host: {node.domain}\r\n"):
            writer.write(piece if isinstance(piece, bytes) else piece.encode())
            await writer.drain()
            await asyncio.sleep(0.2)
        writer.write(b"Connection: close\r\n\r\n")
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 200")
