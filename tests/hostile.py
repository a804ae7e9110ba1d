"""A remote origin on loopback that misbehaves the ways hostile, broken and unlucky servers do.

One small aiohttp server (on one or more ports, each a separate "host" to an HTTP client) that
serves an actor with a real RSA key, signs POSTs as that actor, and can, per path: hang until
released, drip its body in two pieces 0.3 s apart, answer a status (or be slow) once, redirect, or
answer 404. It counts every request and the ones still open, so a test can tell how many requests
we made and whether it is still waiting for one. Nothing of cityfed's is used to serve documents.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization

from cityfed.activitypub import cavage
from tests.rig import TestNode, test_keys

AS = "https://www.w3.org/ns/activitystreams"
SECURITY = "https://w3id.org/security/v1"
AP_JSON = "application/activity+json"


def _bound_socket(port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class Origin:
    """A remote server at ``base``; ``ports`` more sites serve the same app as other hosts."""

    def __init__(self, extra_ports: int = 0) -> None:
        # Bound now and held until ``start`` serves on them: a port merely found free could be
        # taken by a parallel test process in between ("address already in use").
        self._sockets = [_bound_socket() for _ in range(1 + extra_ports)]
        self.ports = [sock.getsockname()[1] for sock in self._sockets]
        self.port = self.ports[0]
        self.base = f"http://127.0.0.1:{self.port}"
        self.domain = f"127.0.0.1:{self.port}"
        self.actor_id = f"{self.base}/actors/evil"
        self.key_id = f"{self.actor_id}#main-key"
        pair = test_keys()[0]
        self.public_pem = pair.public_pem
        self.private_key = serialization.load_pem_private_key(
            pair.private_pem.encode(), password=None
        )
        self.hits: list[str] = []
        self.open = 0  # requests being answered right now
        self.release = asyncio.Event()  # /hang/... requests wait for it
        self.drip = False  # serve every document in two pieces, 0.3 s apart
        self.docs: dict[str, dict[str, Any]] = {}
        self.once: dict[str, Callable[[], Any]] = {}  # path -> what to do the first time
        self.runner: web.AppRunner | None = None

    # -- documents -------------------------------------------------------------------------

    def actor_document(self) -> dict[str, Any]:
        return {
            "@context": [AS, SECURITY],
            "id": self.actor_id,
            "type": "Organization",
            "preferredUsername": "evil",
            "name": "City of Evil",
            "inbox": f"{self.actor_id}/inbox",
            "outbox": f"{self.actor_id}/outbox",
            "publicKey": {
                "id": self.key_id,
                "owner": self.actor_id,
                "publicKeyPem": self.public_pem,
            },
        }

    def project(self, name: str) -> str:
        """Serve a project of ours at /projects/<name>; returns its id."""
        from cityfed.activitypub.vocab import Project

        object_id = f"{self.base}/projects/{name}"
        self.docs[f"/projects/{name}"] = Project(
            id=object_id, attributed_to=self.actor_id, name=f"Project {name}", phase="idea"
        ).to_ap()
        return object_id

    def create(self, object_id: str) -> dict[str, Any]:
        """A Create naming its object by reference only."""
        return {
            "@context": AS,
            "id": f"{self.base}/activities/{uuid.uuid4()}",
            "type": "Create",
            "actor": self.actor_id,
            "object": object_id,
        }

    def follow(self, target: TestNode) -> dict[str, Any]:
        return {
            "@context": AS,
            "id": f"{self.base}/activities/{uuid.uuid4()}",
            "type": "Follow",
            "actor": self.actor_id,
            "object": target.actor_id,
        }

    # -- serving ---------------------------------------------------------------------------

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits.append(path)
        self.open += 1
        try:
            if path in self.once:
                outcome = await self.once.pop(path)()
                if outcome is not None:
                    return outcome
            if path.startswith("/hang/"):
                await self.release.wait()
                raise web.HTTPServiceUnavailable()
            if path.startswith("/missing/"):
                raise web.HTTPNotFound()
            if path.startswith("/redirect/"):
                # /redirect/<n>/<rest>: n more redirects, then /<rest>.
                _, _, n, rest = path.split("/", 3)
                left = int(n)
                raise web.HTTPFound(f"/redirect/{left - 1}/{rest}" if left else f"/{rest}")
            if path == "/actors/evil":
                doc = self.actor_document()
            elif path in self.docs:
                doc = self.docs[path]
            else:
                raise web.HTTPNotFound()
            return await self._send(request, orjson.dumps(doc))
        finally:
            self.open -= 1

    async def _send(self, request: web.Request, body: bytes) -> web.StreamResponse:
        if not self.drip:
            return web.Response(body=body, content_type=AP_JSON)
        # Two pieces with a pause between, as a document does that crosses a slow link.
        response = web.StreamResponse(headers={"Content-Type": AP_JSON})
        response.content_length = len(body)
        await response.prepare(request)
        half = len(body) // 2
        await response.write(body[:half])
        await asyncio.sleep(0.3)
        await response.write(body[half:])
        await response.write_eof()
        return response

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._answer)
        self.runner = web.AppRunner(app, handler_cancellation=True)
        await self.runner.setup()
        for index, sock in enumerate(self._sockets):
            if sock.fileno() == -1:  # started again after a stop: the same port once more
                sock = self._sockets[index] = _bound_socket(self.ports[index])
            await web.SockSite(self.runner, sock).start()

    async def stop(self) -> None:
        self.release.set()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        for sock in self._sockets:
            sock.close()

    # -- sending ---------------------------------------------------------------------------

    async def post(
        self,
        target: TestNode,
        activity: dict[str, Any],
        *,
        key_id: str | None = None,
        now: Any = None,
        path: str = "/inbox",
        http: aiohttp.ClientSession | None = None,
    ) -> int:
        """POST ``activity`` to ``target``'s inbox, signed as this origin's actor."""
        raw = orjson.dumps(activity)
        url = target.url(path)
        headers = {"Content-Type": AP_JSON}
        headers.update(
            cavage.sign_request(
                "POST",
                url,
                self.private_key,
                key_id or self.key_id,
                body=raw,
                headers=headers,
                now=now,
            )
        )
        async with (http or target.http).post(url, data=raw, headers=headers) as resp:
            await resp.read()
            return resp.status


async def wait_for(predicate: Callable[[], Any], within: float = 20.0) -> bool:
    """Poll ``predicate`` (sync or async) until true or ``within`` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return True
        await asyncio.sleep(0.02)
    return False
