"""Our nodes against independent fakes of Mastodon, GoToSocial and Misskey (tests/fakes/peer.py).

The fakes sign, verify, shape and parse the way those servers do on the wire, so a test here
passing means a real server of that kind would have federated with us in the same exchange.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
import pytest
from sqlalchemy import select

from cityfed.actions.setup import SetupError
from cityfed.models import actors as actor_queries
from cityfed.models.tables import InboxItem
from tests.fakes.peer import FLAVORS, FakePeer, MastodonPeer, running_peer
from tests.rig import TestNode, inbox_count, settle

StartPeer = Callable[..., Awaitable[FakePeer]]


@pytest.fixture
async def peers() -> AsyncIterator[StartPeer]:
    """``await peers("mastodon")`` starts a fake server; all are stopped when the test ends."""
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())

        async def start(flavor: str, **kwargs: Any) -> FakePeer:
            return await stack.enter_async_context(running_peer(flavor, http=http, **kwargs))

        yield start


async def followed_by(city: TestNode, peer: FakePeer) -> dict[str, Any]:
    """The peer's user searches the city, follows it, and gets the city's Accept."""
    actor = await peer.lookup(f"@{city.account}")
    assert actor["id"] == city.actor_id
    follow = await peer.follow(city.actor_id)
    await settle(city)
    assert peer.user.following[city.actor_id]["state"] == "accepted", peer.inbox_log
    return follow


async def follower_ids(city: TestNode, peer: FakePeer) -> list[str]:
    """The city's followers collection, read by the peer with its signed GETs (which also
    passes a node in authorized-fetch mode)."""
    collection = await peer.fetch(f"{city.actor_id}/followers")
    page = await peer.fetch(collection["first"])
    assert page["totalItems"] == collection["totalItems"] == len(page["orderedItems"])
    return page["orderedItems"]


def path_of(url: str) -> str:
    return urlsplit(url).path


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize("authorized_fetch", [False, True], ids=["open", "authorized-fetch"])
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_peer_follows_city_and_city_follows_back(
    nodes, peers, flavor: str, authorized_fetch: bool
) -> None:
    # In authorized-fetch mode both sides refuse unsigned reads (GoToSocial always does).
    city = await nodes("berlin", authorized_fetch=authorized_fetch)
    peer = await peers(flavor, authorized_fetch=authorized_fetch)

    follow = await followed_by(city, peer)
    (record,) = peer.requests("Accept")
    accept = record.activity
    # Mastodon finds the FollowRequest by the Accept's object id: it must be its own Follow's.
    assert accept["object"]["id"] == follow["id"]
    assert accept["actor"] == city.actor_id
    assert record.verified and record.signer == city.actor_id, record.reason
    assert record.content_type == "application/activity+json"
    assert record.path == path_of(peer.user.inbox)  # a Follow's answer goes to the personal inbox
    assert await follower_ids(city, peer) == [peer.actor_id]
    (follower,) = (await city.api("GET", "/followers", status=200))["items"]
    assert follower == {**follower, "account": peer.account, "state": "accepted"}

    # The city follows back: cityfed resolves the account (WebFinger + a signed fetch the peer
    # accepts) and its Follow arrives signed and verifiable.
    await city.api("POST", "/follows", json={"account": peer.account}, status=201)
    await settle(city)
    (record,) = peer.requests("Follow")
    assert record.verified, record.reason
    assert record.status == 202
    assert record.content_type == "application/activity+json"
    assert {"(request-target)", "host", "date", "digest"} <= set(record.signed_headers)
    assert record.activity["object"] == peer.actor_id
    assert city.actor_id in peer.user.followers
    assert await peer.deliver_pending() == [202]  # the peer's Accept
    await settle(city)
    (followed,) = (await city.api("GET", "/follows", status=200))["items"]
    assert followed == {**followed, "actor": peer.actor_id, "state": "accepted"}
    # Every fetch cityfed made of the peer's documents was signed and verified by it.
    assert peer.get_log and all(r.verified for r in peer.get_log), [
        (r.path, r.reason) for r in peer.get_log if not r.verified
    ]


@pytest.mark.parametrize("flavor", ["mastodon", "misskey"])
async def test_publishing_reaches_the_peer_shared_inbox_once(nodes, peers, flavor: str) -> None:
    city = await nodes("berlin")
    peer = await peers(flavor)
    second = peer.add_user("bob")
    await followed_by(city, peer)
    await peer.follow(city.actor_id, user=second)
    await settle(city)
    assert len(await follower_ids(city, peer)) == 2

    project = await city.api(
        "POST", "/projects", json={"title": "Heat-risk map", "teaser": "Hot streets."}, status=201
    )
    await settle(city)
    (record,) = peer.requests("Create")  # one copy for the host, not one per follower
    assert record.path == "/inbox"
    assert record.verified and record.signer == city.actor_id, record.reason
    create = record.activity
    assert create["object"]["id"] == project["id"]
    # What Mastodon needs to show it: a Note it can read, public, from its author, no CW.
    note = create["object"]
    types = note["type"] if isinstance(note["type"], list) else [note["type"]]
    assert types[0] == "Note"
    assert note["attributedTo"] == create["actor"] == city.actor_id
    assert "https://www.w3.org/ns/activitystreams#Public" in create["to"]
    assert isinstance(note.get("content"), str) and note["content"]
    assert not note.get("summary")

    # An edit arrives as an Update of the same object with a newer ``updated`` (Mastodon ignores
    # an edit that is not newer), a deletion as a Delete of its id; both once, to /inbox.
    uid = project["id"].rsplit("/", 1)[1]
    await city.api("PATCH", f"/projects/{uid}", json={"title": "Heat map"}, status=200)
    await city.api("DELETE", f"/projects/{uid}", status=204)
    await settle(city)
    (update,) = peer.requests("Update")
    (delete,) = peer.requests("Delete")
    for record in (update, delete):
        assert record.path == "/inbox" and record.verified, record.reason
    edited = update.activity["object"]
    assert edited["id"] == project["id"] and edited["cf:title"] == "Heat map"
    # GoToSocial shows a Note's summary, else its name, as a content warning.
    assert "name" not in edited and "summary" not in edited
    assert parse_time(edited["updated"]) > parse_time(edited["published"])
    assert delete.activity["object"]["id"] == project["id"]


async def test_gotosocial_key_stub_is_followed_to_its_owner(nodes, peers) -> None:
    city = await nodes("berlin")
    peer = await peers("gotosocial")
    await followed_by(city, peer)
    # cityfed read the key at .../main-key (the stub without an inbox), then its owner.
    paths = [r.path for r in peer.get_log]
    key_path, actor_path = path_of(peer.key_id), path_of(peer.actor_id)
    assert key_path in paths and actor_path in paths
    assert paths.index(key_path) < paths.index(actor_path)
    assert all(r.status == 200 and r.verified for r in peer.get_log)
    (record,) = peer.requests("Accept")
    assert record.path == path_of(peer.user.inbox)  # GoToSocial has no shared inbox


async def test_misskey_get_signed_without_its_query_passes_authorized_fetch(nodes, peers) -> None:
    city = await nodes("berlin", authorized_fetch=True)
    misskey = await peers("misskey")
    await followed_by(city, misskey)
    # Misskey signs ``(request-target): get /actors/berlin/followers``, without ``?page=1``.
    page = await misskey.fetch(f"{city.actor_id}/followers?page=1")
    assert page["orderedItems"] == [misskey.actor_id]
    assert misskey.sent[-1].signed_headers == ("(request-target)", "date", "host", "accept")
    # Mastodon signs the full path with the query: accepted too.
    mastodon = await peers("mastodon")
    page = await mastodon.fetch(f"{city.actor_id}/followers?page=1")
    assert page["orderedItems"] == [misskey.actor_id]
    # Unsigned: refused.
    async with city.get(
        f"/actors/{city.handle}/followers?page=1",
        headers={"Accept": "application/activity+json"},
    ) as resp:
        assert resp.status == 401


async def test_misskey_post_header_order_is_accepted(nodes, peers) -> None:
    city = await nodes("berlin")
    misskey = await peers("misskey")
    await followed_by(city, misskey)
    post = next(s for s in misskey.sent if s.method == "POST")
    assert post.signed_headers == ("(request-target)", "date", "host", "digest")
    async with city.node.db.session() as session:
        (item,) = (await session.scalars(select(InboxItem))).all()
    assert post.body is not None and item.activity_ap_id == orjson.loads(post.body)["id"]
    assert item.verified_by == "http-signature" and item.signer_key_id == misskey.key_id


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_undo_follow_removes_the_follower(nodes, peers, flavor: str) -> None:
    city = await nodes("berlin")
    peer = await peers(flavor)
    await followed_by(city, peer)
    assert await follower_ids(city, peer) == [peer.actor_id]
    await peer.undo_follow(city.actor_id)
    await settle(city)
    assert await follower_ids(city, peer) == []
    assert (await city.api("GET", "/followers", status=200))["items"] == []
    # Following again is a new Follow with a new id, and the new Accept must name that one.
    again = await peer.follow(city.actor_id)
    await settle(city)
    assert peer.received("Accept")[-1]["object"]["id"] == again["id"]
    assert await follower_ids(city, peer) == [peer.actor_id]


async def test_mastodon_new_header_order_is_accepted(nodes, peers) -> None:
    """Mastodon 4.4's HttpSignatureDraft merges (request-target) in last."""
    city = await nodes("berlin")
    peer = await peers("mastodon")
    assert isinstance(peer, MastodonPeer)
    peer.request_target_last = True
    await followed_by(city, peer)
    post = next(s for s in peer.sent if s.method == "POST")
    assert post.signed_headers == ("host", "date", "digest", "content-type", "(request-target)")


