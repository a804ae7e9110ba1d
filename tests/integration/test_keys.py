"""Key rotation between real nodes: announced with the old key, verified after, old key expires."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select, update

from cityfed.cli import main
from cityfed.models.tables import Activity, InboxItem, Key
from cityfed.models.types import utcnow
from tests.rig import TestNode, settle, signed_post


async def rotated_pair(nodes) -> tuple[TestNode, TestNode, dict]:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b)
    rotation = await b.api("POST", "/admin/keys/rotate", json={"grace_days": 7}, status=200)
    return a, b, rotation


async def test_rotation_is_announced_with_the_old_key_and_new_signatures_verify(nodes) -> None:
    a, b, rotation = await rotated_pair(nodes)
    assert rotation["old"] == f"{b.actor_id}#main-key"
    assert rotation["new"] == f"{b.actor_id}#main-key-2"
    actor = await b.get_json(f"/actors/{b.handle}")
    assert [k["id"] for k in actor["publicKey"]] == [rotation["new"], rotation["old"]]
    assert "expires" in actor["publicKey"][1] and "expires" not in actor["publicKey"][0]
    assert len(actor["assertionMethod"]) == 2
    async with b.node.db.session() as session:
        announcement = await session.scalar(select(Activity).where(Activity.type == "Update"))
    assert announcement.signing_key_id == rotation["old"]
    await settle(a, b)
    async with a.node.db.session() as session:
        item = await session.scalar(
            select(InboxItem).where(InboxItem.activity_ap_id == announcement.ap_id)
        )
        assert item.state == "done" and item.signer_key_id == rotation["old"]
        known = set(await session.scalars(select(Key.key_id).where(Key.private_pem.is_(None))))
    assert {rotation["old"], rotation["new"]} <= known
    # Everything signed after the rotation uses the new key, and the follower verifies it
    # without fetching B's actor again.
    b.access_log.clear()
    created = await b.api("POST", "/projects", json={"title": "After rotation"}, status=201)
    await settle(a, b)
    assert [i["id"] for i in (await a.api("GET", "/timeline"))["items"]] == [created["id"]]
    async with a.node.db.session() as session:
        signers = set(
            await session.scalars(
                select(InboxItem.signer_key_id).where(
                    InboxItem.actor_ap_id == b.actor_id,
                    InboxItem.activity_ap_id != announcement.ap_id,
                )
            )
        )
    assert rotation["new"] in signers
    assert ("GET", f"/actors/{b.handle}") not in b.access_log


async def test_old_key_is_rejected_after_the_grace_period(nodes) -> None:
    a, b, rotation = await rotated_pair(nodes)
    await settle(a, b)
    old_key = await b.node.signing_key_by_id(rotation["old"])
    activity = {
        "id": f"{b.base}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": b.actor_id,
        "object": a.actor_id,
    }
    # Within the grace period the old key still works.
    status, _ = await signed_post(
        b, a, "/inbox", activity, key=old_key.private_key, key_id=rotation["old"]
    )
    assert status == 202
    # The grace period ends on both sides (B stops listing it; A's copy carries the expiry).
    for n in (a, b):
        async with n.node.db.transaction() as session:
            await session.execute(
                update(Key)
                .where(Key.key_id == rotation["old"])
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        n.node.remote_keys.forget(rotation["old"])
    actor = await b.get_json(f"/actors/{b.handle}")
    assert actor["publicKey"]["id"] == rotation["new"]
    again = {**activity, "id": f"{b.base}/activities/{uuid.uuid4()}"}
    status, answer = await signed_post(
        b, a, "/inbox", again, key=old_key.private_key, key_id=rotation["old"]
    )
    assert status == 401 and "key" in answer["error"]


async def test_keys_api_and_cli(nodes, tmp_path) -> None:
    b = await nodes("hamburg")
    keys = (await b.api("GET", "/admin/keys", status=200))["items"]
    assert {k["kind"] for k in keys} == {"rsa", "ed25519"}
    assert "PRIVATE" not in str(keys)
    await b.api("POST", "/admin/keys/rotate", json={}, token=b.editor_token, status=403)
    await b.api("POST", "/admin/keys/rotate", json={"grace_days": -1}, status=422)
    config = tmp_path / "hamburg.toml"
    config.write_text(
        f'[node]\ndomain = "{b.domain}"\nscheme = "http"\n'
        f'[database]\nurl = "{b.settings.database_url}"\n'
    )
    # The CLI runs its own event loop: give it a thread, as a shell would give it a process.
    result = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["keys", "rotate", "--config", str(config), "--handle", b.handle, "--grace-days", "1"],
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{b.actor_id}#main-key -> {b.actor_id}#main-key-2"
    audit = await b.api("GET", "/admin/audit", status=200)
    assert any(entry["action"] == "keys.rotate" for entry in audit["items"])
