"""Backfill on follow (issue 18.1): a city that follows a partner afterwards sees the partner's
earlier projects and challenges, fetched from its outbox; bounded against a hostile outbox."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import func, select

from cityfed.activitypub.vocab import Project
from cityfed.federation import backfill
from cityfed.models.tables import Follow, Object
from tests.hostile import AS, Origin
from tests.integration.test_projects import CHALLENGE, HEAT_MAP
from tests.rig import TestNode, settle


def _project(n: int) -> dict[str, Any]:
    return {**HEAT_MAP, "title": f"Barcelona project {n}"}


async def _timeline_titles(a: TestNode) -> list[str]:
    return sorted(item["title"] for item in (await a.api("GET", "/timeline?per_page=100"))["items"])


async def _count_objects(a: TestNode) -> int:
    async with a.node.db.session() as session:
        return await session.scalar(select(func.count()).select_from(Object)) or 0


async def test_follow_afterwards_sees_earlier_projects_once(nodes) -> None:
    hamburg, barcelona = await nodes("hamburg"), await nodes("barcelona")
    for n in range(3):
        await barcelona.api("POST", "/projects", json=_project(n), status=201)
    await barcelona.api("POST", "/challenges", json=CHALLENGE, status=201)
    await hamburg.api("POST", "/follows", json={"account": barcelona.account}, status=201)
    await settle(hamburg, barcelona)
    assert await _timeline_titles(hamburg) == []  # nothing yet: the backfill has not run
    assert await backfill.run_once(hamburg.node) == 1
    expected = sorted([f"Barcelona project {n}" for n in range(3)] + [CHALLENGE["title"]])
    assert await _timeline_titles(hamburg) == expected
    assert await backfill.run_once(hamburg.node) == 0  # done once per follow
    # Unfollow and follow again: a second backfill runs and stores nothing twice.
    await hamburg.api("DELETE", f"/follows?actor={barcelona.actor_id}", status=204)
    await settle(hamburg, barcelona)
    await hamburg.api("POST", "/follows", json={"account": barcelona.account}, status=201)
    await settle(hamburg, barcelona)
    assert await backfill.run_once(hamburg.node) == 1
    assert await _timeline_titles(hamburg) == expected
    assert await _count_objects(hamburg) == 4


async def test_backfill_runs_in_the_background_worker(nodes) -> None:
    barcelona = await nodes("barcelona", workers=True)
    created = [
        (await barcelona.api("POST", "/projects", json=_project(n), status=201))["id"]
        for n in range(3)
    ]
    hamburg = await nodes("hamburg", workers=True)
    await hamburg.api("POST", "/follows", json={"account": barcelona.account}, status=201)
    ids: list[str] = []
    for _ in range(400):
        ids = [i["id"] for i in (await hamburg.api("GET", "/timeline"))["items"]]
        if len(ids) == 3:
            break
        await asyncio.sleep(0.05)
    assert sorted(ids) == sorted(created)


def _create(origin: Origin, obj: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in obj.items() if k != "@context"}
    return {
        "id": f"{origin.base}/activities/{uuid.uuid4()}",
        "type": "Create",
        "actor": origin.actor_id,
        "object": body,
    }


def _evil_project(origin: Origin, name: str, *, host: str | None = None) -> dict[str, Any]:
    return Project(
        id=f"{host or origin.base}/projects/{name}",
        attributed_to=origin.actor_id,
        name=f"Project {name}",
        phase="idea",
    ).to_ap()


async def _follow_accepted(a: TestNode, origin: Origin) -> None:
    """``a`` follows the hostile origin, which accepts (signed, through ``a``'s inbox)."""
    await a.api("POST", "/follows", json={"actor": origin.actor_id}, status=201)
    async with a.node.db.session() as session:
        follow_id = await session.scalar(select(Follow.activity_ap_id))
    accept = {
        "@context": AS,
        "id": f"{origin.base}/activities/{uuid.uuid4()}",
        "type": "Accept",
        "actor": origin.actor_id,
        "object": follow_id,
    }
    assert await origin.post(a, accept) == 202
    await settle(a)


def _page(origin: Origin, n: int, items: list[dict[str, Any]], *, last: bool = False) -> None:
    page_id = f"{origin.actor_id}/outbox/p{n}"
    origin.docs[f"/actors/evil/outbox/p{n}"] = {
        "@context": Project(id="x:", attributed_to="x:", name="x").to_ap()["@context"],
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": f"{origin.actor_id}/outbox",
        "orderedItems": items,
        **({} if last else {"next": f"{origin.actor_id}/outbox/p{n + 1}"}),
    }


async def test_hostile_outbox_is_bounded_and_foreign_objects_refused(nodes) -> None:
    a = await nodes("hamburg")
    origin = Origin(extra_ports=1)
    await origin.start()
    try:
        other_host = f"http://127.0.0.1:{origin.ports[1]}"
        origin.docs["/actors/evil/outbox"] = {
            "@context": AS,
            "id": f"{origin.actor_id}/outbox",
            "type": "OrderedCollection",
            "first": f"{origin.actor_id}/outbox/p1",
        }
        # Endless paging: every page names a next one; each holds one own project and one that
        # claims another host.
        for n in range(1, 40):
            _page(
                origin,
                n,
                [
                    _create(origin, _evil_project(origin, f"own{n}")),
                    _create(origin, _evil_project(origin, f"foreign{n}", host=other_host)),
                ],
            )
        await _follow_accepted(a, origin)
        assert await backfill.run_once(a.node) == 1
        pages_fetched = [hit for hit in origin.hits if hit.startswith("/actors/evil/outbox/p")]
        assert len(pages_fetched) == backfill.MAX_PAGES
        async with a.node.db.session() as session:
            stored = sorted((await session.scalars(select(Object.ap_id))).all())
        assert stored == sorted(
            f"{origin.base}/projects/own{n}" for n in range(1, backfill.MAX_PAGES + 1)
        )
    finally:
        await origin.stop()


def _outbox(origin: Origin) -> None:
    origin.docs["/actors/evil/outbox"] = {
        "@context": AS,
        "id": f"{origin.actor_id}/outbox",
        "type": "OrderedCollection",
        "first": f"{origin.actor_id}/outbox/p1",
    }


async def test_item_budget_caps_a_long_outbox(nodes) -> None:
    a = await nodes("hamburg")
    origin = Origin()
    await origin.start()
    try:
        _outbox(origin)
        for n in range(1, 6):  # 5 pages of 60: more than the item budget
            items = [_create(origin, _evil_project(origin, f"{n}-{i}")) for i in range(60)]
            _page(origin, n, items, last=n == 5)
        await _follow_accepted(a, origin)
        assert await backfill.run_once(a.node) == 1
        assert await _count_objects(a) == backfill.MAX_ITEMS
    finally:
        await origin.stop()


async def test_page_over_the_size_limit_is_refused_whole(nodes) -> None:
    a = await nodes("hamburg", fetch_max_bytes=16 * 1024)
    origin = Origin()
    await origin.start()
    try:
        _outbox(origin)
        _page(origin, 1, [_create(origin, _evil_project(origin, f"p{n}")) for n in range(100)])
        await _follow_accepted(a, origin)
        assert await backfill.run_once(a.node) == 1
        assert await _count_objects(a) == 0
        assert await backfill.run_once(a.node) == 0  # a failed backfill is not asked again
    finally:
        await origin.stop()
