"""A staff member works from a real Mastodon client library (issue 17.6): Mastodon.py, pinned in
the test extras, registers an app, is sent through our sign-in and consent pages (driven here by
an HTTP client, as a person's browser would), logs in with the out-of-band code, and then
follows a partner city, reads the partner timeline, replies, favourites and boosts, takes them
back, and reads notifications and markers. The partner, a real node on loopback, receives each
activity.

Mastodon.py is synchronous (requests); it runs in a thread so the nodes keep serving.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import select

from cityfed.actions import follows as follow_actions
from cityfed.actions import reactions as reaction_actions
from cityfed.models import objects as object_queries
from cityfed.models.reactions import ReactionKind
from cityfed.models.tables import Follow, Object, Reaction
from tests.integration import test_staff_auth as shared
from tests.integration.test_projects import HEAT_MAP
from tests.rig import TestNode, local_actor_row, settle

mastodon = pytest.importorskip("mastodon")

fast_hashing, staff = shared.fast_hashing, shared.staff

SCOPES = ["read", "write", "follow"]
OOB = "urn:ietf:wg:oauth:2.0:oob"
_CODE = re.compile(r'<code class="secret">([^<]+)</code>')


async def sign_in_with_mastodon_py(node: TestNode, client: Any) -> Any:
    """The scripted OAuth flow: create_app, auth_request_url, our pages, log_in."""
    Mastodon = mastodon.Mastodon

    def register() -> tuple[str, str]:
        return Mastodon.create_app(
            "cityfed test", scopes=SCOPES, redirect_uris=OOB, api_base_url=node.base
        )

    client_id, client_secret = await asyncio.to_thread(register)
    api = Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=node.base,
        # The version Mastodon.py would otherwise read from /api/v1/instance (the anonymous
        # reading face, tested with Mastodon.py on its own): this test is about signing in.
        mastodon_version="4.3.0",
        version_check_mode="none",
        ratelimit_method="throw",
    )
    url = await asyncio.to_thread(
        api.auth_request_url, redirect_uris=OOB, scopes=SCOPES, state="s1", allow_http=True
    )
    assert url.startswith(node.base + "/oauth/authorize?")
    path = url.removeprefix(node.base)
    # Our sign-in session is there already (the staff fixture signed in); /oauth/authorize
    # hands over to the consent page.
    async with client.http.get(node.url(path), allow_redirects=False) as resp:
        assert resp.status == 303
        consent = resp.headers["Location"]
    page = await client.get(consent)
    assert page.status == 200 and "cityfed test" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    fields["decision"] = "allow"
    answer = await client.post("/staff/oauth/authorize", fields)
    assert answer.status == 200, answer.text
    code = _CODE.search(answer.text)
    assert code is not None, answer.text
    await asyncio.to_thread(
        api.log_in, code=code.group(1), redirect_uri=OOB, scopes=SCOPES, allow_http=True
    )
    return api


async def test_staff_reply_favourite_boost_and_follow_from_mastodon_py(nodes, staff) -> None:
    berlin, hamburg = await nodes("berlin"), await nodes("hamburg")
    editor = await staff(berlin, "editor")
    api = await sign_in_with_mastodon_py(berlin, editor)
    me = await asyncio.to_thread(api.account_verify_credentials)
    assert me["username"] == berlin.handle and me["source"]["privacy"] == "public"

    # Follow Hamburg (known to Berlin once resolved), from the app; Hamburg accepts.
    hamburg_actor = await follow_actions.resolve_target(berlin.node, hamburg.account)
    relationship = await asyncio.to_thread(api.account_follow, hamburg_actor.id)
    assert relationship["requested"] or relationship["following"]
    await settle(berlin, hamburg)
    [relationship] = await asyncio.to_thread(api.account_relationships, [hamburg_actor.id])
    assert relationship["following"] is True
    hamburg_city = await local_actor_row(hamburg)
    async with hamburg.node.db.session() as session:
        follows = list(
            await session.scalars(select(Follow).where(Follow.followee_id == hamburg_city.id))
        )
    assert [f.state for f in follows] == ["accepted"]

    # Hamburg publishes; it reaches Berlin's home timeline.
    created = await hamburg.api("POST", "/projects", json=HEAT_MAP, status=201)
    await settle(berlin, hamburg)
    timeline = await asyncio.to_thread(api.timeline_home)
    [status] = [s for s in timeline if s["uri"] == created["id"]]
    assert status["favourited"] is False and status["account"]["acct"] == hamburg.account

    # A reply: a comment that Hamburg stores in the project's thread.
    reply = await asyncio.to_thread(api.status_reply, status, "Could we reuse your sensors?")
    assert reply["in_reply_to_id"] == status["id"]
    # A favourite and a boost: Like and Announce, signed, at Hamburg.
    liked = await asyncio.to_thread(api.status_favourite, status["id"])
    assert liked["favourited"] is True and liked["favourites_count"] == 1
    boosted = await asyncio.to_thread(api.status_reblog, status["id"])
    assert boosted["reblog"]["reblogged"] is True
    await settle(berlin, hamburg)
    async with hamburg.node.db.session() as session:
        project = await object_queries.by_ap_id(session, created["id"])
        assert project is not None
        comments = list(
            await session.scalars(select(Object).where(Object.in_reply_to == created["id"]))
        )
        reactions = sorted(
            r.kind
            for r in await session.scalars(select(Reaction).where(Reaction.object_id == project.id))
        )
    assert len(comments) == 1 and "reuse your sensors" in comments[0].document["content"]
    assert reactions == ["announce", "like"]

    # Taken back: Undo reaches Hamburg too.
    await asyncio.to_thread(api.status_unfavourite, status["id"])
    await asyncio.to_thread(api.status_unreblog, status["id"])
    await settle(berlin, hamburg)
    async with hamburg.node.db.session() as session:
        assert (
            list(await session.scalars(select(Reaction).where(Reaction.object_id == project.id)))
            == []
        )

    # Hamburg follows Berlin back, then comments on, likes and adopts Berlin's new project:
    # follow, mention, favourite, and the adoption as a mention with its cityfed detail.
    await hamburg.api("POST", "/follows", json={"account": berlin.account}, status=201)
    await settle(berlin, hamburg)
    ours = await berlin.api(
        "POST", "/projects", json={**HEAT_MAP, "title": "Cool roofs"}, status=201
    )
    await settle(berlin, hamburg)
    await hamburg.api(
        "POST", "/comments", json={"in_reply_to": ours["id"], "content": "Nice!"}, status=201
    )
    await reaction_actions.react(hamburg.node, hamburg_city, ReactionKind.LIKE, ours["id"])
    await hamburg.api("POST", "/adoptions", json={"project": ours["id"]}, status=201)
    await settle(berlin, hamburg)
    notes = await asyncio.to_thread(api.notifications)
    by_type: dict[str, list[Any]] = {}
    for note in notes:
        by_type.setdefault(note["type"], []).append(note)
    assert set(by_type) == {"follow", "mention", "favourite"}, [n["type"] for n in notes]
    assert all(n["account"]["acct"] == hamburg.account for n in notes)
    [comment, adoption] = sorted(by_type["mention"], key=lambda n: "cityfed" in n)
    assert "Nice!" in comment["status"]["content"]
    assert comment["status"]["in_reply_to_id"] is not None
    assert adoption["cityfed"]["type"] == "adoption"
    assert adoption["cityfed"]["project"] == ours["id"]
    assert "adopts your project" in adoption["status"]["content"]
    assert by_type["favourite"][0]["status"]["uri"] == ours["id"]
    # Paging: the oldest notification alone, then nothing older.
    newest_first = [n["id"] for n in notes]
    assert newest_first == sorted(newest_first, key=int, reverse=True)
    older = await asyncio.to_thread(api.notifications, max_id=newest_first[-2], limit=5)
    assert [n["id"] for n in older] == newest_first[-1:]

    # Markers keep where the app stopped reading.
    await asyncio.to_thread(api.markers_set, ["home"], [status["id"]])
    markers = await asyncio.to_thread(api.markers_get, ["home"])
    assert markers["home"]["last_read_id"] == status["id"]

    # Unfollow from the app: Hamburg gets the Undo.
    await asyncio.to_thread(api.account_unfollow, hamburg_actor.id)
    await settle(berlin, hamburg)
    async with hamburg.node.db.session() as session:
        assert (
            list(await session.scalars(select(Follow).where(Follow.followee_id == hamburg_city.id)))
            == []
        )
