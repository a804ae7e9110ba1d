"""Issue 14's findings 1-4, 6, 7, 9-12 replayed for ``bench.soak`` part (d), on loopback.

Each replay returns one line of figures: refused or bounded, and by how much. Findings 1, 2, 4 and
7 call ``tests.figures_hostile`` and 3 and 12 call ``bench.hostile_clients`` (the replays written
with the fixes); 6, 9, 10 and 11 use the suite's rig (``tests.rig``) and its hostile inputs.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from bench import hostile_clients

if TYPE_CHECKING:
    from tests.rig import TestNode


def _tmp() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="cityfed-soak-finding-")


async def finding_1() -> str:
    from tests.figures_hostile import follow_delay

    with _tmp() as tmp:
        took = await follow_delay(Path(tmp), hanging=10)
    return f"unrelated Follow took {took:.1f} s while 10 objects of one sender hung (before: 99 s)"


async def finding_2() -> str:
    from tests.figures_hostile import dripped

    with _tmp() as tmp:
        status = await dripped(Path(tmp))
    return f"POST whose actor arrives in two pieces 0.3 s apart: HTTP {status} (before: 401)"


async def finding_3() -> str:
    async with hostile_clients.served_node("soak-f3") as (setup, server):
        line = await hostile_clients.login_flood(setup.base, server)
    return f"{line} (before: 59x401 + 1 sign-in, no 429, 34 s CPU, RSS 105 -> 464 MiB)"


async def finding_4() -> str:
    from tests.figures_hostile import after_503

    with _tmp() as tmp:
        state = await after_503(Path(tmp))
    return f"Create-by-reference after one 503: {state} (before: done, ignored)"


async def finding_6() -> str:
    from tests.integration.test_links import HOSTILE, count, project
    from tests.rig import running_node, settle, signed_post

    from cityfed.models.tables import InboxItem, Object

    statuses: dict[int, int] = {}
    with _tmp() as tmp:
        async with (
            running_node(Path(tmp), "berlin") as a,
            running_node(Path(tmp), "hamburg") as b,
        ):
            await a.api("POST", "/follows", json={"account": b.account}, status=201)
            await b.api("POST", "/follows", json={"account": a.account}, status=201)
            await settle(a, b)
            before = await count(b, InboxItem)
            documents = []
            for link in HOSTILE:
                documents += [
                    project(a.base, a.actor_id, url=link),
                    project(a.base, a.actor_id, tag=[{"type": "Hashtag", "href": link}]),
                    project(a.base, a.actor_id, attachment=[{"type": "Document", "url": link}]),
                    {
                        "id": f"{a.base}/adoptions/{uuid.uuid4()}",
                        "type": "cf:Adoption",
                        "attributedTo": a.actor_id,
                        "object": f"{b.base}/projects/1",
                        "cf:localProject": link,
                    },
                ]
            creates = [
                {
                    "@context": ["https://www.w3.org/ns/activitystreams", "https://cityfed.org/ns"],
                    "id": f"{a.base}/activities/{uuid.uuid4()}",
                    "type": "Create",
                    "actor": a.actor_id,
                    "object": obj,
                }
                for obj in documents
            ]
            creates.append(
                {
                    "id": "javascript://127.0.0.1/%0aalert(1)",
                    "type": "Follow",
                    "actor": a.actor_id,
                    "object": b.actor_id,
                }
            )
            for create in creates:
                status, _ = await signed_post(a, b, "/inbox", create)
                statuses[status] = statuses.get(status, 0) + 1
            await settle(a, b)
            stored = await count(b, InboxItem) - before, await count(b, Object)
            hrefs = await _page_links(b, HOSTILE[0])
    refused = statuses.get(400, 0)
    scripts = [h for h in hrefs if "script" in h.lower()]
    return (
        f"{refused}/{len(creates)} POSTs with javascript:/data:/vbscript: links refused "
        f"(statuses {statuses}); {stored[0]} inbox items and {stored[1]} objects stored; "
        f"a row stored before the check, on /staff/object: {len(scripts)} of {len(hrefs)} "
        "links are scripts (before: stored, and rendered as href)"
    )


async def _page_links(b: TestNode, link: str) -> list[str]:
    """The links /staff/object renders for a project (and its city) stored with ``link``."""
    from tests.integration.test_links import _HREF, project
    from tests.integration.test_staff_auth import PASSWORD, StaffClient

    from cityfed.actions import users as user_actions
    from cityfed.models.tables import Actor, Object

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
            Object(ap_id=doc["id"], type="Project", actor_id=owner.id, local=False, document=doc)
        )
    email = "admin@hamburg.example"
    await user_actions.create_user(b.node, email, "admin", who="soak", password=PASSWORD)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        client = StaffClient(b, http)
        await client.login(email)
        page = await client.get("/staff/object?id=" + doc["id"])
    return _HREF.findall(page.text) if page.status == 200 else [f"HTTP {page.status}"]


async def finding_7() -> str:
    from tests.figures_hostile import follow_during_flood, requests_per_post

    with _tmp() as tmp:
        one, again = await requests_per_post(Path(tmp) / "k")
        quiet, took = await follow_during_flood(Path(tmp) / "f")
    return (
        f"one POST with a redirecting key: {one} requests (before: 12); 10 POSTs naming a "
        f"missing key: {again}; first follow during 150 POSTs on 30 hanging hosts {took:.1f} s "
        f"({quiet:.1f} s without; before: 7-9 s)"
    )


async def finding_9() -> str:
    from sqlalchemy import func, select
    from tests.rig import running_node, signed_post

    from cityfed.models.tables import InboxItem

    spellings = ["evil.localhost", "Sub.Evil.LOCALHOST", "evil.localhost.", "a.b.evil.localhost."]
    statuses: dict[int, int] = {}
    with _tmp() as tmp:
        async with (
            running_node(Path(tmp), "berlin") as a,
            # No DNS for *.localhost: B refuses private addresses, so nothing is looked up.
            running_node(Path(tmp), "hamburg", allow_private_addresses=False) as b,
        ):
            await b.api(
                "PUT", "/admin/peers/Evil.Localhost.", json={"policy": "blocked"}, status=200
            )
            for host in spellings:
                actor = f"https://{host}/actors/mallory"
                follow = {
                    "id": f"https://{host}/follows/{uuid.uuid4()}",
                    "type": "Follow",
                    "actor": actor,
                    "object": b.actor_id,
                }
                status, _ = await signed_post(a, b, "/inbox", follow, key_id=f"{actor}#main-key")
                statuses[status] = statuses.get(status, 0) + 1
            async with b.node.db.session() as session:
                stored = await session.scalar(select(func.count()).select_from(InboxItem))
    return (
        f"block on 'Evil.Localhost.': {len(spellings) - (stored or 0)}/{len(spellings)} Follows "
        f"from {', '.join(spellings)} dropped unfetched (statuses {statuses}, {stored} stored; "
        "before: subdomains and the trailing dot passed)"
    )


FORMS = [
    "::7f00:1",
    "::ffff:0:7f00:1",
    "::ffff:127.0.0.1",
    "64:ff9b::7f00:1",
    "64:ff9b:1::a00:1",
    "2002:7f00:1::1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (inverted)
]


async def finding_10() -> str:
    from tests.rig import running_node

    from cityfed.federation.fetch import fetch_json
    from cityfed.federation.netguard import is_public_ip

    public = [form for form in FORMS if is_public_ip(form)]
    refused = 0
    with _tmp() as tmp:
        async with running_node(Path(tmp), "hamburg", allow_private_addresses=False) as b:
            for form in FORMS:
                try:
                    await fetch_json(b.node, f"http://[{form}]:{b.settings.listen_port}/")
                except Exception:
                    refused += 1
    return (
        f"{refused}/{len(FORMS)} fetches of IPv6 forms embedding a private IPv4 refused, "
        f"{len(public)} judged public by netguard{f' {public}' if public else ''} "
        "(before: the issue's 5 forms judged public)"
    )


async def finding_11() -> str:
    from tests.integration.test_staff_auth import PASSWORD, StaffClient
    from tests.rig import running_node

    from cityfed.actions import users as user_actions

    with _tmp() as tmp:
        async with running_node(Path(tmp), "berlin") as a:
            email = "editor@berlin.example"
            await user_actions.create_user(a.node, email, "editor", who="soak", password=PASSWORD)
            sessions = []
            for _ in range(3):
                http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
                client = StaffClient(a, http)
                await client.login(email)
                sessions.append((client, http))
            try:
                laptop = sessions[0][0]
                await laptop.get("/staff/account")
                new = "a much longer new passphrase"
                await laptop.post(
                    "/staff/account",
                    {"current_password": PASSWORD, "password": new, "password_confirm": new},
                )
                kept = (await laptop.get("/staff/items")).status == 200
                ended = 0
                for other, _ in sessions[1:]:
                    page = await other.get("/staff/items")
                    ended += page.status == 303 and page.location.startswith("/staff/login")
            finally:
                for _, http in sessions:
                    await http.close()
    return (
        f"password changed: {ended}/2 other sessions ended, the current one "
        f"{'kept' if kept else 'LOST'} (before: 0/2 ended)"
    )


async def finding_12() -> str:
    async with hostile_clients.served_node("soak-f12") as (setup, _server):
        line = await hostile_clients.slow_clients(setup.base, setup.domain, setup.port)
    return f"{line} (before: all 1,000 open past 30 s)"
