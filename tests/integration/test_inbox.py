"""The inbox from outside: every bad input gets its status and stores nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from cityfed.activitypub import cavage
from tests.rig import TestNode, inbox_count, settle, signed_post


def follow_of(a: TestNode, b: TestNode, **extra: object) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{a.base}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": a.actor_id,
        "object": b.actor_id,
        **extra,
    }


@pytest.fixture
async def pair(nodes) -> tuple[TestNode, TestNode]:
    return await nodes("berlin"), await nodes("hamburg")


async def test_signed_activity_is_stored_and_replay_is_quiet(pair) -> None:
    a, b = pair
    activity = follow_of(a, b)
    for _ in range(2):
        status, _ = await signed_post(a, b, "/inbox", activity)
        assert status == 202
    assert await inbox_count(b) == 1
    status, _ = await signed_post(a, b, f"/actors/{b.handle}/inbox", activity)
    assert status == 202
    assert await inbox_count(b) == 1
    await settle(a, b)
    assert ((await b.api("GET", "/followers"))["items"])[0]["actor"] == a.actor_id


async def test_unsigned_post_is_401_with_reason(pair) -> None:
    a, b = pair
    async with a.http.post(
        b.url("/inbox"),
        data=orjson.dumps(follow_of(a, b)),
        headers={"Content-Type": "application/activity+json"},
    ) as resp:
        assert resp.status == 401
        assert "not signed" in (await resp.json())["error"]
    assert await inbox_count(b) == 0


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"type": "Follow"}', 400, "id"),
    ],
)
async def test_malformed_activity_is_400(pair, body: bytes, status: int, reason: str) -> None:
    a, b = pair
    got, answer = await signed_post(a, b, "/inbox", body)
    assert got == status and reason in answer["error"]
    assert await inbox_count(b) == 0


async def test_missing_fields_are_400(pair) -> None:
    a, b = pair
    for drop in ("type", "actor"):
        activity = follow_of(a, b)
        del activity[drop]
        status, answer = await signed_post(a, b, "/inbox", activity)
        assert status == 400 and drop in answer["error"]
    for elsewhere in (
        "https://elsewhere.example/activities/1",
        # Starts like the actor's origin but is another host (or no valid URL at all).
        a.base + ".evil.example/activities/1",
        a.base + "@evil.example/activities/1",
    ):
        activity = follow_of(a, b, id=elsewhere)
        status, answer = await signed_post(a, b, "/inbox", activity)
        assert status == 400, elsewhere
        assert "host" in answer["error"] or "http(s) id" in answer["error"], elsewhere
    for not_http in ("urn:uuid:0d6f0f7e-0000-4000-8000-000000000001", "", 7):
        status, answer = await signed_post(a, b, "/inbox", follow_of(a, b, id=not_http))
        assert status == 400 and "id" in answer["error"], not_http
    assert await inbox_count(b) == 0


async def test_activity_id_with_the_actors_host_spelled_otherwise_is_accepted(pair) -> None:
    a, b = pair
    scheme, rest = a.base.split("://")
    activity = follow_of(a, b, id=f"{scheme.upper()}://{rest.upper()}/activities/{uuid.uuid4()}")
    status, _ = await signed_post(a, b, "/inbox", activity)
    assert status == 202
    assert await inbox_count(b) == 1


async def test_wrong_content_type_is_415(pair) -> None:
    a, b = pair
    status, _answer = await signed_post(
        a, b, "/inbox", follow_of(a, b), headers={"Content-Type": "text/plain"}
    )
    assert status == 415
    assert await inbox_count(b) == 0


async def test_oversized_body_is_413(pair) -> None:
    a, b = pair
    activity = follow_of(a, b, content="x" * (1024 * 1024 + 10))
    status, _ = await signed_post(a, b, "/inbox", activity)
    assert status == 413
    assert await inbox_count(b) == 0


async def test_stale_date_is_401(pair) -> None:
    a, b = pair
    old = datetime.now(UTC) - timedelta(hours=2)
    status, answer = await signed_post(a, b, "/inbox", follow_of(a, b), now=old)
    assert status == 401 and "time" in answer["error"]
    future = datetime.now(UTC) + timedelta(hours=2)
    status, _ = await signed_post(a, b, "/inbox", follow_of(a, b), now=future)
    assert status == 401
    assert await inbox_count(b) == 0


async def test_digest_mismatch_is_401(pair) -> None:
    a, b = pair
    status, answer = await signed_post(
        a, b, "/inbox", follow_of(a, b), headers={"Digest": "SHA-256=" + "A" * 43 + "="}
    )
    assert status == 401 and "digest" in answer["error"].lower()
    assert await inbox_count(b) == 0


async def test_body_swapped_after_signing_is_401(pair) -> None:
    a, b = pair
    activity = follow_of(a, b)
    raw = orjson.dumps(activity)
    actor_key = await a.node.signing_key(await _actor_id(a))
    url = b.url("/inbox")
    headers = {"Content-Type": "application/activity+json"}
    headers.update(
        cavage.sign_request(
            "POST", url, actor_key.private_key, actor_key.key_id, body=raw, headers=headers
        )
    )
    tampered = raw.replace(b"Follow", b"Block_")
    async with a.http.post(url, data=tampered, headers=headers) as resp:
        assert resp.status == 401
    assert await inbox_count(b) == 0


async def test_spoofed_actor_is_401(nodes) -> None:
    """A valid signature by A does not make A's activity come from C (§10.1)."""
    a, b, c = await nodes("berlin"), await nodes("hamburg"), await nodes("barcelona")
    spoof = follow_of(a, b, actor=c.actor_id, id=f"{c.base}/activities/{uuid.uuid4()}")
    status, answer = await signed_post(a, b, "/inbox", spoof)
    assert status == 401 and "not by the actor" in answer["error"]
    assert await inbox_count(b) == 0


