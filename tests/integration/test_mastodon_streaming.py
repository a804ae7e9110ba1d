"""The Mastodon streaming API (issue 17.3): a newly published project reaches connected clients.

Mastodon.py's ``stream_public`` and ``stream_hashtag`` (server-sent events) and a WebSocket client
using Mastodon's multiplexed subscribe messages, on one node; and, on PostgreSQL, a project
published through one web process reaching a client connected to another ``cityfed serve``
process (LISTEN/NOTIFY), which process memory could not do.

The waits below are generous deadlines so a loaded machine does not fail the test; how fast an
event arrives is not asserted here (no timing assertions in tests).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from mastodon import Mastodon, StreamListener

from cityfed.config import write_settings
from tests.rig import TestNode, free_port, running_node

pytestmark = pytest.mark.slow

DEADLINE = 20.0


class Collect(StreamListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.updates: list[Any] = []
        self.deletes: list[Any] = []
        self.arrived = threading.Event()

    def on_update(self, status: Any) -> None:
        self.updates.append(status)
        self.arrived.set()

    def on_delete(self, status_id: Any) -> None:
        self.deletes.append(status_id)
        self.arrived.set()


async def publish(node: TestNode, title: str, tags: list[str]) -> dict[str, Any]:
    body = {"title": title, "teaser": "Live", "phase": "idea", "tags": tags}
    return await node.api("POST", "/projects", json=body, status=201)


async def wait_for(flag: threading.Event) -> bool:
    return await asyncio.to_thread(flag.wait, DEADLINE)


async def next_message(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive_json(), DEADLINE)
    assert isinstance(message, dict)
    return message


async def test_mastodon_py_streams_receive_a_new_project(tmp_path: Path) -> None:
    async with running_node(tmp_path, "berlin") as node:
        client = Mastodon(api_base_url=node.base)
        public, climate = Collect(), Collect()
        handles = [
            await asyncio.to_thread(lambda: client.stream_public(public, run_async=True)),
            await asyncio.to_thread(
                lambda: client.stream_hashtag("climate", climate, run_async=True)
            ),
        ]
        try:
            # An SSE handler only gets its subscription once connected: wait for both.
            assert node.app is not None
            await until(lambda: len(node.app[_hub_key()].clients) == 2)
            await publish(node, "Bike lanes", ["Mobility"])
            made = await publish(node, "Tree register", ["Climate"])
            assert await wait_for(climate.arrived)
            assert [status.uri for status in climate.updates] == [made["id"]]
            assert "Tree register" in climate.updates[0].content
            await until(lambda: len(public.updates) == 2)
            assert [status.uri for status in public.updates][-1] == made["id"]

            climate.arrived.clear()
            await node.api("DELETE", f"/projects/{made['id'].rsplit('/', 1)[1]}", status=204)
            assert await wait_for(climate.arrived)
            assert [str(i) for i in climate.deletes] == [str(climate.updates[0].id)]
        finally:
            # close() waits for the reading thread, which waits for the next bytes: end the
            # streams from the server side first, then close off the loop serving the node.
            if node.app is not None:
                await node.app[_hub_key()].close()
            for handle in handles:
                await asyncio.to_thread(handle.close)


async def until(condition: Callable[[], bool]) -> None:
    """Wait until the node has taken in what the client sent (a subscription is set by the
    handler reading the socket; a publish before that would rightly not reach it)."""
    for _ in range(int(DEADLINE / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the node did not take in the subscription")


def subscriptions(node: TestNode) -> set[Any]:
    assert node.app is not None
    [client] = node.app[_hub_key()].clients
    return set(client.subscriptions)


def _hub_key() -> Any:
    from cityfed.mastodon.streaming import HUB

    return HUB


async def test_websocket_multiplexes_streams(tmp_path: Path) -> None:
    async with running_node(tmp_path, "berlin") as node:
        url = node.base.replace("http://", "ws://") + "/api/v1/streaming"
        async with node.http.ws_connect(url) as ws:
            await ws.send_json({"type": "subscribe", "stream": "hashtag", "tag": "Climate"})
            await ws.send_json({"type": "subscribe", "stream": "public:local"})
            await ws.send_json({"type": "subscribe", "stream": "user"})
            assert (await next_message(ws))["status"] == 401  # signed-in streams need OAuth
            await ws.send_json({"type": "subscribe", "stream": "hashtag"})
            assert (await next_message(ws))["error"] == "No tag for hashtag stream"
            await until(lambda: len(subscriptions(node)) == 2)

            made = await publish(node, "Tree register", ["climate"])
            received = [await next_message(ws), await next_message(ws)]
            assert sorted(tuple(m["stream"]) for m in received) == [
                ("hashtag", "climate"),
                ("public:local",),
            ]
            for message in received:
                assert message["event"] == "update"
                assert orjson.loads(message["payload"])["uri"] == made["id"]

            await ws.send_json({"type": "unsubscribe", "stream": "public:local"})
            await ws.send_json({"type": "unsubscribe", "stream": "hashtag", "tag": "climate"})
            await until(lambda: not subscriptions(node))
            await ws.send_json({"type": "subscribe", "stream": "hashtag", "tag": "mobility"})
            await until(lambda: bool(subscriptions(node)))
            await publish(node, "Canopy survey", ["Climate"])
            bikes = await publish(node, "Bike lanes", ["Mobility"])
            message = await next_message(ws)  # the climate project was not sent
            assert message["stream"] == ["hashtag", "mobility"]
            assert orjson.loads(message["payload"])["uri"] == bikes["id"]

        # A browser app sends its token as the subprotocol and needs it echoed.
        async with node.http.ws_connect(url + "?stream=public", protocols=("a-token",)) as ws:
            assert ws.protocol == "a-token"

        async with node.get("/api/v1/streaming/health") as resp:
            assert resp.status == 200 and await resp.text() == "OK"
        async with node.get("/api/v1/streaming/hashtag") as resp:
            assert resp.status == 400
        async with node.get("/api/v1/streaming/user") as resp:
            assert resp.status == 401
        async with node.get("/api/v1/streaming") as resp:
            assert resp.status == 400  # not a WebSocket upgrade


# --- several web processes on PostgreSQL --------------------------------------------------------


@contextmanager
def serve_process(config: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "cityfed.cli", "serve", "--config", str(config)),
                *("--port", str(port), "--no-worker"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def second_process(tmp_path: Path, node: TestNode) -> AsyncIterator[str]:
    """Another web process of the same node (same database), serving on a port of its own."""
    config = tmp_path / "second.toml"
    write_settings(node.settings, config)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serve_process(config, port, tmp_path / "second.log") as process:
        for _ in range(400):
            assert process.poll() is None, (tmp_path / "second.log").read_text()
            try:
                async with node.http.get(base + "/api/v1/streaming/health") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
        yield base


@pytest.mark.skipif(
    not os.environ.get("CITYFED_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="several web processes need PostgreSQL: set CITYFED_TEST_DATABASE_URL",
)
async def test_a_project_published_on_one_process_streams_from_another(tmp_path: Path) -> None:
    async with running_node(tmp_path, "berlin") as node, second_process(tmp_path, node) as other:
        url = other.replace("http://", "ws://") + "/api/v1/streaming?stream=public:local"
        async with node.http.ws_connect(url) as ws:
            # The other process's listener is up once it answers health; give its LISTEN a
            # moment by round-tripping a first project, which must arrive too.
            first = await publish(node, "Heat map", ["Climate"])
            message = await next_message(ws)
            assert orjson.loads(message["payload"])["uri"] == first["id"]
            made = await publish(node, "Tree register", ["Climate"])
            message = await next_message(ws)
            assert message["event"] == "update" and message["stream"] == ["public:local"]
            status = orjson.loads(message["payload"])
            assert status["uri"] == made["id"] and "Tree register" in status["content"]

            uid = made["id"].rsplit("/", 1)[1]
            await node.api("PATCH", f"/projects/{uid}", json={"phase": "pilot"}, status=200)
            message = await next_message(ws)
            assert message["event"] == "status.update"
            assert "Phase: pilot" in orjson.loads(message["payload"])["content"]
            await node.api("DELETE", f"/projects/{uid}", status=204)
            message = await next_message(ws)
            assert message == {
                "stream": ["public:local"],
                "event": "delete",
                "payload": status["id"],
            }
