"""Publishing projects and challenges between real nodes: API, delivery, copies, 410s."""

from __future__ import annotations

import asyncio

import orjson
from sqlalchemy import select

from cityfed.activitypub.vocab import Challenge, Project
from cityfed.models.tables import Activity, Object
from tests.rig import TestNode, settle, signed_post

HEAT_MAP = {
    "title": "Heat-risk map",
    "teaser": "Which streets get dangerously hot, block by block.",
    "description": "# Heat-risk map\n\nSatellite data + sensors. **Open data.**",
    "phase": "pilot",
    "tags": ["climate", "#OpenData"],
    "language": "en",
    "sdgs": [11, 13],
    "location": {"name": "Hamburg", "latitude": 53.55, "longitude": 9.99},
    "start_date": "2025-05-01",
    "end_date": "2026-12-31",
    "contact": "innovation@hamburg.example",
    "license": "EUPL-1.2",
    "repository": "https://code.hamburg.example/heatmap",
    "publiccode": "https://code.hamburg.example/heatmap/publiccode.yml",
    "budget": "EUR 120,000",
    "partners": ["University of Hamburg", "DWD"],
    "outcomes": "Two districts changed their tree planting plans.",
    "lessons_learned": "Start with the sensors.",
    "translations": {"de": {"title": "Hitzerisikokarte", "teaser": "Welche Straßen heiß werden."}},
}
CHALLENGE = {
    "title": "Flooded underpasses",
    "teaser": "Warn drivers before they drive into water.",
    "description": "We need a sensor network.",
    "phase": "open",
    "tags": ["flooding"],
    "sdgs": [11],
    "deadline": "2027-03-01",
    "requirements": "Runs on LoRaWAN.",
}


async def followed_pair(nodes) -> tuple[TestNode, TestNode]:
    """A follows B, accepted."""
    a, b = await nodes("berlin"), await nodes("hamburg")
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b)
    return a, b


async def test_publish_reaches_follower_timeline(nodes) -> None:
    a, b = await followed_pair(nodes)
    project = await b.api("POST", "/projects", json=HEAT_MAP, status=201, token=b.editor_token)
    challenge = await b.api("POST", "/challenges", json=CHALLENGE, status=201)
    assert project["id"].startswith(f"{b.base}/projects/")
    assert challenge["id"].startswith(f"{b.base}/challenges/")
    await settle(a, b)
    timeline = await a.api("GET", "/timeline")
    assert timeline["total"] == 2
    newest, older = timeline["items"]
    assert newest["id"] == challenge["id"] and newest["type"] == "challenge"
    assert newest["deadline"].startswith("2027-03-01")
    assert older["id"] == project["id"]
    for key in (
        "title",
        "teaser",
        "description",
        "phase",
        "contact",
        "license",
        "repository",
        "publiccode",
        "budget",
        "partners",
        "outcomes",
        "lessons_learned",
        "sdgs",
    ):
        assert older[key] == HEAT_MAP[key], key
    assert older["tags"] == ["climate", "OpenData"]
    assert older["location"] == HEAT_MAP["location"]
    assert older["translations"] == {
        "de": {"title": "Hitzerisikokarte", "teaser": "Welche Straßen heiß werden."}
    }
    assert older["author"]["account"] == b.account
    only = await a.api("GET", "/timeline?type=challenge")
    assert [i["id"] for i in only["items"]] == [challenge["id"]]
    paged = await a.api("GET", "/timeline?per_page=1&page=2")
    assert [i["id"] for i in paged["items"]] == [project["id"]]


