"""Every kind of document a cityfed node serves or sends, from real nodes: two cities follow each
other, publish, update, comment, adopt, offer, report and delete; collected are the documents
they serve at each id and every activity they sent (test_jsonld_js.py expands them)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from cityfed.models.tables import Activity
from tests.integration.test_projects import CHALLENGE, HEAT_MAP
from tests.rig import AP_ACCEPT, TestNode, running_node, settle

PAGE = "?page=1"


async def _served(node: TestNode, url: str, status: int = 200) -> dict[str, Any]:
    async with node.get(url, headers={"Accept": AP_ACCEPT}) as resp:
        assert resp.status == status, (url, resp.status)
        return orjson.loads(await resp.read())


async def collect(
    tmp_path: Path, starting: asyncio.Lock | None = None
) -> dict[str, list[dict[str, Any]]]:
    """kind → the documents of that kind; ``starting`` is held while nodes start."""
    docs: dict[str, list[dict[str, Any]]] = {}

    def add(kind: str, doc: dict[str, Any]) -> None:
        docs.setdefault(kind, []).append(doc)

    async with AsyncExitStack() as stack:
        async with starting or asyncio.Lock():
            a = await stack.enter_async_context(running_node(tmp_path, "berlin"))
            b = await stack.enter_async_context(running_node(tmp_path, "hamburg"))
        for follower, followed in ((a, b), (b, a)):
            await follower.api("POST", "/follows", json={"account": followed.account}, status=201)
        await settle(a, b)
        project = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
        challenge = await b.api("POST", "/challenges", json=CHALLENGE, status=201)
        doomed = await b.api("POST", "/projects", json={"title": "Short-lived"}, status=201)
        await settle(a, b)
        await b.api(
            "PATCH",
            f"/projects/{project['id'].rsplit('/', 1)[1]}",
            json={"phase": "operational"},
            status=200,
        )
        comment = await a.api(
            "POST",
            "/comments",
            token=a.editor_token,
            status=201,
            json={"in_reply_to": project["id"], "content": "We want #this"},
        )
        adoption = await a.api(
            "POST", "/adoptions", token=a.editor_token, status=201, json={"project": project["id"]}
        )
        mine = await a.api("POST", "/projects", json={"title": "Sensors"}, status=201)
        offer = await a.api(
            "POST",
            "/offers",
            token=a.editor_token,
            status=201,
            json={"challenge": challenge["id"], "project": mine["id"], "content": "Ours works."},
        )
        await a.api(
            "POST",
            "/reports",
            token=a.editor_token,
            status=201,
            json={"actor": b.account, "objects": [doomed["id"]], "content": "Spam"},
        )
        await settle(a, b)
        await b.api("POST", "/offers/accept", json={"offer": offer["id"]}, status=200)
        await b.api("DELETE", f"/projects/{doomed['id'].rsplit('/', 1)[1]}", status=204)
        await a.api("DELETE", f"/follows?account={b.account}")
        await settle(a, b)

        actor = await _served(b, b.actor_id)
        add("actor", actor)
        add("instance actor", await _served(b, "/actor"))
        project_doc = await _served(b, project["id"])
        add("project", project_doc)
        challenge_doc = await _served(b, challenge["id"])
        add("challenge", challenge_doc)
        add("comment", await _served(a, comment["id"]))
        add("adoption", await _served(a, adoption["id"]))
        add("offer", await _served(a, offer["id"]))
        add("tombstone", await _served(b, doomed["id"], status=410))
        for kind, url in (
            ("followers", actor["followers"]),
            ("following", actor["following"]),
            ("outbox", actor["outbox"]),
        ):
            add(f"{kind} collection", await _served(b, url))
            if kind != "following":
                add(f"{kind} page", await _served(b, url + PAGE))
        replies = project_doc["replies"]
        add(
            "replies collection",
            await _served(b, replies if isinstance(replies, str) else replies["id"]),
        )
        add("adoptions collection", await _served(b, project_doc["cf:adoptions"]))
        add("solutions collection", await _served(b, challenge_doc["cf:solutions"]))
        for node in (a, b):
            async with node.node.db.session() as session:
                bodies = (await session.scalars(select(Activity.body))).all()
            for body in bodies:
                doc = orjson.loads(body)
                add(f"activity {doc['type']}", doc)
    return docs
