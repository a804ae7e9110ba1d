"""`cityfed peers`, `cityfed federation-mode` and `cityfed deliveries` against running nodes.

The CLI is a separate process in real life: here it runs in a thread with its own event loop and
database connections, against the database of a node that keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path

import orjson
from click.testing import CliRunner, Result
from sqlalchemy import select

from cityfed.cli import main
from cityfed.config import write_settings
from cityfed.models.tables import Activity, Delivery
from tests.rig import TestNode, settle


def config_of(n: TestNode) -> Path:
    path = n.settings.data_dir / "cityfed.toml"
    if not path.exists():
        write_settings(n.settings, path)
    return path


async def cli(n: TestNode, *args: str, code: int = 0) -> Result:
    """Run ``cityfed ARGS`` for node ``n`` (config from CITYFED_CONFIG) and check its exit code."""
    env = {"CITYFED_CONFIG": str(config_of(n))}
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)
    assert result.exit_code == code, (args, result.output, result.exception)
    return result


def who() -> str:
    return f"cli:{getpass.getuser()}"


async def test_peer_policy_from_the_command_line(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    for x, y in ((a, b), (b, a)):
        await x.api("POST", "/follows", json={"account": y.account}, status=201)
    await settle(a, b)

    out = await cli(b, "peers", "trust", a.domain, "--note", "twin city")
    assert out.output.strip() == f"{a.domain}: trusted (was none)"
    await cli(b, "peers", "allow", a.domain.upper())
    listed = (await cli(b, "peers", "list")).output
    assert a.domain in listed and "allowed" in listed
    (row,) = orjson.loads((await cli(b, "peers", "list", "--json", "--refresh")).output)
    assert (row["domain"], row["policy"], row["followers"], row["following"]) == (
        a.domain,
        "allowed",
        1,
        1,
    )
    assert row["software"].startswith("cityfed ") and row["updated_by"] == who()

    out = await cli(b, "peers", "block", a.domain, "--note", "spam wave")
    assert "removed 2 follow(s)" in out.output
    assert (await b.api("GET", "/follows"))["items"] == []
    assert (await b.api("GET", "/followers"))["items"] == []
    # The serving node reloads policy every few seconds; here, at once.
    await b.node.policy.refresh(b.node.db, force=True)
    assert b.node.policy.is_blocked(a.domain)
    await cli(b, "peers", "remove", a.domain)
    await cli(b, "peers", "remove", a.domain, code=1)

    log = (await b.api("GET", "/admin/audit"))["items"]
    assert [(e["action"], e["who"]) for e in log] == [
        ("peer.remove", who()),
        ("peer.block", who()),
        ("peer.allow", who()),
        ("peer.trust", who()),
    ]
    assert log[1]["detail"]["note"] == "spam wave"


async def test_bad_input_is_a_clear_error(node: TestNode) -> None:
    out = await cli(node, "peers", "block", "https://spam.example/", code=1)
    assert "not a domain" in out.output
    out = await cli(node, "peers", "trust", node.domain, code=1)
    assert "own domain" in out.output
    await cli(node, "federation-mode", "closed", code=2)
    await cli(node, "deliveries", "retry", code=1)
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["peers", "list"], env={"CITYFED_CONFIG": None}
    )
    assert result.exit_code == 2 and "--config" in result.output
    assert (await node.api("GET", "/admin/audit"))["items"] == []


async def test_federation_mode_from_the_command_line(node: TestNode) -> None:
    assert (await cli(node, "federation-mode")).output.strip() == "federation mode: open"
    out = await cli(node, "federation-mode", "allowlist")
    assert out.output.strip() == "federation mode: allowlist (was open)"
    assert (await node.api("GET", "/admin/federation"))["mode"] == "allowlist"
    (entry,) = (await node.api("GET", "/admin/audit"))["items"]
    assert (entry["action"], entry["who"]) == ("federation.mode", who())


async def test_deliveries_from_the_command_line(nodes) -> None:
    a, b = await nodes("berlin", delivery_max_attempts=1), await nodes("hamburg")
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await b.stop()
    await a.run_workers_once()
    listed = (await cli(a, "deliveries", "list", "--state", "dead")).output
    assert f"{b.domain}: dead 1" in listed and "Follow -> " in listed
    assert "1 of 1 deliveries shown" in listed
    async with a.node.db.session() as session:
        (row,) = (await session.scalars(select(Delivery))).all()
    await b.start()
    out = await cli(a, "deliveries", "retry", str(row.id))
    assert out.output.strip() == "1 dead deliveries due again"
    await settle(a, b)
    assert [f["state"] for f in (await a.api("GET", "/follows"))["items"]] == ["accepted"]

    await b.stop()
    await a.api("DELETE", f"/follows?actor={b.actor_id}", status=204)
    await a.run_workers_once()
    out = await cli(a, "deliveries", "drop", "--domain", b.domain)
    assert out.output.strip() == "1 dead deliveries dropped"
    listed = (await cli(a, "deliveries", "list")).output
    assert "0 of 0 deliveries shown" in listed and "cancelled 1" in listed
    async with a.node.db.session() as session:
        assert len((await session.scalars(select(Activity))).all()) == 2
    actions = [e["action"] for e in (await a.api("GET", "/admin/audit"))["items"]]
    assert actions == ["deliveries.drop", "deliveries.retry"]