async def test_wrong_key_is_401(pair) -> None:
    a, b = pair
    intruder = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    status, answer = await signed_post(a, b, "/inbox", follow_of(a, b), key=intruder)
    assert status == 401 and "verify" in answer["error"]
    unknown_key = f"{a.base}/actors/nobody#main-key"
    status, answer = await signed_post(a, b, "/inbox", follow_of(a, b), key_id=unknown_key)
    assert status == 401 and "key" in answer["error"]
    assert await inbox_count(b) == 0


async def test_signature_for_another_host_is_401(pair) -> None:
    a, b = pair
    status, _answer = await signed_post(
        a, b, "/inbox", follow_of(a, b), headers={"Host": "elsewhere.example"}
    )
    assert status == 401
    assert await inbox_count(b) == 0


async def test_unknown_local_inbox_is_404(pair) -> None:
    a, b = pair
    status, _ = await signed_post(a, b, "/actors/ghost/inbox", follow_of(a, b))
    assert status == 404


async def test_personal_inbox_knows_its_actors_without_a_query(pair) -> None:
    """The handle check of ``/actors/{handle}/inbox`` costs no query once the handle is known,
    and an actor added while the node runs (here by another process's way: a row) is found."""
    from sqlalchemy import event

    from cityfed.actions import setup

    a, b = pair
    path = f"/actors/{b.handle}/inbox"
    assert (await signed_post(a, b, path, follow_of(a, b)))[0] == 202  # warms the key cache
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engines = {b.node.db.read_engine.sync_engine, b.node.db.write_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", seen)
    try:
        for _ in range(3):
            assert (await signed_post(a, b, path, follow_of(a, b)))[0] == 202
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "FROM actors" in s], statements
    assert (await signed_post(a, b, "/actors/altona/inbox", follow_of(a, b)))[0] == 404
    async with b.node.db.transaction() as session:
        await setup.create_local_actor(session, b.node.urls, b.domain, "altona", "City of Altona")
    assert (await signed_post(a, b, "/actors/altona/inbox", follow_of(a, b)))[0] == 202
    assert await inbox_count(b) == 5


