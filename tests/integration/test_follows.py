"""Follows between real nodes on loopback: request, accept, reject, approve, unfollow, outage."""

from __future__ import annotations

from sqlalchemy import func, select, update

from cityfed.models.tables import Delivery, Follow, InboxItem
from cityfed.models.types import utcnow
from tests.rig import TestNode, settle


async def follow(a: TestNode, b: TestNode) -> dict:
    return await a.api("POST", "/follows", json={"account": b.account}, status=201)


async def test_a_follows_b_and_b_accepts(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    created = await follow(a, b)
    assert created == {**created, "actor": b.actor_id, "account": b.account, "state": "pending"}
    await settle(a, b)
    (entry,) = (await a.api("GET", "/follows", status=200))["items"]
    assert entry["state"] == "accepted"
    followers = await b.get_json(f"/actors/{b.handle}/followers")
    assert followers["totalItems"] == 1
    page = await b.get_json(followers["first"])
    assert page["orderedItems"] == [a.actor_id]
    following = await a.get_json(f"{a.actor_id}/following?page=1")
    assert following["orderedItems"] == [b.actor_id]
    (follower,) = (await b.api("GET", "/followers", status=200))["items"]
    assert follower["actor"] == a.actor_id and follower["state"] == "accepted"
    # B's Accept names A's Follow, and A's inbox item for it is done.
    async with a.node.db.session() as session:
        items = (await session.scalars(select(InboxItem))).all()
    assert [(i.state, i.verified_by) for i in items] == [("done", "http-signature")]


async def test_following_by_actor_url_and_twice_is_one_follow(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await a.api("POST", "/follows", json={"actor": b.actor_id}, status=201)
    await a.api("POST", "/follows", json={"account": "@" + b.account}, status=201)
    await settle(a, b)
    assert len((await a.api("GET", "/follows"))["items"]) == 1
    assert len((await b.api("GET", "/followers"))["items"]) == 1


async def test_unfollow_removes_the_follower(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await follow(a, b)
    await settle(a, b)
    await a.api("DELETE", f"/follows?actor={b.actor_id}", status=204)
    await settle(a, b)
    assert (await a.api("GET", "/follows"))["items"] == []
    assert (await b.api("GET", "/followers"))["items"] == []
    assert (await b.get_json(f"/actors/{b.handle}/followers"))["totalItems"] == 0
    await a.api("DELETE", f"/follows?actor={b.actor_id}", status=404)


async def test_manual_approval_accept(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg", manually_approves=True)
    await follow(a, b)
    await settle(a, b)
    (pending,) = (await b.api("GET", "/followers?state=pending"))["items"]
    assert pending["actor"] == a.actor_id
    assert ((await a.api("GET", "/follows"))["items"])[0]["state"] == "pending"
    assert (await b.get_json(f"/actors/{b.handle}/followers"))["totalItems"] == 0
    await b.api("POST", "/followers/accept", json={"actor": a.actor_id}, status=200)
    await settle(a, b)
    assert ((await a.api("GET", "/follows"))["items"])[0]["state"] == "accepted"
    assert (await b.get_json(f"/actors/{b.handle}/followers"))["totalItems"] == 1


async def test_manual_approval_reject(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg", manually_approves=True)
    await follow(a, b)
    await settle(a, b)
    await b.api("POST", "/followers/reject", json={"actor": a.actor_id}, status=200)
    await settle(a, b)
    assert ((await a.api("GET", "/follows"))["items"])[0]["state"] == "rejected"
    assert (await b.api("GET", "/followers"))["items"] == []
    await b.api("POST", "/followers/reject", json={"actor": a.actor_id}, status=404)


async def test_removing_an_accepted_follower_tells_them(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await follow(a, b)
    await settle(a, b)
    await b.api("POST", "/followers/reject", json={"actor": a.actor_id}, status=200)
    await settle(a, b)
    assert ((await a.api("GET", "/follows"))["items"])[0]["state"] == "rejected"


async def test_three_nodes_follow_each_other(nodes) -> None:
    a, b, c = await nodes("berlin"), await nodes("hamburg"), await nodes("barcelona")
    for x, y in ((a, b), (b, c), (c, a), (a, c)):
        await follow(x, y)
    await settle(a, b, c)
    following = (await a.api("GET", "/follows"))["items"]
    assert {f["actor"] for f in following} == {b.actor_id, c.actor_id}
    followers = (await c.api("GET", "/followers"))["items"]
    assert {f["actor"] for f in followers} == {a.actor_id, b.actor_id}
    for n in (a, b, c):
        assert all(f["state"] == "accepted" for f in (await n.api("GET", "/follows"))["items"])


async def test_a_node_that_was_down_gets_its_accept_when_back(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await follow(a, b)
    await a.run_workers_once()  # the Follow reaches B
    await a.stop()
    await b.run_workers_once()  # B accepts; delivering the Accept fails: A is down
    await b.run_workers_once()
    async with b.node.db.session() as session:
        (delivery,) = (
            await session.scalars(select(Delivery).where(Delivery.inbox.startswith(a.base)))
        ).all()
    assert delivery.state == "retry" and delivery.last_error
    await a.start()
    async with b.node.db.transaction() as session:  # don't wait for the backoff in a test
        await session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    await settle(a, b)
    assert ((await a.api("GET", "/follows"))["items"])[0]["state"] == "accepted"


async def test_follow_of_unknown_account_is_422(nodes) -> None:
    a = await nodes("berlin")
    body = await a.api("POST", "/follows", json={"account": f"ghost@{a.domain}"}, status=422)
    assert "cannot" in body["error"] or "this node" in body["error"]
    await a.api("POST", "/follows", json={"account": "not a handle"}, status=422)
    await a.api("POST", "/follows", json={}, status=422)
    async with a.node.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Follow)) == 0


async def test_api_needs_a_token_with_the_right_scope(nodes) -> None:
    a = await nodes("berlin")
    async with a.get("/api/cityfed/v1/follows") as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert "error" in await resp.json()
    async with a.get(
        "/api/cityfed/v1/follows", headers={"Authorization": "Bearer cf_wrong"}
    ) as resp:
        assert resp.status == 401
    await a.api("GET", "/follows", token=a.editor_token, status=403)
    await a.api("POST", "/follows", data=b"{", status=415)
    await a.api(
        "POST", "/follows", data=b"{", headers={"Content-Type": "application/json"}, status=400
    )


async def test_a_follow_of_garbage_says_what_to_give(nodes) -> None:
    a = await nodes("berlin")
    answer = await a.api("POST", "/follows", json={"account": "not an account"}, status=422)
    assert answer["error"] == (
        "account: 'not an account' is neither an account like name@city.example nor an actor URL"
    )
    assert (await a.api("GET", "/follows"))["total"] == 0