async def test_published_object_document_is_mastodon_readable(nodes) -> None:
    b = await nodes("hamburg")
    created = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    doc = await b.get_json(created["id"])
    assert doc["type"] == ["Note", "cf:Project"]
    assert "summary" not in doc
    assert doc["attributedTo"] == b.actor_id and doc["url"].startswith(b.base)
    assert "Heat-risk map" in doc["content"] and "Phase: pilot" in doc["content"]
    assert 'class="mention hashtag" rel="tag"' in doc["content"]
    assert doc["source"]["mediaType"] == "text/markdown"
    assert {"type": "Hashtag", "href": f"{b.base}/tags/climate", "name": "#climate"} in doc["tag"]
    assert doc["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert doc["cc"] == [f"{b.actor_id}/followers"]
    assert doc["contentMap"]["en"] == doc["content"] and "de" in doc["contentMap"]
    assert Project.from_ap(doc).name == "Heat-risk map"
    # replies embedded with its first page, as Mastodon sends it (GoToSocial follows only that);
    # likes and shares counted.
    first = doc["replies"]["first"]
    assert doc["replies"]["totalItems"] == 0 and first["type"] == "CollectionPage"
    assert first["items"] == [] and first["partOf"] == doc["replies"]["id"]
    replies = await b.get_json(doc["replies"]["id"])
    assert replies["type"] == "Collection" and replies["totalItems"] == 0
    for which in ("likes", "shares"):
        assert doc[which] == {"id": f"{doc['id']}/{which}", "type": "Collection", "totalItems": 0}
        assert (await b.get_json(doc[which]["id"]))["totalItems"] == 0
    outbox = await b.get_json(f"/actors/{b.handle}/outbox?page=1")
    (create,) = outbox["orderedItems"]
    assert create["type"] == "Create" and create["object"]["id"] == created["id"]
    activity = await b.get_json(create["id"])
    assert activity["object"]["id"] == created["id"]


async def test_edit_propagates_and_stale_update_is_ignored(nodes) -> None:
    a, b = await followed_pair(nodes)
    created = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    await settle(a, b)
    uid = created["id"].rsplit("/", 1)[-1]
    stale_doc = await b.get_json(created["id"])
    edited = await b.api(
        "PATCH", f"/projects/{uid}", json={"phase": "operational", "title": "Heat map"}, status=200
    )
    assert edited["phase"] == "operational" and edited["teaser"] == HEAT_MAP["teaser"]
    await settle(a, b)
    (item,) = (await a.api("GET", "/timeline"))["items"]
    assert (item["title"], item["phase"]) == ("Heat map", "operational")
    # A replayed, older Update (e.g. delivered late) must not roll the copy back.
    stale = {
        "id": f"{b.base}/activities/stale-update",
        "type": "Update",
        "actor": b.actor_id,
        "object": {**stale_doc, "updated": stale_doc["published"]},
        "@context": stale_doc["@context"],
    }
    status, _ = await signed_post(b, a, "/inbox", stale)
    assert status == 202
    await settle(a, b)
    (item,) = (await a.api("GET", "/timeline"))["items"]
    assert item["title"] == "Heat map"


async def test_delete_removes_copy_and_serves_tombstone(nodes) -> None:
    a, b = await followed_pair(nodes)
    created = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    await settle(a, b)
    uid = created["id"].rsplit("/", 1)[-1]
    await b.api("DELETE", f"/projects/{uid}", status=204)
    await settle(a, b)
    assert (await a.api("GET", "/timeline"))["total"] == 0
    tomb = await b.get_json(created["id"], status=410)
    assert tomb["type"] == "Tombstone" and tomb["id"] == created["id"]
    await b.api("GET", f"/projects/{uid}", status=404)
    await b.api("DELETE", f"/projects/{uid}", status=404)
    assert (await b.get_json(f"/actors/{b.handle}/outbox"))["totalItems"] == 0


async def test_followers_get_it_within_a_second_with_workers_running(nodes) -> None:
    a = await nodes("berlin", workers=True)
    b = await nodes("hamburg", workers=True)
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    for _ in range(100):
        if ((await a.api("GET", "/follows"))["items"])[0]["state"] == "accepted":
            break
        await asyncio.sleep(0.05)
    created = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < 5:
        items = (await a.api("GET", "/timeline"))["items"]
        if items:
            break
        await asyncio.sleep(0.02)
    assert [i["id"] for i in items] == [created["id"]]


async def test_object_on_another_host_is_refused(nodes) -> None:
    a, b = await followed_pair(nodes)
    doc = Project(
        id="https://elsewhere.example/projects/1",
        attributed_to=b.actor_id,
        name="Not mine",
        phase="idea",
    ).to_ap()
    create = {
        "@context": doc["@context"],
        "id": f"{b.base}/activities/forged",
        "type": "Create",
        "actor": b.actor_id,
        "object": {k: v for k, v in doc.items() if k != "@context"},
    }
    assert (await signed_post(b, a, "/inbox", create))[0] == 202
    await settle(a, b)
    assert (await a.api("GET", "/timeline"))["total"] == 0
    async with a.node.db.session() as session:
        assert (await session.scalars(select(Object))).all() == []


async def test_unfamiliar_json_ld_shape_is_read(nodes) -> None:
    """Another implementation may write our vocabulary with other prefixes: still ours."""
    a, b = await followed_pair(nodes)
    challenge = Challenge(
        id=f"{b.base}/challenges/x1",
        attributed_to=b.actor_id,
        name="Cool roofs",
        phase="open",
        tags=["heat"],
    )
    doc = challenge.to_ap()
    del doc["@context"]
    renamed = {("city:" + k[3:] if k.startswith("cf:") else k): v for k, v in doc.items()}
    renamed["type"] = ["Note", "city:Challenge"]
    create = {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {"city": "https://cityfed.org/ns#", "Hashtag": "as:Hashtag"},
        ],
        "id": f"{b.base}/activities/x1",
        "type": "Create",
        "actor": b.actor_id,
        "object": renamed,
    }
    assert (await signed_post(b, a, "/inbox", orjson.dumps(create)))[0] == 202
    await settle(a, b)
    (item,) = (await a.api("GET", "/timeline"))["items"]
    assert (item["title"], item["phase"], item["type"]) == ("Cool roofs", "open", "challenge")


