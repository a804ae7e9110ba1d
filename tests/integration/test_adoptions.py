"""Adopting a partner's project between real nodes: Adoption, Accept, progress, the graph."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from cityfed.actions import adoption_graph
from cityfed.models import objects as object_queries
from cityfed.models.tables import InboxItem, Object
from cityfed.models.types import utcnow
from tests.integration.test_projects import CHALLENGE, HEAT_MAP
from tests.rig import TestNode, local_actor_row, settle, signed_post

PAGE = "?page=1"


async def adopt(a: TestNode, project_id: str, **body: Any) -> dict[str, Any]:
    return await a.api(
        "POST", "/adoptions", json={"project": project_id, **body}, status=201, token=a.editor_token
    )


async def stored(test_node: TestNode, ap_id: str) -> Object | None:
    async with test_node.node.db.session() as session:
        return await object_queries.by_ap_id(session, ap_id)


async def test_adoption_reaches_origin_and_progress_follows(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    origin = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    created = await adopt(a, origin["id"], status="piloting")
    assert created["id"].startswith(f"{a.base}/adoptions/")
    assert created["project"].startswith(f"{a.base}/projects/")
    assert created["state"] == "pending"
    await settle(a, b)

    # The origin lists it in the project's cf:adoptions collection and in its API.
    project_doc = await b.get_json(origin["id"])
    collection = await b.get_json(project_doc["cf:adoptions"])
    assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 1
    page = await b.get_json(project_doc["cf:adoptions"] + PAGE)
    assert page["orderedItems"] == [created["id"]]
    listed = await b.api("GET", "/adoptions")
    assert [x["direction"] for x in listed["items"]] == ["received"] and listed["total"] == 1
    assert (await b.api("GET", "/adoptions?direction=made"))["items"] == []
    (received,) = listed["items"]
    assert (received["id"], received["status"], received["state"]) == (
        created["id"],
        "piloting",
        "accepted",
    )
    assert received["adopter"] == a.actor_id and received["project"] == origin["id"]

    # The adopter's project is based on the origin; its copy of the texts; phase "idea".
    own = await a.get_json(created["project"])
    assert own["cf:isBasedOn"] == origin["id"]
    assert own["cf:title"] == HEAT_MAP["title"] and own["cf:teaser"] == HEAT_MAP["teaser"]
    assert own["cf:phase"] == "idea" and own["attributedTo"] == a.actor_id
    assert own["cf:adoptions"] == created["project"] + "/adoptions"

    # The adoption itself, at its id: a Mastodon-readable card, addressed to the origin too.
    doc = await a.get_json(created["id"])
    assert doc["type"] == ["Note", "cf:Adoption"]
    assert doc["object"] == origin["id"] and doc["cf:localProject"] == created["project"]
    assert "City of Berlin is piloting City of Hamburg's" in doc["content"]
    assert "Heat-risk map" in doc["content"]
    assert b.actor_id in doc["cc"]

    # The origin's Accept reached the adopter.
    (made,) = (await a.api("GET", "/adoptions?direction=made"))["items"]
    assert (made["id"], made["state"], made["local_project"]) == (
        created["id"],
        "accepted",
        created["project"],
    )

    # Progress: Update{Adoption}; the origin's copy follows, the card says the new status.
    uid = created["id"].rsplit("/", 1)[-1]
    patched = await a.api(
        "PATCH",
        f"/adoptions/{uid}",
        json={"status": "operational", "outcomes": "All districts.", "lessons_learned": "Go."},
        status=200,
    )
    assert patched["status"] == "operational" and patched["updated"]
    await settle(a, b)
    (received,) = (await b.api("GET", "/adoptions?direction=received"))["items"]
    assert (received["status"], received["outcomes"], received["lessons_learned"]) == (
        "operational",
        "All districts.",
        "Go.",
    )
    copy = await stored(b, created["id"])
    assert copy is not None and "is running City of Hamburg's" in copy.document["content"]

    # A late, older Update (replayed or reordered) does not roll the origin's copy back.
    stale = {
        "@context": doc["@context"],
        "id": f"{a.base}/activities/stale-adoption-update",
        "type": "Update",
        "actor": a.actor_id,
        "object": {
            **{k: v for k, v in doc.items() if k != "@context"},
            "cf:status": "discontinued",
            "updated": doc["published"],
        },
    }
    assert (await signed_post(a, b, "/inbox", stale))[0] == 202
    await settle(a, b)
    (received,) = (await b.api("GET", "/adoptions?direction=received"))["items"]
    assert received["status"] == "operational"
    async with b.node.db.session() as session:
        item = await session.scalar(
            select(InboxItem).where(InboxItem.activity_ap_id == stale["id"])
        )
    assert item is not None and "stale Update" in (item.error or "")

    # Adopting the same project twice is a conflict; the adoption's project is untouched.
    again = await a.api("POST", "/adoptions", json={"project": origin["id"]}, status=409)
    assert again["error"].startswith("project")


async def test_followers_see_it_and_the_graph_spans_three_cities(nodes) -> None:
    """B publishes P; A adopts P as Q; C (following A and B) adopts Q as R."""
    a, b, c = await nodes("berlin"), await nodes("hamburg"), await nodes("copenhagen")
    await c.api("POST", "/follows", json={"account": a.account}, status=201)
    await c.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b, c)
    p = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    await settle(a, b, c)
    q = await adopt(a, p["id"], status="planned", title="Berlin heat map")
    await settle(a, b, c)
    r = await adopt(c, q["project"])
    await settle(a, b, c)

    # C follows A: it got A's new project and, holding a copy of P, A's adoption of it.
    timeline = await c.api("GET", "/timeline")
    titles = {item["title"]: item for item in timeline["items"]}
    assert titles["Berlin heat map"]["is_based_on"] == p["id"]
    assert (await stored(c, q["id"])) is not None
    # A is the origin of Q: it lists C's adoption.
    page = await a.get_json(q["project"] + "/adoptions" + PAGE)
    assert page["orderedItems"] == [r["id"]]

    graph = await a.api("GET", f"/adoptions/graph?project={p['id']}")
    edges = {(e["from"], e["to"]): e for e in graph["edges"]}
    assert set(edges) == {(q["project"], p["id"]), (r["project"], q["project"])}
    assert edges[(q["project"], p["id"])]["adoption"] == q["id"]
    assert edges[(q["project"], p["id"])]["status"] == "planned"
    assert edges[(r["project"], q["project"])]["status"] == "considering"
    by_id = {n["id"]: n for n in graph["nodes"]}
    assert set(by_id) == {p["id"], q["project"], r["project"]}
    assert by_id[p["id"]]["title"] == HEAT_MAP["title"]
    assert by_id[p["id"]]["owner"]["actor"] == b.actor_id
    assert by_id[q["project"]]["local"] is True
    assert by_id[r["project"]]["owner"]["actor"] == c.actor_id  # known from its adoption only

    # The same graph from the middle, and from C's point of view.
    middle = await a.api("GET", f"/adoptions/graph?project={q['project']}")
    assert {(e["from"], e["to"]) for e in middle["edges"]} == set(edges)
    seen_by_c = await c.api("GET", f"/adoptions/graph?project={r['project']}")
    assert {(e["from"], e["to"]) for e in seen_by_c["edges"]} == set(edges)
    await a.api("GET", "/adoptions/graph?project=https://nowhere.example/p/1", status=404)


async def test_graph_is_cycle_safe(nodes) -> None:
    """Forged or odd data may make a loop; the graph still ends."""
    a = await nodes("berlin")
    me = await local_actor_row(a)
    p1, p2 = f"{a.base}/projects/loop-1", f"{a.base}/projects/loop-2"
    async with a.node.db.transaction() as session:
        for source, target, n in ((p1, p2, 1), (p2, p1, 2)):
            session.add(
                Object(
                    ap_id=f"{a.base}/adoptions/loop-{n}",
                    type="Adoption",
                    actor_id=me.id,
                    local=True,
                    document={"cf:localProject": source, "object": target, "cf:status": "planned"},
                    target=target,
                    published=utcnow() - timedelta(minutes=n),
                )
            )
    async with a.node.db.session() as session:
        graph = await adoption_graph.graph(session, p1)
    assert {(e["from"], e["to"]) for e in graph["edges"]} == {(p1, p2), (p2, p1)}
    assert {n["id"] for n in graph["nodes"]} == {p1, p2}


async def test_withdrawn_adoption_is_a_tombstone(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    origin = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    created = await adopt(a, origin["id"])
    await settle(a, b)
    uid = created["id"].rsplit("/", 1)[-1]
    await a.api("DELETE", f"/adoptions/{uid}", status=204)
    await settle(a, b)
    tomb = await a.get_json(created["id"], status=410)
    assert tomb["type"] == "Tombstone" and tomb["formerType"] == "cf:Adoption"
    assert (await b.get_json(origin["id"] + "/adoptions"))["totalItems"] == 0
    assert (await b.api("GET", "/adoptions?direction=received"))["items"] == []
    await a.api("PATCH", f"/adoptions/{uid}", json={"status": "planned"}, status=404)
    # Our own project stays.
    assert (await a.get_json(created["project"]))["cf:isBasedOn"] == origin["id"]


async def test_refusals_name_the_field(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    origin = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    challenge = await b.api("POST", "/challenges", json=CHALLENGE, status=201)
    mine = await a.api("POST", "/projects", json={"title": "Ours"}, status=201)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({}, 422, "project"),
        ({"project": 7}, 422, "project"),
        ({"project": "not a url"}, 422, "project"),
        ({"project": origin["id"], "status": "dreaming"}, 422, "status"),
        ({"project": origin["id"], "colour": "red"}, 422, "colour"),
        ({"project": origin["id"], "title": "x" * 301}, 422, "title"),
        ({"project": origin["id"], "outcomes": 5}, 422, "outcomes"),
        ({"project": mine["id"]}, 422, "project"),
        ({"project": challenge["id"]}, 422, "project"),
        ({"project": f"{a.base}/projects/nope"}, 404, "project"),
        ({"project": f"{b.base}/projects/nope"}, 404, "project"),
    ]
    for body, status, name in cases:
        answer = await a.api("POST", "/adoptions", json=body, status=status)
        assert answer["error"].startswith(name), (body, answer)
    created = await adopt(a, origin["id"])
    uid = created["id"].rsplit("/", 1)[-1]
    answer = await a.api("PATCH", f"/adoptions/{uid}", json={"status": "x"}, status=422)
    assert answer["error"].startswith("status")
    answer = await a.api("PATCH", f"/adoptions/{uid}", json={"title": "x"}, status=422)
    assert answer["error"].startswith("title")
    await a.api("PATCH", "/adoptions/nope", json={"status": "planned"}, status=404)
    await a.api("GET", "/adoptions", token="wrong", status=401)
    # Nothing was created by the refused requests: one adoption, two projects of ours.
    assert len((await a.api("GET", "/adoptions?direction=made"))["items"]) == 1
    assert (await a.api("GET", "/projects"))["total"] == 2


async def test_forged_or_foreign_adoptions_are_not_kept(nodes) -> None:
    a, b, c = await nodes("berlin"), await nodes("hamburg"), await nodes("copenhagen")
    origin = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    created = await adopt(a, origin["id"])
    await settle(a, b)
    doc = await a.get_json(created["id"])
    body = {k: v for k, v in doc.items() if k != "@context"}
    # C claims A's adoption as its own: refused (not attributed to the sender, not its host).
    forged = {
        "@context": doc["@context"],
        "id": f"{c.base}/activities/forged",
        "type": "Create",
        "actor": c.actor_id,
        "object": {**body, "id": f"{c.base}/adoptions/forged"},
    }
    assert (await signed_post(c, b, "/inbox", forged))[0] == 202
    # C adopts a project B does not have: ignored.
    elsewhere = {
        **body,
        "id": f"{c.base}/adoptions/x",
        "attributedTo": c.actor_id,
        "cf:adopter": c.actor_id,
        "cf:localProject": f"{c.base}/projects/x",
        "object": f"{b.base}/projects/unknown",
    }
    create = {**forged, "id": f"{c.base}/activities/x", "object": elsewhere}
    assert (await signed_post(c, b, "/inbox", create))[0] == 202
    await settle(a, b, c)
    async with b.node.db.session() as session:
        items = {i.activity_ap_id: i for i in (await session.scalars(select(InboxItem))).all()}
        adoptions = (await session.scalars(select(Object).where(Object.type == "Adoption"))).all()
    assert [row.ap_id for row in adoptions] == [created["id"]]
    assert items[forged["id"]].state == "failed"
    assert items[forged["id"]].error.startswith("refused")
    assert items[create["id"]].state == "done" and "ignored" in items[create["id"]].error
