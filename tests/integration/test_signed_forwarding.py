"""Object signatures that survive forwarding: proof first, then LD signature, then refetch."""

from __future__ import annotations

import uuid

import orjson
import pytest
from sqlalchemy import select

from cityfed.activitypub import ldsig, proof
from cityfed.models.tables import Activity, InboxItem, Object
from tests.rig import TestNode, local_actor_row, settle, signed_post


async def comment_body(a: TestNode, comment_id: str) -> dict:
    """The Create of A's comment exactly as A sent it (with A's proof and LD signature)."""
    async with a.node.db.session() as session:
        row = await session.scalar(
            select(Activity).where(Activity.object_ap_id == comment_id, Activity.type == "Create")
        )
    return orjson.loads(row.body)


async def item_of(n: TestNode, activity_id: str) -> InboxItem:
    async with n.node.db.session() as session:
        return await session.scalar(
            select(InboxItem).where(InboxItem.activity_ap_id == activity_id)
        )


async def test_outgoing_activities_carry_a_proof_and_public_ones_an_ld_signature(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b)
    created = await b.api("POST", "/projects", json={"title": "Signed"}, status=201)
    async with b.node.db.session() as session:
        follow = orjson.loads(
            await session.scalar(select(Activity.body).where(Activity.type == "Accept"))
        )
        create = orjson.loads(
            await session.scalar(
                select(Activity.body).where(Activity.object_ap_id == created["id"])
            )
        )
    assert proof.verification_method(follow) == f"{b.actor_id}#ed25519-key"
    assert "signature" not in follow  # not public: no LD signature
    assert (
        proof.verification_method(create) and ldsig.creator_of(create) == f"{b.actor_id}#main-key"
    )
    # Fedify's order: the LD signature covers the proof (everything but ``signature``).
    row = await local_actor_row(b)
    rsa_key = await b.node.signing_key(row.id, "rsa")
    ldsig.verify(create, rsa_key.private_key.public_key())
    with pytest.raises(ldsig.LdSignatureError):
        ldsig.verify(
            {k: v for k, v in create.items() if k != "proof"}, rsa_key.private_key.public_key()
        )


async def test_comment_forwarded_a_b_c_is_verified_by_proof_without_fetching_from_a(nodes) -> None:
    a, b, c = await nodes("berlin"), await nodes("hamburg"), await nodes("barcelona")
    for follower, followed in ((a, b), (c, b), (a, c)):  # C knows A (A follows C), not vice versa
        await follower.api("POST", "/follows", json={"account": followed.account}, status=201)
    await settle(a, b, c)
    project = await b.api("POST", "/projects", json={"title": "Heat-risk map"}, status=201)
    await settle(a, b, c)
    a.access_log.clear()
    comment = await a.api(
        "POST",
        "/comments",
        status=201,
        json={"in_reply_to": project["id"], "content": "We adopt this!"},
    )
    await settle(a, b, c)
    body = await comment_body(a, comment["id"])
    item = await item_of(c, body["id"])
    assert item.state == "done" and item.verified_by == "proof"
    assert item.signer_key_id == f"{b.actor_id}#main-key"  # it came through B
    assert [r for r in a.access_log if r[0] == "GET"] == []  # C fetched nothing from A
    thread = (await c.api("GET", f"/comments?object={project['id']}"))["items"]
    assert [e["id"] for e in thread] == [comment["id"]]


async def setup_unforwarded(nodes) -> tuple[TestNode, TestNode, TestNode, str]:
    """C keeps a copy of B's project but no longer follows B: nothing is forwarded to C."""
    a, b, c = await nodes("berlin"), await nodes("hamburg"), await nodes("barcelona")
    for follower in (a, c):
        await follower.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b, c)
    project = await b.api("POST", "/projects", json={"title": "Heat-risk map"}, status=201)
    await settle(a, b, c)
    await c.api("DELETE", f"/follows?actor={b.actor_id}", status=204)
    await settle(a, b, c)
    return a, b, c, project["id"]


async def test_without_proof_the_ld_signature_then_refetch_verifies(nodes) -> None:
    a, b, c, project = await setup_unforwarded(nodes)
    comments = [
        await a.api("POST", "/comments", status=201, json={"in_reply_to": project, "content": t})
        for t in ("one", "two", "three")
    ]
    await settle(a, b, c)
    bodies = [await comment_body(a, comment["id"]) for comment in comments]
    # An LD signature and no proof, as Mastodon sends (signed by A's own RSA key).
    ld_only = {k: v for k, v in bodies[0].items() if k not in ("proof", "signature")}
    row = await local_actor_row(a)
    rsa_key = await a.node.signing_key(row.id, "rsa")
    ld_only = ldsig.sign(ld_only, rsa_key.private_key, rsa_key.key_id)
    # The proof stripped: A's LD signature covered it, so only the origin can vouch.
    proof_stripped = {k: v for k, v in bodies[1].items() if k != "proof"}
    nothing = {k: v for k, v in bodies[2].items() if k not in ("proof", "signature")}
    for body in (ld_only, proof_stripped, nothing):  # B forwards them to C
        assert (await signed_post(b, c, "/inbox", body))[0] == 202
    await settle(a, b, c)
    assert (await item_of(c, ld_only["id"])).verified_by == "ld-signature"
    assert (await item_of(c, proof_stripped["id"])).verified_by == "refetch"
    assert (await item_of(c, nothing["id"])).verified_by == "refetch"
    thread = (await c.api("GET", f"/comments?object={project}"))["items"]
    assert {e["id"] for e in thread} == {comment["id"] for comment in comments}


async def test_a_proof_by_a_key_that_is_not_the_actors_is_refused(nodes) -> None:
    a, b, c, project = await setup_unforwarded(nodes)
    note_id = f"{a.base}/comments/{uuid.uuid4()}"
    forged = {
        "@context": ["https://www.w3.org/ns/activitystreams"],
        "id": f"{a.base}/activities/{uuid.uuid4()}",
        "type": "Create",
        "actor": a.actor_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": a.actor_id,
            "inReplyTo": project,
            "content": "<p>Berlin: send us your budget</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    }
    b_actor = await local_actor_row(b)
    b_ed = await b.node.signing_key(b_actor.id, "ed25519")
    signed = proof.sign(forged, b_ed.private_key, b_ed.key_id)  # B's key, claiming to be A
    assert (await signed_post(b, c, "/inbox", signed))[0] == 202
    await settle(a, b, c)
    item = await item_of(c, forged["id"])
    assert item.state == "failed"
    async with c.node.db.session() as session:
        assert await session.scalar(select(Object).where(Object.ap_id == note_id)) is None


async def test_tampered_signed_comment_falls_back_to_the_origins_copy(nodes) -> None:
    a, b, c, project = await setup_unforwarded(nodes)
    comment = await a.api(
        "POST", "/comments", status=201, json={"in_reply_to": project, "content": "the real words"}
    )
    await settle(a, b, c)
    body = await comment_body(a, comment["id"])
    body["object"]["content"] = "<p>words A never wrote</p>"  # proof and signature now fail
    assert (await signed_post(b, c, "/inbox", body))[0] == 202
    await settle(a, b, c)
    assert (await item_of(c, body["id"])).verified_by == "refetch"
    (entry,) = (await c.api("GET", f"/comments?object={project}"))["items"]
    assert "the real words" in entry["content"] and "never wrote" not in entry["content"]
