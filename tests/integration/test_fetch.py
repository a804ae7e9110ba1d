"""Signed fetching: authorized-fetch peers, and the limits a hostile server runs into."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from cityfed.federation.fetch import FetchError, fetch_json, fetch_object
from cityfed.federation.remote import ResolveError, get_actor
from tests.rig import TestNode, free_port, settle


async def test_signed_gets_work_against_a_node_that_requires_them(nodes) -> None:
    a = await nodes("berlin")
    b = await nodes("hamburg", authorized_fetch=True)
    for path in (
        f"/actors/{b.handle}",
        f"/actors/{b.handle}/outbox",
        f"/actors/{b.handle}/followers",
    ):
        async with a.http.get(b.url(path), headers={"Accept": "application/activity+json"}) as resp:
            assert resp.status == 401, path
    # What must stay open: discovery, the instance actor (it signs fetches), HTML pages.
    await b.get_json("/actor")
    await b.get_json(
        f"/.well-known/webfinger?resource=acct:{b.account}", accept="application/jrd+json"
    )
    async with a.http.get(b.url(f"/actors/{b.handle}"), headers={"Accept": "text/html"}) as resp:
        assert resp.status == 200
    actor = await get_actor(a.node, b.actor_id)
    assert actor.inbox == f"{b.actor_id}/inbox"
    # And federation works end to end with a secure-mode peer, both ways.
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await b.api("POST", "/follows", json={"account": a.account}, status=201)
    await settle(a, b)
    assert ((await a.api("GET", "/follows"))["items"])[0]["state"] == "accepted"
    assert ((await b.api("GET", "/follows"))["items"])[0]["state"] == "accepted"


class Hostile:
    """A loopback server that misbehaves in the ways real ones do."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.hits: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        base = self.base

        async def record(request: web.Request) -> web.StreamResponse:
            self.hits.append(request.path)
            name = request.match_info["name"]
            if name.startswith("redirect"):
                left = int(name.removeprefix("redirect"))
                target = f"/doc{left}" if left == 0 else f"/redirect{left - 1}"
                raise web.HTTPFound(target)
            if name == "big":
                body = b'{"id": "' + base.encode() + b'/big", "pad": "' + b"x" * 2_000_000 + b'"}'
                return web.Response(body=body, content_type="application/activity+json")
            if name == "html":
                return web.Response(text="<html></html>", content_type="text/html")
            if name == "liar":
                return web.json_response(
                    {"id": "http://elsewhere.example/liar", "type": "Note"},
                    content_type="application/activity+json",
                )
            if name == "slow":
                await asyncio.sleep(3)
            if name == "gone":
                return web.json_response({"error": "gone"}, status=410)
            return web.json_response(
                {"id": f"{base}/{name}", "type": "Note"}, content_type="application/activity+json"
            )

        app.router.add_get("/{name}", record)
        return app


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    server = Hostile()
    runner = web.AppRunner(server.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", server.port).start()
    yield server
    await runner.cleanup()


async def test_fetch_limits(nodes, hostile: Hostile) -> None:
    a: TestNode = await nodes("berlin", fetch_timeout=1.0)
    assert (await fetch_object(a.node, f"{hostile.base}/doc"))["type"] == "Note"
    # redirectN answers N+1 redirects; three are allowed, the fourth is refused.
    assert (await fetch_json(a.node, f"{hostile.base}/redirect2")).url == f"{hostile.base}/doc0"
    with pytest.raises(FetchError, match="redirects"):
        await fetch_json(a.node, f"{hostile.base}/redirect3")
    with pytest.raises(FetchError, match="too large"):
        await fetch_json(a.node, f"{hostile.base}/big")
    with pytest.raises(FetchError, match="not JSON"):
        await fetch_json(a.node, f"{hostile.base}/html")
    with pytest.raises(FetchError, match=r"origin|host"):
        await fetch_object(a.node, f"{hostile.base}/liar")
    with pytest.raises(FetchError, match="Timeout"):
        await fetch_json(a.node, f"{hostile.base}/slow")
    with pytest.raises(FetchError) as info:
        await fetch_json(a.node, f"{hostile.base}/gone")
    assert info.value.gone
    with pytest.raises(ResolveError):
        await get_actor(a.node, f"{hostile.base}/doc")  # a Note is no actor


async def test_private_addresses_are_never_fetched_unless_allowed(nodes, hostile: Hostile) -> None:
    a: TestNode = await nodes("berlin", allow_private_addresses=False)
    for url in (
        f"{hostile.base}/doc",
        f"http://localhost:{hostile.port}/doc",
        f"http://[::1]:{hostile.port}/doc",
        "file:///etc/passwd",
    ):
        with pytest.raises(FetchError):
            await fetch_json(a.node, url)
    assert hostile.hits == []
    # Following an account on a private address is refused the same way.
    body = await a.api(
        "POST", "/follows", json={"account": f"x@127.0.0.1:{hostile.port}"}, status=422
    )
    assert "cannot find" in body["error"]
    assert hostile.hits == []
