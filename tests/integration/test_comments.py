"""Comments across three cities: threads, forwarding, verification, moderation, hostile HTML."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from cityfed.models.tables import InboxItem, Object
from tests.rig import TestNode, settle, signed_post


async def three_cities(nodes) -> tuple[TestNode, TestNode, TestNode, str]:
    """A and C follow B; B has published a project. Returns (a, b, c, project id)."""
    a, b, c = await nodes("berlin"), await nodes("hamburg"), await nodes("barcelona")
    for follower in (a, c):
        await follower.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b, c)
    project = await b.api("POST", "/projects", json={"title": "Heat-risk map"}, status=201)
    await settle(a, b, c)
    return a, b, c, project["id"]


async def thread(n: TestNode, object_id: str) -> list[dict]:
    return (await n.api("GET", f"/comments?object={object_id}", status=200))["items"]


async def test_comment_reaches_owner_and_is_forwarded_to_its_followers(nodes) -> None:
    a, b, c, project = await three_cities(nodes)
    created = await a.api(
        "POST",
        "/comments",
        status=201,
        token=a.editor_token,
        json={"in_reply_to": project, "content": "We want this too!"},
    )
    await settle(a, b, c)
    for n in (b, c):
        (entry,) = await thread(n, project)
        assert entry["id"] == created["id"]
        assert "We want this too!" in entry["content"]
        assert entry["author"]["actor"] == a.actor_id
    replies = await b.get_json(f"{project}/replies?page=1")
    assert replies["items"] == [created["id"]]
    # The project as served embeds that first page: a GoToSocial user opening it sees the reply.
    served = await b.get_json(project)
    assert served["replies"]["totalItems"] == 1
    assert served["replies"]["first"]["items"] == [created["id"]]
    # C does not follow A: it got the comment only through B and checked A's proof on it.
    async with c.node.db.session() as session:
        item = await session.scalar(select(InboxItem).where(InboxItem.actor_ap_id == a.actor_id))
    assert item is not None and item.state == "done" and item.verified_by == "proof"
    note = await a.get_json(created["id"])
    assert note["type"] == "Note" and note["inReplyTo"] == project
    assert note["tag"][0]["type"] == "Mention" and note["tag"][0]["href"] == b.actor_id
    assert 'class="u-url mention"' in note["content"]


async def test_comments_link_hashtags_and_carry_their_language_like_posts(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    project = await b.api("POST", "/projects", json={"title": "Heat-risk map"}, status=201)
    created = await a.api(
        "POST",
        "/comments",
        status=201,
        json={
            "in_reply_to": project["id"],
            "content": "Wir testen das mit #Hitze und #klima.",
            "language": "de",
        },
    )
    note = await a.get_json(created["id"])
    assert note["contentMap"] == {"de": note["content"]}
    hashtags = [t for t in note["tag"] if t["type"] == "Hashtag"]
    assert hashtags == [
        {"type": "Hashtag", "href": f"{a.base}/tags/Hitze", "name": "#Hitze"},
        {"type": "Hashtag", "href": f"{a.base}/tags/klima", "name": "#klima"},
    ]
    assert (
        f'<a href="{a.base}/tags/klima" class="mention hashtag" rel="tag">#<span>klima</span></a>'
        in note["content"]
    )
    # A malformed language tag is refused.
    await a.api(
        "POST",
        "/comments",
        status=422,
        json={"in_reply_to": project["id"], "content": "x", "language": "not a tag"},
    )


async def test_replies_to_comments_join_the_thread(nodes) -> None:
    a, b, c, project = await three_cities(nodes)
    first = await a.api(
        "POST",
        "/comments",
        status=201,
        json={"in_reply_to": project, "content": "How much did it cost?"},
    )
    await settle(a, b, c)
    answer = await b.api(
        "POST", "/comments", status=201, json={"in_reply_to": first["id"], "content": "EUR 120k."}
    )
    await settle(a, b, c)
    for n in (b, c):
        assert [e["id"] for e in await thread(n, project)] == [first["id"], answer["id"]]


async def test_edit_and_delete_propagate(nodes) -> None:
    a, b, c, project = await three_cities(nodes)
    created = await a.api(
        "POST", "/comments", status=201, json={"in_reply_to": project, "content": "first version"}
    )
    await settle(a, b, c)
    uid = created["id"].rsplit("/", 1)[-1]
    await a.api("PATCH", f"/comments/{uid}", json={"content": "second version"}, status=200)
    await settle(a, b, c)
    for n in (b, c):
        (entry,) = await thread(n, project)
        assert "second version" in entry["content"]
    await a.api("DELETE", f"/comments/{uid}", status=204)
    await settle(a, b, c)
    for n in (b, c):
        assert await thread(n, project) == []
    await a.get_json(created["id"], status=410)


async def test_forged_forwarded_comment_is_refused(nodes) -> None:
    """B claims to forward A's comment, but A never wrote it: C checks at A and refuses."""
    a, b, c, project = await three_cities(nodes)
    forged_id = f"{a.base}/comments/{uuid.uuid4()}"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{a.base}/activities/{uuid.uuid4()}",
        "type": "Create",
        "actor": a.actor_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": forged_id,
            "type": "Note",
            "attributedTo": a.actor_id,
            "inReplyTo": project,
            "content": "<p>Berlin says: give me money</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    }
    status, _ = await signed_post(b, c, "/inbox", activity)  # signed by B, actor A
    assert status == 202
    await settle(a, b, c)
    assert await thread(c, project) == []
    async with c.node.db.session() as session:
        item = await session.scalar(
            select(InboxItem).where(InboxItem.activity_ap_id == activity["id"])
        )
        assert item.state == "failed" and "forged" in item.error
        assert await session.scalar(select(Object).where(Object.ap_id == forged_id)) is None


