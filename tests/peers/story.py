"""The story every real peer plays against a real node (test_real_peers.py checks it): a user of
the peer discovers a city, follows it and gets the city's Accept; the city publishes a project
(Create), the user replies, likes and boosts it; the city updates and deletes it; the user
unfollows; the peer reads a project with a picture. Each step's outcome is recorded as JSON; a
step that raised is recorded as ``{"failed": why}`` and fails the tests that read it, not the
others."""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from tests.integration.test_projects import HEAT_MAP
from tests.peers.drivers import AS, PUBLIC, PeerDriver
from tests.rig import TestNode, settle


def object_id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


async def arrivals(peer: PeerDriver, kind: str, about: str | None = None) -> list[dict[str, Any]]:
    """What reached the peer's inboxes of type ``kind`` (whose object is ``about``)."""
    found = []
    for record in await peer.received():
        activity = record.get("activity") or {}
        if activity.get("type") != kind:
            continue
        if about is None or object_id(activity.get("object")) == about:
            found.append(record)
    return found


def activity(peer: PeerDriver, me: str, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": peer.new_id(me),
        "type": kind,
        "actor": me,
        "object": obj,
        **extra,
    }


async def tell(peer: PeerDriver, city: TestNode) -> dict[str, Any]:
    """Run the story; step name → what it produced (JSON), or {"failed": why} if it raised."""
    facts: dict[str, Any] = {}

    async def step(name: str, run: Callable[[], Awaitable[Any]]) -> None:
        try:
            facts[name] = await run()
        except Exception as exc:
            text = "".join(traceback.format_exception(exc))
            facts[name] = {"failed": f"step {name!r} failed:\n{text}\npeer log:\n{peer.log_tail()}"}

    me = await peer.new_actor()
    facts["me"] = me
    project_path = ""

    async def discovery() -> Any:
        return await peer.lookup(me, city.account, city.actor_id)

    async def follow() -> Any:
        sent = await peer.send(me, activity(peer, me, "Follow", city.actor_id), city.actor_id)
        await settle(city)
        facts["follow sent"] = sent
        return {
            "accepts": await arrivals(peer, "Accept", sent["id"]),
            "followers": (await city.api("GET", "/followers", status=200))["items"],
        }

    async def following() -> Any:
        return await peer.following(me) if hasattr(peer, "following") else None

    async def create() -> Any:
        nonlocal project_path
        project = await city.api("POST", "/projects", json=HEAT_MAP, status=201)
        project_path = "/projects/" + project["id"].rsplit("/", 1)[1]
        facts["project"] = project
        await settle(city)
        return await arrivals(peer, "Create", project["id"])

    async def reply() -> Any:
        project = facts["project"]["id"]
        note = {
            "id": peer.new_id(me, "notes"),
            "type": "Note",
            "attributedTo": me,
            "inReplyTo": project,
            "to": [city.actor_id, PUBLIC],
            "content": "<p>We would like to try this in our city.</p>",
            "published": "2026-01-01T12:00:00Z",
        }
        create = activity(peer, me, "Create", note, to=[city.actor_id, PUBLIC])
        sent = await peer.send(me, create, city.actor_id)
        await settle(city)
        thread = (await city.api("GET", f"/comments?object={project}", status=200))["items"]
        return {"note": sent["object"]["id"], "thread": thread}

    async def like_and_announce() -> Any:
        project = facts["project"]["id"]
        for kind in ("Like", "Announce"):
            to = [city.actor_id, PUBLIC]
            await peer.send(me, activity(peer, me, kind, project, to=to), city.actor_id)
        await settle(city)
        doc = await city.get_json(project)
        counts = {}
        for name in ("likes", "shares"):
            collection = doc.get(name)
            if isinstance(collection, str):
                collection = await city.get_json(collection)
            counts[name] = collection.get("totalItems") if isinstance(collection, dict) else None
        return counts

    async def fetched() -> Any:
        # The project as the peer's vocabulary reads it (Fedify), or as the peer serves it
        # again to its clients (bovine's proxyUrl).
        if hasattr(peer, "fetch"):
            return await peer.fetch(me, facts["project"]["id"])
        return await peer.proxy(me, facts["project"]["id"])

    async def update() -> Any:
        await city.api("PATCH", project_path, json={"phase": "operational"}, status=200)
        await settle(city)
        return await arrivals(peer, "Update", facts["project"]["id"])

    async def delete() -> Any:
        await city.api("DELETE", project_path, status=204)
        await settle(city)
        return await arrivals(peer, "Delete", facts["project"]["id"])

    async def profile() -> Any:
        # The city sets its profile (issue 16): the follower gets Update{Organization}, and the
        # peer's own vocabulary reads our actor with its icon, image and PropertyValues.
        import aiohttp

        from tests.media_support import encode, picture

        changed = await city.api(
            "PATCH",
            "/profile",
            json={
                "bio": "Open *projects* of the city.",
                "fields": [
                    {"name": "Website", "value": "https://city.example/"},
                    {"name": "Contact", "value": "digital@city.example"},
                ],
            },
            status=200,
        )
        for role, size in (("avatar", (400, 400)), ("header", (1500, 500))):
            form = aiohttp.FormData()
            form.add_field("file", encode(picture(*size), "PNG"), filename=f"{role}.png")
            form.add_field("alt_text", f"The city's {role}")
            changed = await city.api("PUT", f"/profile/{role}", data=form, status=200)
        await settle(city)
        return {
            "profile": changed,
            "updates": await arrivals(peer, "Update", city.actor_id),
            "read": await peer.fetch(me, city.actor_id) if hasattr(peer, "fetch") else None,
        }

    async def unfollow() -> Any:
        undo = activity(peer, me, "Undo", facts["follow sent"])
        await peer.send(me, undo, city.actor_id)
        await settle(city)
        return {
            "followers": (await city.api("GET", "/followers", status=200))["items"],
            "collection": await city.get_json(f"/actors/{city.handle}/followers"),
        }

    async def pictured() -> Any:
        # A project with a cover picture (issue 16), as the peer reads it: Fedify through its
        # vocabulary, bovine as it serves it to its clients.
        import aiohttp

        from tests.media_support import jpeg_with_gps

        project = await city.api("POST", "/projects", json=HEAT_MAP, status=201)
        body = aiohttp.FormData(quote_fields=False)
        body.add_field("alt_text", "A street map coloured by heat risk")
        body.add_field("focal_point", "0,0.5")
        body.add_field(
            "file", jpeg_with_gps(800, 600), filename="map.jpg", content_type="image/jpeg"
        )
        async with city.post("/api/cityfed/v1/media", token=city.editor_token, data=body) as resp:
            media = await resp.json()
        uid = project["id"].rsplit("/", 1)[1]
        await city.api(
            "POST",
            f"/projects/{uid}/media",
            json={"media": media["id"], "role": "cover"},
            status=200,
        )
        if hasattr(peer, "fetch"):
            return await peer.fetch(me, project["id"])
        return await peer.proxy(me, project["id"])

    for name, run in (
        ("discovery", discovery),
        ("follow", follow),
        ("following", following),
        ("create", create),
        ("reply", reply),
        ("like and announce", like_and_announce),
        ("fetched", fetched),
        ("update", update),
        ("delete", delete),
        ("profile", profile),
        ("unfollow", unfollow),
        ("pictured", pictured),
    ):
        await step(name, run)
    facts["city"] = {"actor": city.actor_id, "account": city.account, "handle": city.handle}
    return facts
