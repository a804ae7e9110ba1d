"""The admin API (§8): peers view and policy, federation mode, audit log, delivery queue, scopes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from cityfed.actions.peers import PolicyError, normalize_domain
from cityfed.models.tables import Activity, Delivery, Peer
from cityfed.models.types import utcnow
from tests.rig import TestNode, settle

OURS = {
    ("GET", "/api/cityfed/v1/admin/peers"),
    ("GET", "/api/cityfed/v1/admin/peers/{domain}"),
    ("PUT", "/api/cityfed/v1/admin/peers/{domain}"),
    ("DELETE", "/api/cityfed/v1/admin/peers/{domain}"),
    ("GET", "/api/cityfed/v1/admin/federation"),
    ("PUT", "/api/cityfed/v1/admin/federation"),
    ("GET", "/api/cityfed/v1/admin/audit"),
    ("GET", "/api/cityfed/v1/admin/deliveries"),
    ("GET", "/api/cityfed/v1/admin/deliveries/summary"),
    ("POST", "/api/cityfed/v1/admin/deliveries/retry"),
    ("POST", "/api/cityfed/v1/admin/deliveries/drop"),
}
SAMPLES = {"domain": "peer.example", "report_id": "1", "decision": "approve"}


def admin_routes(n: TestNode) -> set[tuple[str, str]]:
    assert n.app is not None
    return {
        (route.method, route.resource.canonical)
        for route in n.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/cityfed/v1/admin")
        and route.method != "HEAD"
    }


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)[^}]*\}", lambda m: SAMPLES.get(m.group(1), "x"), path)


async def test_every_admin_route_needs_an_admin_token(node: TestNode) -> None:
    routes = admin_routes(node)
    assert routes >= OURS
    for method, path in sorted(routes):
        url = concrete(path).removeprefix("/api/cityfed/v1")
        body = await node.api(method, url, token=node.editor_token, json={}, status=403)
        assert "admin" in body["error"], (method, path)
        async with node.request(method, concrete(path)) as resp:
            assert resp.status == 401, (method, path)
    async with node.node.db.session() as session:
        assert (await session.scalars(select(Peer))).all() == []  # nothing changed


async def test_peers_view_shows_policy_software_follows_and_deliveries(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    for x, y in ((a, b), (b, a)):
        await x.api("POST", "/follows", json={"account": y.account}, status=201)
    await settle(a, b)
    entry = await b.api(
        "PUT", f"/admin/peers/{a.domain}", json={"policy": "trusted", "note": "twin city"}
    )
    assert entry == {
        **entry,
        "domain": a.domain,
        "policy": "trusted",
        "note": "twin city",
        "updated_by": "test admin",
        "followers": 1,
        "following": 1,
        "failing": 0,
        "circuit": "closed",
        "unavailable_since": None,
    }
    assert entry["software"].startswith("cityfed ")  # from A's NodeInfo
    assert entry["last_success_at"] and entry["updated_at"]
    assert (await b.api("GET", "/admin/peers"))["items"] == [entry]
    assert await b.api("GET", f"/admin/peers/{a.domain}") == entry
    assert (await b.api("GET", "/admin/peers?policy=trusted"))["items"] == [entry]
    assert (await b.api("GET", "/admin/peers?policy=blocked"))["items"] == []
    await b.api("GET", "/admin/peers?policy=bogus", status=422)

    # A is down: B's next activity waits, and after enough failures the circuit opens.
    await a.stop()
    await b.api("POST", "/projects", json={"title": "Tree census"}, status=201)
    await settle(b)
    until = utcnow() + timedelta(minutes=5)
    async with b.node.db.transaction() as session:
        await session.execute(
            update(Peer).where(Peer.domain == a.domain).values(circuit_open_until=until)
        )
    (down,) = (await b.api("GET", "/admin/peers"))["items"]
    assert down["failing"] == 1 and down["last_failure_at"]
    assert down["circuit"] == f"open until {until.isoformat(timespec='seconds')}"


async def test_policy_changes_are_validated_and_normalised(node: TestNode) -> None:
    put = "/admin/peers/{}"
    for bad in ("not%20a%20domain", "a@b.example", "x.example:99999", "-x-.example"):
        answer = await node.api("PUT", put.format(bad), json={"policy": "blocked"}, status=422)
        assert "not a domain" in answer["error"], bad
    await node.api("PUT", put.format("x.example"), json={"policy": "friend"}, status=422)
    await node.api("PUT", put.format("x.example"), json={}, status=422)
    await node.api(
        "PUT", put.format("x.example"), json={"policy": "allowed", "note": 3}, status=422
    )
    own = await node.api("PUT", put.format(node.domain), json={"policy": "blocked"}, status=422)
    assert "own domain" in own["error"]
    entry = await node.api("PUT", put.format("Spam.EXAMPLE:443"), json={"policy": "blocked"})
    assert entry["domain"] == "spam.example" and entry["policy"] == "blocked"
    # Nothing listens on port 9: the software probe fails quickly and leaves it unknown.
    entry = await node.api("PUT", put.format("LocalHost:9"), json={"policy": "allowed"})
    assert (entry["domain"], entry["software"]) == ("localhost:9", None)
    await node.api("DELETE", put.format("spam.example"), status=204)
    assert (await node.api("GET", put.format("spam.example")))["policy"] is None
    await node.api("DELETE", put.format("spam.example"), status=404)
    await node.api("DELETE", put.format("never.example"), status=404)
    await node.api("GET", put.format("never.example"), status=404)


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("City.Example", "city.example"),
        ("city.example.", "city.example"),
        ("city.example:443", "city.example"),
        ("city.example:8443", "city.example:8443"),
        ("127.0.0.1:8081", "127.0.0.1:8081"),
        ("[::1]:8080", "[::1]:8080"),
        ("Bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_domains_are_normalised(raw: str, domain: str) -> None:
    assert normalize_domain(raw) == domain


@pytest.mark.parametrize(
    "raw", ["", " ", "https://city.example/", "a/b", "a@b", "a..b", "x:0", "x:70000", "::1"]
)
def test_garbage_is_not_a_domain(raw: str) -> None:
    with pytest.raises(PolicyError, match="not a domain"):
        normalize_domain(raw)


async def test_federation_mode(node: TestNode) -> None:
    assert await node.api("GET", "/admin/federation") == {"mode": "open", "default": "open"}
    answer = await node.api("PUT", "/admin/federation", json={"mode": "allowlist"}, status=200)
    assert answer == {"mode": "allowlist", "previous": "open"}
    assert (await node.api("GET", "/admin/federation"))["mode"] == "allowlist"
    assert node.node.policy.mode == "allowlist"
    await node.api("PUT", "/admin/federation", json={"mode": "closed"}, status=422)
    await node.api("PUT", "/admin/federation", json={}, status=422)


async def test_every_admin_action_is_in_the_audit_log_newest_first(node: TestNode) -> None:
    async with node.node.db.transaction() as session:
        session.add(_dead(await _some_activity(node), "gone.example"))
    steps = [
        ("PUT", "/admin/peers/a.example", {"policy": "trusted", "note": "n1"}),
        ("PUT", "/admin/peers/a.example", {"policy": "allowed"}),
        ("PUT", "/admin/peers/b.example", {"policy": "blocked", "note": "spam"}),
        ("DELETE", "/admin/peers/b.example", None),
        ("PUT", "/admin/federation", {"mode": "allowlist"}),
        ("POST", "/admin/deliveries/retry", {"domain": "gone.example"}),
        ("POST", "/admin/deliveries/drop", {"domain": "gone.example"}),
    ]
    for method, path, body in steps:
        await node.api(method, path, json=body)
    log = await node.api("GET", "/admin/audit?per_page=100")
    assert log["total"] == len(steps)
    actions = [(e["action"], e["target"]) for e in log["items"]]
    assert actions == [
        ("deliveries.drop", "gone.example"),
        ("deliveries.retry", "gone.example"),
        ("federation.mode", "allowlist"),
        ("peer.remove", "b.example"),
        ("peer.block", "b.example"),
        ("peer.allow", "a.example"),
        ("peer.trust", "a.example"),
    ]
    assert all(e["who"] == "test admin" for e in log["items"])
    by_action = {e["action"]: e for e in log["items"]}
    assert by_action["peer.allow"]["detail"] == {"note": None, "previous": "trusted"}
    assert by_action["peer.block"]["detail"]["note"] == "spam"
    assert by_action["federation.mode"]["detail"] == {"previous": "open"}
    assert by_action["deliveries.retry"]["detail"] == {"count": 1}
    assert by_action["deliveries.drop"]["detail"] == {"count": 0}  # retried: no longer dead
    page = await node.api("GET", "/admin/audit?per_page=2&page=2")
    assert [e["action"] for e in page["items"]] == ["federation.mode", "peer.remove"]
    await node.api("GET", "/admin/audit?per_page=0", status=422)


async def test_dead_deliveries_are_listed_retried_and_dropped(nodes) -> None:
    a, b = await nodes("berlin", delivery_max_attempts=1), await nodes("hamburg")
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await b.stop()
    await a.run_workers_once()  # one attempt allowed: the Follow is dead at once
    dead = await a.api("GET", "/admin/deliveries?state=dead")
    assert dead["total"] == 1
    (row,) = dead["items"]
    assert (row["state"], row["type"], row["domain"]) == ("dead", "Follow", b.domain)
    assert row["inbox"].startswith(b.base) and row["last_error"]
    assert (await a.api("GET", "/admin/deliveries?state=pending"))["items"] == []
    assert (await a.api("GET", "/admin/deliveries"))["total"] == 1  # all three states
    assert (await a.api("GET", f"/admin/deliveries?domain={b.domain}"))["total"] == 1
    (summary,) = (await a.api("GET", "/admin/deliveries/summary"))["items"]
    assert summary == {**summary, "domain": b.domain, "dead": 1, "pending": 0, "retrying": 0}

    # B is back: retrying sends the Follow again, with a fresh attempt count.
    await b.start()
    assert await a.api("POST", "/admin/deliveries/retry", json={"ids": [row["id"]]}) == {
        "retried": 1
    }
    (again,) = (await a.api("GET", "/admin/deliveries?state=pending"))["items"]
    assert again["id"] == row["id"] and again["attempts"] == 0
    await settle(a, b)
    assert [f["state"] for f in (await a.api("GET", "/follows"))["items"]] == ["accepted"]
    assert await a.api("POST", "/admin/deliveries/retry", json={"ids": [row["id"]]}) == {
        "retried": 0  # delivered now: only dead rows are touched
    }

    # B goes away for good: the Undo dies and is dropped.
    await b.stop()
    await a.api("DELETE", f"/follows?actor={b.actor_id}", status=204)
    await a.run_workers_once()
    assert (await a.api("GET", "/admin/deliveries?state=dead"))["total"] == 1
    answer = await a.api("POST", "/admin/deliveries/drop", json={"domain": b.domain.upper()})
    assert answer == {"dropped": 1}
    assert (await a.api("GET", "/admin/deliveries?state=dead"))["total"] == 0
    (summary,) = (await a.api("GET", "/admin/deliveries/summary"))["items"]
    assert (summary["cancelled"], summary["done"], summary["dead"]) == (1, 1, 0)


async def test_dead_deliveries_of_a_blocked_domain_stay_dead(node: TestNode) -> None:
    async with node.node.db.transaction() as session:
        session.add(_dead(await _some_activity(node), "spam.example"))
    await node.api("PUT", "/admin/peers/spam.example", json={"policy": "blocked"})
    retried = await node.api("POST", "/admin/deliveries/retry", json={"domain": "spam.example"})
    assert retried == {"retried": 0}


async def test_delivery_requests_are_validated(node: TestNode) -> None:
    for body in ({}, {"ids": [1], "domain": "x.example"}, {"ids": "1"}, {"ids": []}):
        await node.api("POST", "/admin/deliveries/retry", json=body, status=422)
    await node.api("POST", "/admin/deliveries/drop", json={"ids": [True]}, status=422)
    await node.api("POST", "/admin/deliveries/drop", json={"domain": "a b"}, status=422)
    await node.api("GET", "/admin/deliveries?state=retry", status=422)
    await node.api("GET", "/admin/deliveries?domain=%40", status=422)
    assert (await node.api("GET", "/admin/deliveries?state=retrying"))["items"] == []


# --- helpers ------------------------------------------------------------------------------------


async def _some_activity(n: TestNode) -> tuple[int, int]:
    """(activity id, sender id) of an activity of ours, to hang delivery rows on."""
    await n.api("POST", "/projects", json={"title": "Tree census"}, status=201)
    async with n.node.db.session() as session:
        activity = await session.scalar(select(Activity))
    assert activity is not None
    return activity.id, activity.actor_id


def _dead(ids: tuple[int, int], domain: str) -> Delivery:
    activity_id, sender_id = ids
    return Delivery(
        activity_id=activity_id,
        sender_id=sender_id,
        inbox=f"https://{domain}/inbox",
        domain=domain,
        state="dead",
        attempts=16,
        last_error="gave up",
    )
