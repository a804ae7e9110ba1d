"""The real peers as processes on loopback ports, and a small driver per peer with the same verbs
(new actor, look up, send, what arrived) so the story of story.py runs unchanged against each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from tests.peers.tools import (
    BOVINE_PYTHON,
    HERE,
    NODE,
    free_port,
    node_script,
    require,
    server_process,
)

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"


class PeerDriver:
    """One running peer, driven through its /_test/ control routes."""

    name = ""

    def __init__(self, base: str, log: Path) -> None:
        self.base = base
        self.log = log

    async def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with aiohttp.ClientSession() as http:
            method = "POST" if body is not None else "GET"
            async with http.request(method, self.base + path, json=body) as resp:
                answer = await resp.json(content_type=None)
                assert resp.status == 200, (path, resp.status, answer, self.log_tail())
                return answer

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    async def new_actor(self, prefix: str = "alice") -> str:
        """A fresh actor of the peer (one per test); its id."""
        raise NotImplementedError

    def identifier(self, actor_id: str) -> str:
        raise NotImplementedError

    def new_id(self, actor_id: str, kind: str = "activities") -> str:
        return f"{actor_id}/{kind}/{uuid.uuid4().hex}"

    async def lookup(self, actor_id: str, account: str, url: str) -> dict[str, Any]:
        """The peer's own discovery of ``account`` (``url``): WebFinger, then the actor,
        fetched as ``actor_id``."""
        raise NotImplementedError

    async def send(self, actor_id: str, activity: dict[str, Any], recipient: str) -> dict[str, Any]:
        """``actor_id`` sends ``activity`` to ``recipient`` the peer's way (signing it itself);
        returns, once delivered, the activity as the peer sent it (bovine gives new ids)."""
        raise NotImplementedError

    async def received(self) -> list[dict[str, Any]]:
        """What arrived in the peer's inboxes, with what its verifiers made of each."""
        raise NotImplementedError


class FedifyDriver(PeerDriver):
    name = "fedify"

    async def new_actor(self, prefix: str = "alice") -> str:
        answer = await self.call("/_test/actors", {"identifier": f"{prefix}{uuid.uuid4().hex[:8]}"})
        return answer["id"]

    def identifier(self, actor_id: str) -> str:
        return actor_id.rsplit("/", 1)[1]

    async def lookup(self, actor_id: str, account: str, url: str) -> dict[str, Any]:
        # Fedify's WebFinger client asks https:// for acct: resources; on http loopback it is
        # asked for the actor URL instead (fedify_peer.mjs).
        return await self.call(
            "/_test/lookup", {"identifier": self.identifier(actor_id), "query": url}
        )

    async def fetch(self, actor_id: str, url: str) -> dict[str, Any]:
        return await self.call(
            "/_test/fetch", {"identifier": self.identifier(actor_id), "url": url}
        )

    async def send(self, actor_id: str, activity: dict[str, Any], recipient: str) -> dict[str, Any]:
        body = {
            "identifier": self.identifier(actor_id),
            "activity": activity,
            "recipient": recipient,
        }
        await self.call("/_test/send", body)
        return activity

    async def received(self) -> list[dict[str, Any]]:
        answer = await self.call("/_test/received")
        assert answer["contextMisses"] == [], "Fedify needed a context nobody bundles"
        return answer["received"]


class BovineDriver(PeerDriver):
    name = "bovine"

    async def new_actor(self, prefix: str = "alice") -> str:
        answer = await self.call("/_test/actors", {"name": f"{prefix}{uuid.uuid4().hex[:8]}"})
        return answer["id"]

    def new_id(self, actor_id: str, kind: str = "activities") -> str:
        # bovine gives everything sent through an outbox an id of its own (update_id.py).
        return f"{self.base}/placeholder/{uuid.uuid4().hex}"

    async def lookup(self, actor_id: str, account: str, url: str) -> dict[str, Any]:
        return await self.call("/_test/lookup", {"actor": actor_id, "query": account})

    async def send(self, actor_id: str, activity: dict[str, Any], recipient: str) -> dict[str, Any]:
        body = {"actor": actor_id, "activity": activity, "recipient": recipient}
        return (await self.call("/_test/send", body))["sent"]

    async def proxy(self, actor_id: str, url: str) -> dict[str, Any]:
        return await self.call("/_test/proxy", {"actor": actor_id, "url": url})

    async def following(self, actor_id: str) -> Any:
        return (await self.call(f"/_test/following?actor={actor_id}"))["following"]

    async def received(self) -> list[dict[str, Any]]:
        answer = await self.call("/_test/received")
        assert answer["contextMisses"] == [], "bovine needed a context nobody bundles"
        return answer["received"]


@contextmanager
def fedify_server(workdir: Path) -> Iterator[FedifyDriver]:
    """A Fedify server (tests/peers/fedify_peer.mjs on Node 22)."""
    script = node_script("fedify_peer.mjs")
    port = free_port()
    log = workdir / "fedify.log"
    with server_process([str(NODE), str(script), str(port)], port, cwd=script.parent, log=log):
        yield FedifyDriver(f"http://127.0.0.1:{port}", log)


@contextmanager
def bovine_server(workdir: Path) -> Iterator[BovineDriver]:
    """A bovine-herd server (tests/peers/bovine_peer.py in its own venv; cwd ``workdir``)."""
    require("bovine")
    contexts = node_script("contexts.mjs")  # the official contexts, to seed bovine's cache
    port = free_port()
    log = workdir / "bovine.log"
    argv = [str(BOVINE_PYTHON), str(HERE / "bovine_peer.py"), str(port), str(NODE), str(contexts)]
    with server_process(argv, port, cwd=workdir, log=log):
        yield BovineDriver(f"http://127.0.0.1:{port}", log)