async def test_forwarded_follow_is_401(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    follow = {
        "id": f"{a.base}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": a.actor_id,
        "object": b.actor_id,
    }
    c = await nodes("barcelona")
    status, answer = await signed_post(c, b, "/inbox", follow)
    assert status == 401 and "not by the actor" in answer["error"]


async def test_hostile_html_is_neutralised(nodes) -> None:
    a, b, _c, project = await three_cities(nodes)
    note_id = f"{a.base}/comments/{uuid.uuid4()}"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{a.base}/activities/{uuid.uuid4()}",
        "type": "Create",
        "actor": a.actor_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": a.actor_id,
            "inReplyTo": project,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "content": '<p onmouseover="steal()">Hi<script>alert(1)</script>'
            '<a href="javascript:alert(2)">x</a><img src="https://evil.example/t.gif">'
            '<iframe src="https://evil.example"></iframe><b class="evil">bold</b></p>',
        },
    }
    assert (await signed_post(a, b, "/inbox", activity))[0] == 202
    await settle(a, b)
    (entry,) = await thread(b, project)
    html = entry["content"]
    for bad in ("script", "alert", "onmouseover", "javascript:", "<img", "<iframe", "evil"):
        assert bad not in html, bad
    assert "<b>bold</b>" in html and "Hi" in html


async def test_moderation_holds_then_approves_or_removes(nodes) -> None:
    a, b, c, project = await three_cities(nodes)
    await b.api("PUT", "/admin/moderation", json={"moderate_comments": True}, status=200)
    held = await a.api(
        "POST",
        "/comments",
        status=201,
        json={"in_reply_to": project, "content": "Please review me"},
    )
    spam = await a.api(
        "POST", "/comments", status=201, json={"in_reply_to": project, "content": "Buy cheap stuff"}
    )
    await settle(a, b, c)
    assert await thread(b, project) == []
    assert await thread(c, project) == []  # nothing forwarded while held
    queue = (await b.api("GET", "/admin/comments?state=held", status=200))["items"]
    assert {e["id"] for e in queue} == {held["id"], spam["id"]}
    await b.api("GET", "/admin/comments", token=b.editor_token, status=403)
    await b.api("POST", "/admin/comments/approve", json={"id": held["id"]}, status=200)
    await b.api(
        "POST", "/admin/comments/remove", json={"id": spam["id"], "note": "spam"}, status=200
    )
    await settle(a, b, c)
    assert [e["id"] for e in await thread(b, project)] == [held["id"]]
    assert [e["id"] for e in await thread(c, project)] == [held["id"]]
    await b.api("POST", "/admin/comments/approve", json={"id": "https://x.example/n"}, status=404)


async def test_comment_validation(nodes) -> None:
    a = await nodes("berlin")
    await a.api("POST", "/comments", json={"in_reply_to": "https://x.example/1"}, status=422)
    await a.api("POST", "/comments", json={"content": "hi"}, status=422)
    body = await a.api(
        "POST",
        "/comments",
        status=422,
        json={"in_reply_to": f"{a.base}/projects/nope", "content": "hi"},
    )
    assert body["error"].startswith("in_reply_to")
    await a.api("GET", "/comments", status=422)
