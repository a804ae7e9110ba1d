"""Likes and boosts (Announce) of our objects: recorded once, undone, counted everywhere; boosts
by cities we follow bring partners' objects into the timeline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, insert, select

from cityfed.activitypub.jsonld import PUBLIC
from cityfed.models.tables import InboxItem, Reaction
from tests.fakes.peer import MastodonPeer, running_peer
from tests.integration import test_staff_auth as shared
from tests.integration.test_projects import HEAT_MAP
from tests.rig import TestNode, settle, signed_post

# The staff fixtures (test_staff_auth.py), shared with this module.
fast_hashing, staff = shared.fast_hashing, shared.staff


@pytest.fixture
async def mastodon() -> AsyncIterator[MastodonPeer]:
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        peer = await stack.enter_async_context(running_peer("mastodon", http=http))
        assert isinstance(peer, MastodonPeer)
        yield peer


async def reaction_count(n: TestNode) -> int:
    async with n.node.db.session() as session:
        return await session.scalar(select(func.count()).select_from(Reaction)) or 0


async def counts_served(n: TestNode, object_id: str) -> tuple[int, int]:
    doc = await n.get_json(object_id)
    likes = await n.get_json(doc["likes"]["id"])
    shares = await n.get_json(doc["shares"]["id"])
    assert (likes["totalItems"], shares["totalItems"]) == (
        doc["likes"]["totalItems"],
        doc["shares"]["totalItems"],
    )
    return doc["likes"]["totalItems"], doc["shares"]["totalItems"]


async def test_likes_and_boosts_from_mastodon_are_counted_and_undone(
    nodes, mastodon: MastodonPeer, staff
) -> None:
    city = await nodes("berlin")
    project = await city.api("POST", "/projects", json=HEAT_MAP, status=201)
    second = mastodon.add_user("bob")
    like = await mastodon.like(project["id"])
    boost = await mastodon.boost(project["id"])
    await mastodon.like(project["id"], user=second)
    # The same Like again (a retried delivery) and a second Like by the same account.
    assert await mastodon.send(like, f"{city.base}/inbox") == 202
    await mastodon.like(project["id"])
    await settle(city)
    assert await reaction_count(city) == 3
    assert await counts_served(city, project["id"]) == (2, 1)

    # REST API, public page and staff page show them.
    uid = project["id"].rsplit("/", 1)[1]
    item = await city.api("GET", f"/projects/{uid}")
    assert (item["likes"], item["boosts"]) == (2, 1)
    (listed,) = (await city.api("GET", "/projects"))["items"]
    assert (listed["likes"], listed["boosts"]) == (2, 1)
    async with city.get(project["id"], headers={"Accept": "text/html"}) as resp:
        html = await resp.text()
    assert "2 likes" in html and "1 boost" in html
    editor = await staff(city, "editor")
    page = (await editor.get(f"/staff/object?id={project['id']}")).text
    assert "Liked by (2)" in page and "Boosted by (1)" in page
    assert "@alice@" in page and "@bob@" in page

    # Undo removes them, each only for its own author.
    await mastodon.undo(like, city.actor_id)
    await mastodon.undo(boost, city.actor_id)
    await settle(city)
    assert await counts_served(city, project["id"]) == (1, 0)
    async with city.node.db.session() as session:
        states = set(await session.scalars(select(InboxItem.state)))
    assert states == {"done"}


async def test_reactions_to_unknown_objects_and_forged_undos_change_nothing(
    nodes, mastodon: MastodonPeer
) -> None:
    city = await nodes("berlin")
    project = await city.api("POST", "/projects", json=HEAT_MAP, status=201)
    like = await mastodon.like(project["id"])
    await settle(city)
    # Another account cannot take back Alice's like.
    mallory = mastodon.add_user("mallory")
    undo = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{mallory.actor_id}#likes/1/undo",
        "type": "Undo",
        "actor": mallory.actor_id,
        "object": like["id"],
    }
    assert await mastodon.send(undo, f"{city.base}/inbox", user=mallory) == 202
    for target in (f"{city.base}/projects/nothing-here", "https://elsewhere.example/notes/1"):
        stray = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{mastodon.user.actor_id}#likes/{target[-5:]}",
            "type": "Like",
            "actor": mastodon.user.actor_id,
            "object": target,
        }
        assert await mastodon.send(stray, f"{city.base}/inbox") == 202
    await settle(city)
    assert await counts_served(city, project["id"]) == (1, 0)
    async with city.node.db.session() as session:
        failed = await session.scalar(select(InboxItem).where(InboxItem.state == "failed"))
    assert failed is not None and "only its author" in (failed.error or "")


async def test_a_followed_city_boosting_a_partner_object_shows_in_the_timeline(nodes) -> None:
    a, b, c = await nodes("berlin"), await nodes("hamburg"), await nodes("barcelona")
    # A follows B and C; C's project reaches A. B boosts it.
    for followed in (b, c):
        await a.api("POST", "/follows", json={"account": followed.account}, status=201)
    await settle(a, b, c)
    project = await c.api("POST", "/projects", json=HEAT_MAP, status=201)
    await settle(a, b, c)
    boost: dict[str, Any] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{b.actor_id}/boosts/1",
        "type": "Announce",
        "actor": b.actor_id,
        "to": [PUBLIC],
        "cc": [f"{b.actor_id}/followers"],
        "object": project["id"],
    }
    assert (await signed_post(b, a, "/inbox", boost))[0] == 202
    await settle(a, b, c)
    (entry,) = (await a.api("GET", "/timeline"))["items"]
    assert entry["id"] == project["id"] and entry["author"]["actor"] == c.actor_id
    assert [ref["actor"] for ref in entry["boosted_by"]] == [b.actor_id]
    assert entry["boosts"] == 1
    # Once A stops following C, the project stays in the timeline as B's boost.
    await a.api("DELETE", f"/follows?actor={c.actor_id}", status=204)
    await settle(a, b, c)
    (entry,) = (await a.api("GET", "/timeline"))["items"]
    assert entry["boosted_by"][0]["actor"] == b.actor_id


async def test_migration_moves_stored_titles_to_cf_title(tmp_path) -> None:
    # Our projects are served from the stored document: those stored with a name would keep
    # showing collapsed behind a content warning in GoToSocial.
    from cityfed.models import migrate
    from cityfed.models.db import open_database
    from cityfed.models.tables import Actor, Object
    from tests.rig import database_url

    async with database_url(tmp_path, "migration", reuse=False) as url:
        db = open_database(url)
        try:
            await migrate.upgrade(db, "0005")
            # Core inserts naming only the columns of that revision: an ORM row would name every
            # column the models have today.
            async with db.transaction() as session:
                city_id = (
                    await session.execute(
                        insert(Actor)
                        .values(
                            ap_id="https://b.example/actors/b",
                            local=True,
                            type="Organization",
                            handle="b",
                            domain="b.example",
                            manually_approves_followers=False,
                        )
                        .returning(Actor.id)
                    )
                ).scalar_one()
                old = {
                    "id": "https://b.example/projects/1",
                    "type": ["Note", "cf:Project"],
                    "name": "Heat map",
                    "nameMap": {"en": "Heat map", "de": "Hitzekarte"},
                    "content": "<p>card</p>",
                }
                await session.execute(
                    insert(Object).values(
                        ap_id=old["id"], type="Project", actor_id=city_id, local=True, document=old
                    )
                )
            await migrate.upgrade(db)
            async with db.session() as session:
                doc = (await session.scalars(select(Object.document))).one()
            assert "name" not in doc and "nameMap" not in doc
            assert doc["cf:title"] == "Heat map" and doc["titleMap"]["de"] == "Hitzekarte"
            assert doc["content"] == "<p>card</p>"
        finally:
            await db.dispose()
