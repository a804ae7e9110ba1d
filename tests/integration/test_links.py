"""``javascript:`` and friends from peers (§6), through real nodes: refused when a document
arrives (inbox or fetch), nothing stored, the reason logged; and never an ``href`` on a page,
even for a row stored before the check existed."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select

from cityfed.models.tables import Actor, InboxItem, Object
from tests.integration import test_staff_auth as shared
from tests.rig import TestNode, free_port, settle, signed_post

fast_hashing, staff = shared.fast_hashing, shared.staff

HOSTILE = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\x0ejavascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
]
_HREF = re.compile(r'(?:href|src)="([^"]*)"')


async def count(n: TestNode, table: Any) -> int:
    async with n.node.db.session() as session:
        return await session.scalar(select(func.count()).select_from(table)) or 0


def project(base: str, actor: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"{base}/projects/{uuid.uuid4()}",
        "type": "cf:Project",
        "attributedTo": actor,
        "name": "Heat map",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        **changes,
    }


@pytest.mark.parametrize("link", HOSTILE, ids=range(len(HOSTILE)))
async def test_the_inbox_refuses_a_document_with_an_unsafe_link(nodes, caplog, link) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await b.api("POST", "/follows", json={"account": a.account}, status=201)
    await settle(a, b)
    before = await count(b, InboxItem)
    caplog.set_level("INFO", logger="cityfed")
    for obj in (
        project(a.base, a.actor_id, url=link),
        project(a.base, a.actor_id, tag=[{"type": "Hashtag", "name": "#x", "href": link}]),
        project(a.base, a.actor_id, attachment=[{"type": "Document", "url": link}]),
        {  # an adoption whose "our project" link is the script
            "id": f"{a.base}/adoptions/{uuid.uuid4()}",
            "type": "cf:Adoption",
            "attributedTo": a.actor_id,
            "object": f"{b.base}/projects/1",
            "cf:localProject": link,
        },
    ):
        create = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://cityfed.org/ns"],
            "id": f"{a.base}/activities/{uuid.uuid4()}",
            "type": "Create",
            "actor": a.actor_id,
            "object": obj,
        }
        status, answer = await signed_post(a, b, "/inbox", create)
        assert status == 400, answer
        assert "is not an http(s) URL" in answer["error"]
    await settle(a, b)
    assert await count(b, InboxItem) == before
    assert await count(b, Object) == 0
    assert caplog.text.count("is not an http(s) URL") >= 4


async def test_an_activity_id_that_is_a_script_is_refused(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    follow = {
        "id": "javascript://127.0.0.1/%0aalert(1)",
        "type": "Follow",
        "actor": a.actor_id,
        "object": b.actor_id,
    }
    status, _ = await signed_post(a, b, "/inbox", follow)
    assert status == 400
    assert await count(b, InboxItem) == 0


@asynccontextmanager
async def hostile_peer(link: str) -> AsyncIterator[str]:
    """A server on loopback whose project (and its city) carry ``link``; yields the project id."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    actor = f"{base}/actors/evil"
    docs = {
        "/actors/evil": {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": actor,
            "type": "Organization",
            "preferredUsername": "evil",
            "inbox": f"{actor}/inbox",
        },
        "/projects/1": {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://cityfed.org/ns"],
            **project(base, actor, id=f"{base}/projects/1", url=link),
        },
    }

    async def serve(request: web.Request) -> web.Response:
        if request.method == "POST":
            return web.Response(status=202)
        if request.path not in docs:
            return web.Response(status=404)
        return web.json_response(docs[request.path], content_type="application/activity+json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"{base}/projects/1"
    finally:
        await runner.cleanup()


async def test_a_fetched_project_with_an_unsafe_link_is_refused(nodes, caplog) -> None:
    """The issue's case: adopting a partner's project whose ``url`` is a script."""
    b = await nodes("hamburg")
    caplog.set_level("INFO", logger="cityfed")
    async with hostile_peer("javascript:alert(document.cookie)") as ap_id:
        answer = await b.api("POST", "/adoptions", json={"project": ap_id}, status=422)
    assert "is not an http(s) URL" in str(answer)
    async with b.node.db.session() as session:
        stored = list(await session.scalars(select(Object.ap_id)))
        remote = await session.scalar(
            select(func.count()).select_from(Actor).where(Actor.local.is_(False))
        )
    assert ap_id not in stored and remote == 0


async def test_pages_never_link_to_a_script_stored_before(nodes, staff, tmp_path: Path) -> None:
    """Rows stored before links were checked at parse time are still rendered safely."""
    b = await nodes("hamburg")
    client = await staff(b, "admin")
    link = "javascript:alert(document.cookie)"
    actor_id = "https://evil.example/actors/evil"
    async with b.node.db.transaction() as session:
        owner = Actor(
            ap_id=actor_id,
            type="Organization",
            handle="evil",
            domain="evil.example",
            url=link,
            inbox=f"{actor_id}/inbox",
        )
        session.add(owner)
        await session.flush()
        doc = project("https://evil.example", actor_id, url=link, **{"cf:repository": link})
        doc["id"] = "https://evil.example/projects/1"
        session.add(
            Object(
                ap_id=doc["id"],
                type="Project",
                actor_id=owner.id,
                local=False,
                document=doc,
            )
        )
    page = await client.get("/staff/object?id=" + doc["id"])
    assert page.status == 200, page.text[:300]
    hrefs = _HREF.findall(page.text)
    assert hrefs and not [h for h in hrefs if "script" in h.lower()], hrefs