async def test_mastodon_profile_update_and_key_rotation(nodes, peers) -> None:
    city = await nodes("berlin")
    peer = await peers("mastodon")
    assert isinstance(peer, MastodonPeer)
    await followed_by(city, peer)

    update = peer.update_profile(name="Alice Liddell", summary="<p>Down the rabbit hole</p>")
    assert await peer.send(update) == 202
    await settle(city)
    (follower,) = (await city.api("GET", "/followers", status=200))["items"]
    assert follower["name"] == "Alice Liddell"

    # Mastodon keeps the key id (#main-key), serves a new PEM and signs the Update with it.
    peer.rotate_key()
    update = peer.update_profile(name="Alice L.")
    assert await peer.send(update) == 202, peer.sent[-1].answer
    await settle(city)
    (follower,) = (await city.api("GET", "/followers", status=200))["items"]
    assert follower["name"] == "Alice L."
    # Later activities signed with the new key verify without another refetch of the key.
    fetches_before = len(peer.get_log)
    await peer.undo_follow(city.actor_id)
    assert peer.sent[-1].status == 202
    assert len(peer.get_log) == fetches_before
    await settle(city)
    assert await follower_ids(city, peer) == []


async def test_city_key_rotation_keeps_its_mastodon_followers(nodes, peers) -> None:
    """Mastodon keeps one key per account (the first ``publicKey``): the Update announcing the
    rotation must verify with the old key, and teach it the new one."""
    city = await nodes("berlin")
    peer = await peers("mastodon")
    await followed_by(city, peer)
    rotated = await city.api("POST", "/admin/keys/rotate", json={}, status=200)
    await settle(city)
    (update,) = peer.requests("Update")
    assert update.verified and update.key_id == rotated["old"], update.reason
    assert update.activity["object"]["publicKey"]
    fetches = len([s for s in peer.sent if s.url == city.actor_id])
    await city.api("POST", "/projects", json={"title": "Heat-risk map"}, status=201)
    await settle(city)
    (create,) = peer.requests("Create")
    assert create.verified and create.key_id == rotated["new"], create.reason
    # Known from the Update already: no refetch of the actor was needed.
    assert len([s for s in peer.sent if s.url == city.actor_id]) == fetches


