"""Discovery and the city actor, checked from outside over real HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote

from cityfed.activitypub.actor import RemoteActor
from cityfed.activitypub.multikey import decode_ed25519
from cityfed.keys.generate import load_public_pem
from tests.rig import TestNode


async def test_webfinger_acct_resolves_to_actor(node: TestNode) -> None:
    resource = f"acct:{node.account}"
    async with node.get(f"/.well-known/webfinger?resource={quote(resource)}") as resp:
        assert resp.status == 200
        assert resp.content_type == "application/jrd+json"
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        doc = await resp.json(content_type=None)
    assert doc["subject"] == resource
    assert node.actor_id in doc["aliases"]
    links = {link["rel"]: link for link in doc["links"]}
    assert links["self"]["type"] == "application/activity+json"
    assert links["self"]["href"] == node.actor_id
    assert links["http://webfinger.net/rel/profile-page"]["href"].startswith(node.base)


async def test_webfinger_accepts_actor_url_and_profile_url(node: TestNode) -> None:
    for resource in (node.actor_id, f"{node.base}/@{node.handle}"):
        doc = await node.get_json(
            f"/.well-known/webfinger?resource={quote(resource)}", accept="application/jrd+json"
        )
        assert doc["subject"] == f"acct:{node.account}"


async def test_webfinger_loop_back_holds(node: TestNode) -> None:
    """self href == actor id byte for byte; acct:{preferredUsername}@{host of id} resolves back."""
    actor = await node.get_json(f"/actors/{node.handle}")
    host = actor["id"].split("/")[2]
    doc = await node.get_json(
        f"/.well-known/webfinger?resource=acct:{actor['preferredUsername']}@{host}",
        accept="application/jrd+json",
    )
    self_href = next(link["href"] for link in doc["links"] if link["rel"] == "self")
    assert self_href == actor["id"]


async def test_webfinger_bad_inputs(node: TestNode) -> None:
    cases = {
        "/.well-known/webfinger": 400,
        "/.well-known/webfinger?resource=": 400,
        "/.well-known/webfinger?resource=acct:nobody": 400,
        "/.well-known/webfinger?resource=acct:%40%40": 400,
        f"/.well-known/webfinger?resource=acct:ghost@{node.domain}": 404,
        f"/.well-known/webfinger?resource=acct:{node.handle}@elsewhere.example": 404,
        "/.well-known/webfinger?resource=https://elsewhere.example/actors/x": 404,
    }
    for path, status in cases.items():
        async with node.get(path) as resp:
            assert resp.status == status, path
            assert "error" in await resp.json(content_type=None)


async def test_instance_actor_is_found_by_webfinger(node: TestNode) -> None:
    doc = await node.get_json(
        "/.well-known/webfinger?resource=acct:127.0.0.1@" + node.domain,
        accept="application/jrd+json",
    )
    assert doc["links"][0]["href"] == f"{node.base}/actor"
    actor = await node.get_json("/actor")
    assert actor["type"] == "Application"
    assert actor["publicKey"]["owner"] == actor["id"] == f"{node.base}/actor"


async def test_instance_actor_links_only_what_answers_and_is_not_discoverable(
    node: TestNode,
) -> None:
    # GoToSocial fetches every collection an actor links, and warns for each 404; account
    # search lists discoverable actors (the instance actor is no city to find).
    actor = await node.get_json("/actor")
    assert "followers" not in actor and "following" not in actor
    assert actor["discoverable"] is False and actor["indexable"] is False
    outbox = await node.get_json(actor["outbox"])
    assert outbox["id"] == actor["outbox"] and outbox["totalItems"] == 0
    assert outbox["orderedItems"] == []
    city = await node.get_json(node.actor_id)
    assert city["discoverable"] is True and city["followers"] == f"{node.actor_id}/followers"


async def test_host_meta_has_lrdd_template(node: TestNode) -> None:
    async with node.get("/.well-known/host-meta") as resp:
        assert resp.status == 200
        assert resp.content_type == "application/xrd+xml"
        root = ET.fromstring(await resp.text())
    link = root.find("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link is not None and link.get("rel") == "lrdd"
    assert link.get("template") == f"{node.base}/.well-known/webfinger?resource={{uri}}"


async def test_nodeinfo_20_and_21(node: TestNode) -> None:
    discovery = await node.get_json("/.well-known/nodeinfo", accept="application/json")
    hrefs = {link["rel"].rsplit("/", 1)[-1]: link["href"] for link in discovery["links"]}
    assert set(hrefs) == {"2.0", "2.1"}
    for version, href in hrefs.items():
        async with node.get(href) as resp:
            assert resp.status == 200
            assert "nodeinfo.diaspora.software/ns/schema/" + version in resp.headers["Content-Type"]
            doc = await resp.json(content_type=None)
        assert doc["version"] == version
        assert doc["software"]["name"] == "cityfed"
        assert doc["protocols"] == ["activitypub"]
        assert doc["openRegistrations"] is False
        assert doc["usage"]["users"]["total"] == 1
        assert doc["metadata"]["nodeName"] == "City of Berlin"
    async with node.get("/nodeinfo/9.9") as resp:
        assert resp.status == 404


async def test_actor_document_is_a_city(node: TestNode) -> None:
    async with node.get(
        f"/actors/{node.handle}", headers={"Accept": "application/activity+json"}
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/activity+json; charset=utf-8"
        doc = await resp.json(content_type=None)
    assert doc["@context"][0] == "https://www.w3.org/ns/activitystreams"
    assert doc["type"] == "Organization"
    assert doc["id"] == node.actor_id
    assert doc["preferredUsername"] == node.handle
    assert doc["publicKey"]["id"] == f"{node.actor_id}#main-key"
    assert doc["publicKey"]["owner"] == node.actor_id
    load_public_pem(doc["publicKey"]["publicKeyPem"])
    (multikey,) = doc["assertionMethod"]
    assert multikey["type"] == "Multikey" and multikey["controller"] == node.actor_id
    decode_ed25519(multikey["publicKeyMultibase"])
    assert doc["endpoints"]["sharedInbox"] == f"{node.base}/inbox"
    assert doc["discoverable"] is True and doc["indexable"] is True
    assert "summary" in doc and "published" in doc
    assert "PRIVATE" not in str(doc)
    parsed = RemoteActor.from_ap(doc)
    assert parsed.inbox == f"{node.actor_id}/inbox"
    for name in ("outbox", "followers", "following", "featured"):
        collection = await node.get_json(doc[name])
        assert collection["type"] == "OrderedCollection"
        assert collection["totalItems"] == 0


async def test_ld_json_profile_accept_gets_json(node: TestNode) -> None:
    accept = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
    doc = await node.get_json(f"/actors/{node.handle}", accept=accept)
    assert doc["id"] == node.actor_id


async def test_browser_gets_html_profile_with_alternate_link(node: TestNode) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for path in (f"/actors/{node.handle}", f"/@{node.handle}"):
        async with node.get(path, headers={"Accept": accept}) as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            assert resp.headers["Vary"] == "Accept"
            html = await resp.text()
        assert '<html lang="en">' in html
        assert (
            f'<link rel="alternate" type="application/activity+json" href="{node.actor_id}">'
            in html
        )
        assert "City of Berlin" in html
        assert "BEGIN PRIVATE" not in html


async def test_collections_page(node: TestNode) -> None:
    page = await node.get_json(f"/actors/{node.handle}/followers?page=1")
    assert page["type"] == "OrderedCollectionPage"
    assert page["orderedItems"] == []
    async with node.get(f"/actors/{node.handle}/followers?page=zero") as resp:
        assert resp.status == 400


async def test_unknown_actor_is_404(node: TestNode) -> None:
    for path in ("/actors/ghost", "/@ghost", "/actors/ghost/outbox"):
        async with node.get(path, headers={"Accept": "application/activity+json"}) as resp:
            assert resp.status == 404


async def test_two_nodes_run_side_by_side(nodes) -> None:
    berlin = await nodes("berlin")
    hamburg = await nodes("hamburg")
    assert berlin.port != hamburg.port
    a = await berlin.get_json(f"/actors/{berlin.handle}")
    b = await hamburg.get_json(f"/actors/{hamburg.handle}")
    assert a["publicKey"]["publicKeyPem"] != b["publicKey"]["publicKeyPem"]
