"""The moderation queue is one question asked by two faces: the REST API and the staff pages show
the same held comments (none from a blocked domain), and what they show can be approved."""

from __future__ import annotations

from tests.integration import test_staff_auth as shared
from tests.integration.test_comments import thread, three_cities
from tests.rig import settle

fast_hashing, staff = shared.fast_hashing, shared.staff


async def test_staff_and_api_hold_the_same_comments_and_both_hide_blocked_domains(
    nodes, staff
) -> None:
    a, b, c, project = await three_cities(nodes)
    await b.api("PUT", "/admin/moderation", json={"moderate_comments": True}, status=200)
    kept = await a.api(
        "POST", "/comments", status=201, json={"in_reply_to": project, "content": "Hi"}
    )
    hidden = await c.api(
        "POST", "/comments", status=201, json={"in_reply_to": project, "content": "Cheap stuff"}
    )
    await settle(a, b, c)
    admin = await staff(b, "admin")

    def shown_by_staff(text: str) -> set[str]:
        return {i for i in (kept["id"], hidden["id"]) if f'name="id" value="{i}"' in text}

    api_queue = (await b.api("GET", "/admin/comments?state=held"))["items"]
    assert {e["id"] for e in api_queue} == {kept["id"], hidden["id"]}
    assert shown_by_staff((await admin.get("/staff/admin/moderation")).text) == {
        kept["id"],
        hidden["id"],
    }

    # Barcelona's domain gets blocked: its comment leaves both queues at once.
    await b.api("PUT", f"/admin/peers/{c.domain}", json={"policy": "blocked"}, status=200)
    api_queue = (await b.api("GET", "/admin/comments?state=held"))["items"]
    assert [e["id"] for e in api_queue] == [kept["id"]]
    page = await admin.get("/staff/admin/moderation?state=held")
    assert page.status == 200 and shown_by_staff(page.text) == {kept["id"]}

    # What is shown can be approved from the staff page; what is hidden cannot, from either face.
    approved = await admin.post(
        "/staff/admin/moderation/decide", {"id": kept["id"], "decision": "approve"}
    )
    assert approved.location == "/staff/admin/moderation?done=comment_decided"
    refused = await admin.post(
        "/staff/admin/moderation/decide", {"id": hidden["id"], "decision": "approve"}
    )
    assert refused.status == 404
    await b.api("POST", "/admin/comments/approve", json={"id": hidden["id"]}, status=404)
    await settle(a, b, c)
    assert [e["id"] for e in await thread(b, project)] == [kept["id"]]
    published = (await b.api("GET", "/admin/comments?state=published"))["items"]
    assert [e["id"] for e in published] == [kept["id"]]
    assert shown_by_staff((await admin.get("/staff/admin/moderation?state=published")).text) == {
        kept["id"]
    }
