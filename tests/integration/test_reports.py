"""Reports between real nodes: an anonymous Flag from the instance actor, the admin queue,
resolution with audit, and what a received Flag must (not) be able to do."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import orjson
import pytest
from sqlalchemy import func, select

from cityfed.federation.handlers import flag
from cityfed.federation.handlers.base import Context, Ignore
from cityfed.models import actors as actor_queries
from cityfed.models.tables import Activity, AuditEntry, Delivery, InboxItem, Report
from tests.fakes.peer import FakePeer, running_peer
from tests.rig import TestNode, settle, signed_post

StartPeer = Callable[..., Awaitable[Any]]


@pytest.fixture
async def peers() -> AsyncIterator[StartPeer]:
    """``await peers("mastodon")`` starts a fake server; all are stopped when the test ends."""
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())

        async def start(flavor: str, **kwargs: Any) -> FakePeer:
            return await stack.enter_async_context(running_peer(flavor, http=http, **kwargs))

        yield start


async def project_of(city: TestNode, title: str = "X") -> str:
    created = await city.api("POST", "/projects", json={"title": title}, status=201)
    return created["id"]


async def queue(city: TestNode, query: str = "") -> list[dict[str, Any]]:
    listing = await city.api("GET", f"/admin/reports{query}", status=200)
    assert listing["total"] == len(listing["items"])
    return listing["items"]


async def flag_items(city: TestNode) -> list[InboxItem]:
    async with city.node.db.session() as session:
        rows = await session.scalars(select(InboxItem).order_by(InboxItem.id))
        return [row for row in rows if orjson.loads(row.body).get("type") == "Flag"]


async def report_count(city: TestNode) -> int:
    async with city.node.db.session() as session:
        return await session.scalar(select(func.count()).select_from(Report)) or 0


def flag_from(sender: TestNode, objects: list[str], content: str = "spam") -> dict[str, Any]:
    """A Flag signed by ``sender``'s city actor (``signed_post`` signs as that actor)."""
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{sender.base}/activities/{uuid.uuid4()}",
        "type": "Flag",
        "actor": sender.actor_id,
        "object": objects,
        "content": content,
    }


async def reported(a: TestNode, b: TestNode, content: str = "Scam links in the project") -> dict:
    """A reports B's city and one of its projects (with the editor token); B receives it."""
    project = await project_of(b)
    sent = await a.api(
        "POST",
        "/reports",
        json={"actor": b.account, "objects": [project], "content": content},
        token=a.editor_token,
        status=201,
    )
    await settle(a, b)
    return sent