async def test_mastodon_delete_of_unknown_gone_actor_is_quiet(nodes, peers) -> None:
    city = await nodes("berlin")
    peer = await peers("mastodon")
    assert isinstance(peer, MastodonPeer)
    await peer.lookup(f"@{city.account}")  # the peer knows the city; the city never saw alice
    delete = peer.delete_account()
    assert await peer.send(delete) == 202, peer.sent[-1].answer
    # The city tried the key (it now answers 410), and dropped the Delete without storing it.
    assert any(r.path == path_of(peer.actor_id) and r.status == 410 for r in peer.get_log)
    assert await inbox_count(city) == 0
    async with city.node.db.session() as session:
        assert await actor_queries.actor_by_ap_id(session, peer.actor_id) is None


async def test_city_documents_pass_a_strict_mastodon_reading(nodes, peers) -> None:
    city = await nodes("berlin")
    peer = await peers("mastodon")
    assert isinstance(peer, MastodonPeer)
    # lookup() raises with every problem ProcessAccountService would have: context, type,
    # username, inbox/outbox/followers URLs on the actor's host, publicKey.owner == id, an RSA
    # PEM, booleans, and the WebFinger round trip from preferredUsername@host.
    actor = await peer.lookup(f"@{city.account}")
    assert actor["preferredUsername"] == city.handle
    assert actor["publicKey"]["owner"] == actor["id"] == city.actor_id
    assert actor["endpoints"]["sharedInbox"] == f"{city.base}/inbox"
    await peer.follow(city.actor_id)
    await settle(city)
    assert await peer.collection_items(actor["followers"]) == [peer.actor_id]
    assert await peer.collection_items(actor["following"]) == []
    project = await city.api(
        "POST", "/projects", json={"title": "Heat-risk map", "featured": True}, status=201
    )
    (created,) = await peer.collection_items(actor["outbox"])
    assert created["type"] == "Create" and created["object"]["id"] == project["id"]
    # Mastodon shows featured items as pinned posts: each must read as a Note by the actor.
    (pinned,) = await peer.collection_items(actor["featured"])
    embedded = isinstance(pinned, dict)
    pinned = pinned if embedded else await peer.fetch(pinned)
    assert pinned["attributedTo"] == city.actor_id
    assert peer.strict_note_problems(pinned, embedded=embedded) == []
    info = await peer.fetch_nodeinfo(city.domain)
    assert info["software"]["name"] == "cityfed"