async def test_stale_policy_is_reloaded_once_for_concurrent_requests(pair) -> None:
    """Requests that find the policy view stale at the same time share one reload (it was one
    query per request in flight), and a block made meanwhile is in force once it is reloaded."""
    import asyncio

    from sqlalchemy import event

    from cityfed.models.tables import Peer

    a, b = pair
    assert (await signed_post(a, b, "/inbox", follow_of(a, b)))[0] == 202  # warms the key cache
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engines = {b.node.db.read_engine.sync_engine, b.node.db.write_engine.sync_engine}
    b.node.policy.loaded_at = 0.0  # stale, as after RELOAD_SECONDS
    for engine in engines:
        event.listen(engine, "before_cursor_execute", seen)
    try:
        answers = await asyncio.gather(
            *(signed_post(a, b, "/inbox", follow_of(a, b)) for _ in range(8))
        )
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", seen)
    assert [status for status, _ in answers] == [202] * 8
    assert len([s for s in statements if "FROM peers" in s]) == 1, statements
    async with b.node.db.transaction() as session:
        session.add(Peer(domain=a.domain, policy="blocked"))
    b.node.policy.loaded_at = 0.0
    before = await inbox_count(b)
    assert (await signed_post(a, b, "/inbox", follow_of(a, b)))[0] == 202  # dropped quietly
    assert await inbox_count(b) == before


async def test_blocked_domain_is_dropped_quietly_without_fetching(nodes) -> None:
    a = await nodes("berlin")
    b = await nodes("hamburg")
    from cityfed.models.tables import Peer

    async with b.node.db.transaction() as session:
        session.add(Peer(domain=a.domain, policy="blocked"))
    await b.node.policy.refresh(b.node.db, force=True)
    a.access_log.clear()
    status, _ = await signed_post(a, b, "/inbox", follow_of(a, b))
    assert status == 202
    assert await inbox_count(b) == 0
    assert a.access_log == []  # B fetched nothing from A, not even its key


async def test_rfc9421_signed_activity_is_accepted(pair) -> None:
    from cityfed.activitypub import rfc9421

    a, b = pair
    activity = follow_of(a, b)
    raw = orjson.dumps(activity)
    key = await a.node.signing_key(await _actor_id(a))
    url = b.url("/inbox")
    headers = {"Content-Type": "application/activity+json"}
    headers.update(
        rfc9421.sign_request("POST", url, key.private_key, key.key_id, body=raw, headers=headers)
    )
    async with a.http.post(url, data=raw, headers=headers) as resp:
        assert resp.status == 202, await resp.text()
    assert await inbox_count(b) == 1


async def test_rfc9421_without_content_digest_is_refused_for_that_before_any_fetch(
    pair,
) -> None:
    from cityfed.activitypub import rfc9421

    a, b = pair
    raw = orjson.dumps(follow_of(a, b))
    key = await a.node.signing_key(await _actor_id(a))
    url = b.url("/inbox")
    headers = {"Content-Type": "application/activity+json"}
    headers.update(
        rfc9421.sign_request(
            "POST",
            url,
            key.private_key,
            key.key_id,
            body=raw,
            headers=headers,
            components=("@method", "@target-uri"),  # the body is not covered
        )
    )
    a.access_log.clear()
    async with a.http.post(url, data=raw, headers=headers) as resp:
        assert resp.status == 401
        reason = await resp.text()
    assert "does not cover content-digest" in reason, reason
    assert a.access_log == []  # B fetched nothing from A: not the key, not a refetch
    assert await inbox_count(b) == 0


async def _actor_id(test_node: TestNode) -> int:
    from tests.rig import local_actor_row

    return (await local_actor_row(test_node)).id
