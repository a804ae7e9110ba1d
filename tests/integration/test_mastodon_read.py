"""Mastodon apps read a city anonymously (issue 17.2), checked with the real Mastodon.py (PyPI,
pinned in pyproject.toml) against a running node, and against Mastodon's documented entity shapes.

Mastodon.py is synchronous (requests): its calls run in a thread while the node serves in the
test's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from mastodon import Mastodon

from tests.rig import TestNode, running_node

T = TypeVar("T")

pytestmark = pytest.mark.slow


async def in_thread(call: Callable[[], T]) -> T:
    return await asyncio.to_thread(call)


async def publish(node: TestNode, title: str, *, tags: list[str], **extra: Any) -> dict[str, Any]:
    body = {"title": title, "teaser": f"{title} in short", "phase": "pilot", "tags": tags, **extra}
    return await node.api("POST", "/projects", json=body, status=201)


@pytest.fixture
async def city(tmp_path: Path) -> AsyncIterator[tuple[TestNode, dict[str, Any]]]:
    """A city with three projects (the first featured), one challenge and a comment thread."""
    async with running_node(tmp_path, "berlin") as node:
        first = await publish(node, "Heat map", tags=["Climate", "Maps"], featured=True)
        await publish(node, "Bike lanes", tags=["Mobility"])
        third = await publish(node, "Tree register", tags=["Climate"])
        await node.api(
            "POST",
            "/challenges",
            json={"title": "Cool schools", "teaser": "Heat in classrooms", "phase": "open"},
            status=201,
        )
        comment = await node.api(
            "POST",
            "/comments",
            json={"in_reply_to": third["id"], "content": "Now with 40,000 trees."},
            status=201,
        )
        yield node, {"first": first, "third": third, "comment": comment}


async def test_mastodon_py_reads_a_city(city: tuple[TestNode, dict[str, Any]]) -> None:
    node, made = city
    nodeinfo = await node.get_json("/nodeinfo/2.1", accept="application/json")
    client = Mastodon(api_base_url=node.base)

    # instance() used to end in a RecursionError: Mastodon.py asks for /api/v2/instance/ (with
    # a slash) and, when that fails, recurses through its version check.
    instance = await in_thread(client.instance)
    assert instance.version.startswith("4.3.0")
    assert client.mastodon_api_version == 2
    assert instance.usage.users.active_month == nodeinfo["usage"]["users"]["total"] == 1
    v1 = await in_thread(client.instance_v1)
    assert v1.stats.status_count == nodeinfo["usage"]["localPosts"]
    assert v1.stats.user_count == nodeinfo["usage"]["users"]["total"]
    assert await in_thread(client.custom_emojis) == []
    # Mastodon.py reads configuration.timelines_access (Mastodon 4.5) before timelines and
    # streams, and warns when a feed looks closed.
    for feed in ("public", "hashtag"):
        assert client.timeline_is_available(feed, local=True, fail_hard=True)

    account = await in_thread(lambda: client.account_lookup("berlin"))
    assert account.acct == "berlin" and account.display_name == "City of Berlin"
    assert account.statuses_count == 5  # 3 projects, 1 challenge, 1 comment
    assert (await in_thread(lambda: client.account(account.id))).url == account.url
    same = await in_thread(lambda: client.account_lookup(f"berlin@{node.domain}"))
    assert same.id == account.id

    # Paging: newest first, two at a time, by Link headers, until the end.
    page = await in_thread(lambda: client.account_statuses(account.id, limit=2))
    seen = [status.id for status in page]
    while page:
        page = await in_thread(lambda page=page: client.fetch_next(page))
        seen += [status.id for status in page or []]
    assert len(seen) == 5 and len(set(seen)) == 5
    assert seen == sorted(seen, reverse=True)  # ids sort by time, like Mastodon's snowflakes
    newer = await in_thread(lambda: client.account_statuses(account.id, min_id=seen[3], limit=2))
    assert [status.id for status in newer] == seen[1:3]
    since = await in_thread(lambda: client.account_statuses(account.id, since_id=seen[3]))
    assert [status.id for status in since] == seen[:3]

    pinned = await in_thread(lambda: client.account_statuses(account.id, pinned=True))
    assert [status.uri for status in pinned] == [made["first"]["id"]]
    no_replies = await in_thread(lambda: client.account_statuses(account.id, exclude_replies=True))
    assert len(no_replies) == 4 and all(s.in_reply_to_id is None for s in no_replies)
    assert await in_thread(lambda: client.account_statuses(account.id, only_media=True)) == []

    # A project as a status: the card in content, its tags, language, url, counts.
    third = next(s for s in no_replies if s.uri == made["third"]["id"])
    status = await in_thread(lambda: client.status(third.id))
    assert "Tree register" in status.content and "Phase: pilot" in status.content
    assert [tag.name for tag in status.tags] == ["Climate"]
    assert status.language == "en" and status.url == made["third"]["url"]
    assert status.replies_count == 1 and status.media_attachments == []
    context = await in_thread(lambda: client.status_context(third.id))
    assert context.ancestors == []
    [reply] = context.descendants
    assert "40,000 trees" in reply.content
    assert reply.in_reply_to_id == third.id and reply.in_reply_to_account_id == account.id
    reply_context = await in_thread(lambda: client.status_context(reply.id))
    assert [s.id for s in reply_context.ancestors] == [third.id]

    public = await in_thread(lambda: client.timeline_public(local=True))
    assert len(public) == 4  # projects and challenges; comments are in their threads
    climate = await in_thread(lambda: client.timeline_hashtag("climate"))
    assert {s.uri for s in climate} == {made["first"]["id"], made["third"]["id"]}
    assert await in_thread(lambda: client.timeline_public(remote=True)) == []

    found = await in_thread(lambda: client.search_v2("Bike"))
    assert [s.content.count("Bike lanes") > 0 for s in found.statuses] == [True]
    assert [a.acct for a in (await in_thread(lambda: client.search_v2("berlin"))).accounts] == [
        "berlin"
    ]
    assert [t.name for t in (await in_thread(lambda: client.search_v2("#clim"))).hashtags] == [
        "Climate"
    ]
    trends = await in_thread(client.trending_tags)
    assert trends[0].name == "Climate" and int(trends[0].history[0].uses) == 2


async def test_unknown_ids_and_bad_paging_answer_4xx(city: tuple[TestNode, dict[str, Any]]) -> None:
    node, _ = city
    for path, status in [
        ("/api/v1/statuses/12345", 404),
        ("/api/v1/statuses/not-an-id", 404),
        ("/api/v1/accounts/999", 404),
        ("/api/v1/accounts/lookup?acct=nobody", 404),
        ("/api/v1/accounts/lookup", 400),
        ("/api/v1/timelines/public?max_id=abc", 400),
        ("/api/v1/timelines/public?limit=x", 400),
        ("/api/v1/no/such/endpoint", 404),
    ]:
        async with node.get(path) as resp:
            assert resp.status == status, path
            assert "error" in await resp.json()
            assert resp.headers["Access-Control-Allow-Origin"] == "*"


# --- entities against Mastodon's documented shapes (docs.joinmastodon.org/entities/) ------------

STR, INT, BOOL, LIST, DICT, NONE = str, int, bool, list, dict, type(None)
# attribute -> the types the documentation allows (nullable ones include None)
REQUIRED: dict[str, dict[str, tuple[type, ...]]] = {
    "Account": {
        "id": (STR,),
        "username": (STR,),
        "acct": (STR,),
        "url": (STR,),
        "display_name": (STR,),
        "note": (STR,),
        "avatar": (STR,),
        "avatar_static": (STR,),
        "header": (STR,),
        "header_static": (STR,),
        "locked": (BOOL,),
        "fields": (LIST,),
        "emojis": (LIST,),
        "bot": (BOOL,),
        "group": (BOOL,),
        "discoverable": (BOOL, NONE),
        "created_at": (STR,),
        "last_status_at": (STR, NONE),
        "statuses_count": (INT,),
        "followers_count": (INT,),
        "following_count": (INT,),
    },
    "Status": {
        "id": (STR,),
        "uri": (STR,),
        "created_at": (STR,),
        "account": (DICT,),
        "content": (STR,),
        "visibility": (STR,),
        "sensitive": (BOOL,),
        "spoiler_text": (STR,),
        "media_attachments": (LIST,),
        "mentions": (LIST,),
        "tags": (LIST,),
        "emojis": (LIST,),
        "reblogs_count": (INT,),
        "favourites_count": (INT,),
        "replies_count": (INT,),
        "url": (STR, NONE),
        "in_reply_to_id": (STR, NONE),
        "in_reply_to_account_id": (STR, NONE),
        "reblog": (DICT, NONE),
        "poll": (DICT, NONE),
        "card": (DICT, NONE),
        "language": (STR, NONE),
        "text": (STR, NONE),
        "edited_at": (STR, NONE),
    },
    "Tag": {"name": (STR,), "url": (STR,), "history": (LIST,)},
    "Instance": {
        "domain": (STR,),
        "title": (STR,),
        "version": (STR,),
        "source_url": (STR,),
        "description": (STR,),
        "usage": (DICT,),
        "thumbnail": (DICT,),
        "languages": (LIST,),
        "configuration": (DICT,),
        "registrations": (DICT,),
        "contact": (DICT,),
        "rules": (LIST,),
    },
    "V1::Instance": {
        "uri": (STR,),
        "title": (STR,),
        "short_description": (STR,),
        "description": (STR,),
        "email": (STR,),
        "version": (STR,),
        "urls": (DICT,),
        "stats": (DICT,),
        "thumbnail": (STR, NONE),
        "languages": (LIST,),
        "registrations": (BOOL,),
        "approval_required": (BOOL,),
        "invites_enabled": (BOOL,),
        "configuration": (DICT,),
        "contact_account": (DICT, NONE),
        "rules": (LIST,),
    },
    "Context": {"ancestors": (LIST,), "descendants": (LIST,)},
    "Search": {"accounts": (LIST,), "statuses": (LIST,), "hashtags": (LIST,)},
}


def check(entity: str, doc: Any) -> None:
    assert isinstance(doc, dict), (entity, doc)
    for attribute, types in REQUIRED[entity].items():
        assert attribute in doc, f"{entity}.{attribute} missing"
        # bool is an int in Python: an integer attribute must not be a bool, nor the reverse.
        value = doc[attribute]
        ok = isinstance(value, types) and not (isinstance(value, bool) and BOOL not in types)
        assert ok, f"{entity}.{attribute}: {value!r} is not {types}"
    if entity == "Status":
        check("Account", doc["account"])
        for tag in doc["tags"]:
            check("Tag", tag)
        assert doc["id"].isdigit()


async def test_entities_have_mastodons_required_attributes(
    city: tuple[TestNode, dict[str, Any]],
) -> None:
    node, made = city

    async def get(path: str) -> Any:
        return await node.get_json(path, accept="application/json")

    check("Instance", await get("/api/v2/instance"))
    v1 = await get("/api/v1/instance")
    check("V1::Instance", v1)
    check("Account", v1["contact_account"])
    account = await get("/api/v1/accounts/lookup?acct=berlin")
    check("Account", account)
    statuses = await get(f"/api/v1/accounts/{account['id']}/statuses")
    for status in statuses:
        check("Status", status)
    context = await get(f"/api/v1/statuses/{statuses[0]['id']}/context")
    check("Context", context)
    for status in context["ancestors"] + context["descendants"]:
        check("Status", status)
    search = await get("/api/v2/search?q=clim")
    check("Search", search)
    for tag in search["hashtags"] + await get("/api/v1/trends/tags"):
        check("Tag", tag)
        for day in tag["history"]:
            assert {type(day[k]) for k in ("day", "uses", "accounts")} == {str}
    assert made  # the fixture's objects are what was checked