async def test_mastodon_reply_reaches_the_city_inbox(nodes, peers) -> None:
    city = await nodes("berlin")
    peer = await peers("mastodon")
    assert isinstance(peer, MastodonPeer)
    await followed_by(city, peer)
    project = await city.api("POST", "/projects", json={"title": "Heat-risk map"}, status=201)
    await settle(city)
    create = await peer.reply(project["id"], "Could we reuse this?")
    assert create["object"]["tag"][0]["href"] == city.actor_id  # the parent's author
    assert peer.sent[-1].url == f"{city.base}/inbox"
    await settle(city)
    async with city.node.db.session() as session:
        item = await session.scalar(
            select(InboxItem).where(InboxItem.activity_ap_id == create["id"])
        )
    assert item is not None and item.verified_by == "http-signature"
    assert item.state == "done", item.error
    # It joined the project's thread, with its author known by their Mastodon handle.
    thread = await city.api("GET", f"/comments?object={project['id']}", status=200)
    (comment,) = thread["items"]
    assert comment["id"] == create["object"]["id"]
    assert comment["author"]["account"] == peer.account


async def test_mastodon_follower_deleting_itself_is_removed(nodes, peers) -> None:
    city = await nodes("berlin")
    peer = await peers("mastodon")
    assert isinstance(peer, MastodonPeer)
    await followed_by(city, peer)
    # The key is gone from the web now, but the city has it on file and can verify.
    assert await peer.send(peer.delete_account()) == 202, peer.sent[-1].answer
    await settle(city)
    assert (await city.api("GET", "/followers", status=200))["items"] == []


async def test_city_objects_and_pages_read_as_mastodon_expects(nodes, peers) -> None:
    city = await nodes("berlin")
    peer = await peers("mastodon")
    assert isinstance(peer, MastodonPeer)
    project = await city.api(
        "POST", "/projects", json={"title": "Heat-risk map", "teaser": "Hot streets."}, status=201
    )
    # Pasting the project's URL into Mastodon's search.
    note = await peer.resolve_url(project["url"])
    assert note["id"] == project["id"]
    assert peer.strict_note_problems(note) == []
    assert await peer.collection_items(note["replies"]) == []
    # Pasting the city's profile page: redirected (and re-signed) to the actor.
    actor = await peer.resolve_url(f"{city.base}/@{city.handle}")
    assert actor["id"] == city.actor_id
    assert peer.strict_actor_problems(actor) == []


async def test_mastodon_search_ignores_case_and_odd_handles_are_refused(nodes, peers) -> None:
    """Mastodon WebFingers what the user typed (``@Berlin@...``) and only takes remote
    usernames matching ``Account::USERNAME_RE``: no trailing '.' or '-'."""
    city = await nodes("berlin")
    peer = await peers("mastodon")
    assert (await peer.lookup(f"@Berlin@{city.domain}"))["id"] == city.actor_id
    mitte = await nodes("mitte", handle="berlin-mitte.1")
    assert (await peer.lookup(f"@{mitte.account}"))["id"] == mitte.actor_id
    with pytest.raises(SetupError):
        await nodes("kreuzberg", handle="kreuzberg-")


async def test_long_project_reaches_misskey(nodes, peers) -> None:
    city = await nodes("berlin")
    peer = await peers("misskey")
    await followed_by(city, peer)
    description = ("Sensors on every lamp post tell us where the heat builds up. " * 1200)[:70_000]
    await city.api(
        "POST", "/projects", json={"title": "Heat map", "description": description}, status=201
    )
    await settle(city)
    assert [r.status for r in peer.requests("Create")] == [202]


async def test_mastodon_host_header_without_port(nodes, peers) -> None:
    """Real Mastodon delivering to a node on a non-default port signs ``host: 127.0.0.1``."""
    city = await nodes("berlin")
    peer = await peers("mastodon")
    assert isinstance(peer, MastodonPeer)
    peer.drop_port_from_host = True
    await peer.lookup(f"@{city.account}")
    await peer.follow(city.actor_id)