async def test_validation_errors_name_the_field(nodes) -> None:
    b = await nodes("hamburg")
    cases = [
        ({}, "title"),
        ({"title": "x", "phase": "dreaming"}, "phase"),
        ({"title": "x", "sdgs": [18]}, "sdgs"),
        ({"title": "x", "tags": ["no spaces"]}, "tags"),
        ({"title": "x", "repository": "javascript:alert(1)"}, "repository"),
        ({"title": "x", "start_date": "yesterday"}, "start_date"),
        ({"title": "x", "location": {"name": "X", "latitude": 95, "longitude": 0}}, "location"),
        ({"title": "x", "deadline": "2027-01-01"}, "deadline"),
        ({"title": "x" * 301}, "title"),
        ({"title": "x", "start_date": "2026-02-01", "end_date": "2026-01-01"}, "end_date"),
        ({"title": "x", "language": "de", "translations": {"de": {"title": "y"}}}, "translations"),
        ({"title": "x", "license": "WTFPL-9"}, "license"),  # not on the SPDX list
        ({"title": "x", "license": "MIT OR"}, "license"),
    ]
    for body, name in cases:
        answer = await b.api("POST", "/projects", json=body, status=422)
        assert answer["error"].startswith(name), (body, answer)
        assert answer["field"] == name and answer["code"], (body, answer)  # structured too
    # The code and parameters a client can act on without reading the English text.
    answer = await b.api("POST", "/projects", json={}, status=422)
    assert (answer["code"], answer["field"], answer["params"]) == ("required", "title", {})
    answer = await b.api("POST", "/projects", json={"title": "x" * 301}, status=422)
    assert (answer["code"], answer["params"]) == ("too_long", {"limit": 300})
    assert answer["error"] == "title: at most 300 characters"
    answer = await b.api("POST", "/projects", json={"title": "x", "license": "WTFPL-9"}, status=422)
    assert (answer["code"], answer["params"]) == ("licence_unknown", {"names": "WTFPL-9"})
    answer = await b.api("POST", "/challenges", json={"title": "x", "license": "MIT"}, status=422)
    assert answer["error"].startswith("license")
    assert (await b.api("GET", "/projects"))["total"] == 0
    made = await b.api("POST", "/projects", json={"title": "x", "license": "apache-2.0 or mit"})
    stored = await b.api("GET", "/projects/" + made["id"].rsplit("/", 1)[1])
    assert stored["license"] == "Apache-2.0 OR MIT"  # in the SPDX list's spelling


async def test_editor_publishes_but_cannot_manage_follows(nodes) -> None:
    b = await nodes("hamburg")
    await b.api("POST", "/projects", json={"title": "X"}, token=b.editor_token, status=201)
    await b.api("GET", "/follows", token=b.editor_token, status=403)
    listed = await b.api("GET", "/projects", token=b.editor_token, status=200)
    assert listed["items"][0]["title"] == "X"


async def test_featured_collection_lists_featured_projects(nodes) -> None:
    b = await nodes("hamburg")
    created = await b.api("POST", "/projects", json={**HEAT_MAP, "featured": True}, status=201)
    await b.api("POST", "/projects", json={"title": "Other"}, status=201)
    featured = await b.get_json(f"/actors/{b.handle}/featured")
    assert [o["id"] for o in featured["orderedItems"]] == [created["id"]]
    ns = await b.get_json("/ns", accept="application/ld+json")
    assert ns["@context"]["cf"] == "https://cityfed.org/ns#"


async def test_a_long_project_travels_by_reference_and_arrives_whole(nodes) -> None:
    """Over ~48 KiB the Create names the object by id (Misskey refuses bodies over 64 KiB)."""
    a, b = await followed_pair(nodes)
    long_text = "Lessons from the pilot. " * 3000  # ~72 KB of Markdown
    created = await b.api(
        "POST", "/projects", json={"title": "Long", "description": long_text}, status=201
    )
    async with b.node.db.session() as session:
        create = await session.scalar(
            select(Activity.body).where(Activity.object_ap_id == created["id"])
        )
    assert orjson.loads(create)["object"] == created["id"]
    assert len(create) < 64 * 1024
    await settle(a, b)
    (item,) = (await a.api("GET", "/timeline"))["items"]
    assert item["description"] == long_text.strip()