async def test_flag_reaches_the_admin_queue_without_naming_the_reporter(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    project = await project_of(b)
    sent = await a.api(
        "POST",
        "/reports",
        json={"actor": b.account, "objects": [project], "content": "Scam links"},
        token=a.editor_token,
        status=201,
    )
    assert sent == {
        **sent,
        "direction": "sent",
        "state": "open",
        "target_actor": b.actor_id,
        "objects": [project],
        "content": "Scam links",
        "origin_domain": a.domain,
    }
    # The Flag is queued for B's shared inbox, sent by (and so signed as) A's instance actor.
    async with a.node.db.session() as session:
        instance = await actor_queries.instance_actor(session)
        (delivery,) = (await session.scalars(select(Delivery))).all()
        activity = await session.get(Activity, delivery.activity_id)
    assert instance is not None and activity is not None
    assert delivery.sender_id == instance.id and delivery.inbox == f"{b.base}/inbox"
    assert activity.type == "Flag" and activity.public is False
    await settle(a, b)

    (item,) = await flag_items(b)
    assert item.state == "done" and item.error is None
    assert item.verified_by == "http-signature"
    assert item.signer_key_id.startswith(f"{a.base}/actor#")
    raw_flag = orjson.loads(item.body)
    assert raw_flag == {
        **raw_flag,
        "type": "Flag",
        "actor": f"{a.base}/actor",
        "object": [b.actor_id, project],
        "content": "Scam links",
        "to": [b.actor_id],
    }
    (report,) = await queue(b)
    assert report == {
        **report,
        "direction": "received",
        "state": "open",
        "activity": sent["activity"],
        "origin_domain": a.domain,
        "target_actor": b.actor_id,
        "objects": [project],
        "content": "Scam links",
        "resolved_at": None,
    }
    assert await b.api("GET", f"/admin/reports/{report['id']}", status=200) == report
    # Anonymous: neither the reporting city nor the staff token shows up anywhere on B's side.
    served = orjson.dumps(report)
    for secret in (a.actor_id, "test editor", "test admin"):
        assert secret.encode() not in item.body
        assert secret.encode() not in served
    # A keeps a record of what it sent, which names no reporter either.
    (mine,) = await queue(a, "?direction=sent&state=all")
    assert mine["activity"] == sent["activity"]
    for secret in (a.actor_id, "test editor"):
        assert secret.encode() not in orjson.dumps(mine)
    assert await queue(a) == []  # A's own queue holds only received reports


async def test_resolve_with_a_note_is_audited(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await reported(a, b)
    (report,) = await queue(b)
    resolved = await b.api(
        "POST",
        f"/admin/reports/{report['id']}/resolve",
        json={"note": "Links removed, editor informed"},
        status=200,
    )
    assert resolved == {
        **resolved,
        "state": "resolved",
        "resolved_by": "test admin",
        "resolution_note": "Links removed, editor informed",
    }
    assert resolved["resolved_at"] is not None
    assert await queue(b) == []
    assert [r["id"] for r in await queue(b, "?state=resolved")] == [report["id"]]
    assert [r["id"] for r in await queue(b, "?state=all")] == [report["id"]]
    async with b.node.db.session() as session:
        (audit,) = (await session.scalars(select(AuditEntry))).all()
    assert (audit.who, audit.action, audit.target) == (
        "test admin",
        "report.resolve",
        report["activity"],
    )
    assert audit.detail == {**(audit.detail or {}), "note": "Links removed, editor informed"}
    # Once only: a second resolution is refused and adds no audit entry.
    await b.api("POST", f"/admin/reports/{report['id']}/resolve", json={"note": "x"}, status=409)
    async with b.node.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 1
    await b.api("POST", "/admin/reports/999999/resolve", json={}, status=404)
    await b.api("GET", "/admin/reports/999999", status=404)
    # A sent report is the receiver's to resolve, not ours.
    (mine,) = await queue(a, "?direction=sent")
    await a.api("POST", f"/admin/reports/{mine['id']}/resolve", json={}, status=422)


async def test_the_queue_needs_an_admin_token(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await reported(a, b)
    (report,) = await queue(b)
    editor = b.editor_token
    await b.api("GET", "/admin/reports", token=editor, status=403)
    await b.api("GET", f"/admin/reports/{report['id']}", token=editor, status=403)
    await b.api("POST", f"/admin/reports/{report['id']}/resolve", json={}, token=editor, status=403)
    async with b.get("/api/cityfed/v1/admin/reports") as resp:
        assert resp.status == 401
    await b.api("GET", "/admin/reports?state=closed", status=422)
    await b.api("GET", "/admin/reports?direction=up", status=422)


async def test_a_flag_naming_nothing_of_ours_is_ignored(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await project_of(b)
    strangers = [a.actor_id, "https://elsewhere.example/users/x", f"{b.base}/projects/unknown"]
    status, _ = await signed_post(a, b, "/inbox", flag_from(a, strangers))
    assert status == 202
    # The instance actor is ours but no city: a report about it names nothing to moderate.
    status, _ = await signed_post(a, b, "/inbox", flag_from(a, [f"{b.base}/actor"]))
    assert status == 202
    await settle(a, b)
    items = await flag_items(b)
    assert [(i.state, (i.error or "").startswith("ignored")) for i in items] == [
        ("done", True),
        ("done", True),
    ]
    assert await report_count(b) == 0


async def test_a_flag_about_a_post_only_reports_its_author(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    project = await project_of(b)
    status, _ = await signed_post(a, b, f"/actors/{b.handle}/inbox", flag_from(a, [project]))
    assert status == 202
    await settle(a, b)
    (report,) = await queue(b)
    assert (report["target_actor"], report["objects"]) == (b.actor_id, [project])
    assert report["origin_domain"] == a.domain


async def test_hostile_html_in_the_reason_is_neutralised(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    hostile = (
        '<p>Bad <b>links</b></p><script>alert(1)</script><img src=x onerror="alert(2)">'
        '&lt;script&gt;alert(3)&lt;/script&gt;<a href="javascript:alert(4)">here</a>'
        "<style>body{}</style>\u202egnp.exe" + "x" * 6000
    )
    status, _ = await signed_post(a, b, "/inbox", flag_from(a, [b.actor_id], hostile))
    assert status == 202
    await settle(a, b)
    (report,) = await queue(b)
    content = report["content"]
    assert content.startswith("Bad links\nhere")
    for bad in ("<", ">", "alert", "script", "onerror", "javascript", "body{", "\u202e"):
        assert bad not in content
    assert len(content) <= flag.MAX_CONTENT and content.endswith("…")


async def test_a_replayed_flag_stores_one_report(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    activity = flag_from(a, [b.actor_id], "twice")
    for path in ("/inbox", "/inbox", f"/actors/{b.handle}/inbox"):
        status, _ = await signed_post(a, b, path, activity)
        assert status == 202
    await settle(a, b)
    assert await report_count(b) == 1
    # Past the inbox's own deduplication (an item pruned, a second worker), the handler still
    # refuses to store the same Flag twice.
    async with b.node.db.transaction() as session:
        sender = await actor_queries.actor_by_ap_id(session, a.actor_id)
        assert sender is not None
        ctx = Context(b.node, session, sender, None, activity, orjson.dumps(activity))
        with pytest.raises(Ignore, match="already"):
            await flag.apply(ctx)
    assert await report_count(b) == 1


async def test_report_refusals(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    token = a.editor_token

    async def refused(body: dict[str, Any], status: int = 422) -> str:
        answer = await a.api("POST", "/reports", json=body, token=token, status=status)
        return answer["error"]

    assert "content" in await refused({"actor": b.account})
    assert "content" in await refused({"actor": b.account, "content": "  "})
    assert "content" in await refused({"actor": b.account, "content": "x" * 2001})
    assert "actor" in await refused({"content": "spam"})
    assert "cannot find" in await refused({"actor": f"nobody@{b.domain}", "content": "spam"})
    assert "cannot find" in await refused({"actor": f"{b.base}/actors/nobody", "content": "x"})
    assert "this node" in await refused({"actor": a.account, "content": "spam"})
    assert "objects" in await refused(
        {"actor": b.account, "content": "spam", "objects": ["https://elsewhere.example/1"]}
    )
    assert "objects" in await refused({"actor": b.account, "content": "spam", "objects": [1]})
    async with a.node.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Report)) == 0
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0
    # Exactly the limit is fine.
    await a.api(
        "POST",
        "/reports",
        json={"actor": b.actor_id, "content": "x" * 2000},
        token=token,
        status=201,
    )


async def test_mastodon_instance_actor_flag_is_accepted(nodes, peers) -> None:
    """Mastodon sends reports from its instance actor, an ``Application`` at /actor."""
    city = await nodes("berlin")
    peer = await peers("mastodon")
    project = await project_of(city)
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.base}/{uuid.uuid4()}",  # Report#uri: the root URL plus a UUID
        "type": "Flag",
        "actor": peer.instance.actor_id,
        "content": "Impersonates the city",
        "object": [city.actor_id, project],
    }
    status = await peer.send(activity, f"{city.base}/inbox", user=peer.instance)
    assert status == 202, peer.sent[-1].answer
    await settle(city)
    (report,) = await queue(city)
    assert report == {
        **report,
        "origin_domain": peer.domain,
        "target_actor": city.actor_id,
        "objects": [project],
        "content": "Impersonates the city",
    }


async def test_a_report_to_mastodon_verifies_as_the_instance_actor(nodes, peers) -> None:
    city = await nodes("berlin")
    peer = await peers("mastodon")
    await city.api("POST", "/reports", json={"actor": peer.account, "content": "spam"}, status=201)
    await settle(city)
    (record,) = peer.requests("Flag")
    assert record.verified and record.signer == f"{city.base}/actor", record.reason
    assert record.path == "/inbox"  # the shared inbox
    assert record.activity["object"] == [peer.actor_id]
    assert city.actor_id.encode() not in record.body
