"""Every kind of document a node serves or sends is clean JSON-LD (§4): it expands with the
bundled official contexts, and no key or value is lost on the way.

A term a context does not define is dropped by every JSON-LD processor (jsonld.js in safe mode
refuses the document), and a relative IRI (``formerType: "Project"``) is meaningless. Both go
unseen by plain-JSON readers, which is why this is checked over real documents from two nodes
that went through every flow. The same documents are written to ``$CITYFED_DUMP_DOCUMENTS``
when that is set, so independent processors (jsonld.js) can be run over them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from cityfed.activitypub import jsonld
from cityfed.activitypub.vocab.common import as_list
from cityfed.models.tables import Activity
from tests.integration.test_media_api import PDF, photo, upload
from tests.integration.test_offers import RATIONALE, SENSORS
from tests.integration.test_projects import CHALLENGE, HEAT_MAP
from tests.rig import TestNode, settle

_IRI_KEYS = ("@id", "@type")


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every key path in a JSON value (list positions ignored), ``@context`` left out."""
    found: set[tuple[str, ...]] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@context":
                continue
            found.add((*prefix, key))
            found |= _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for item in value:
            found |= _paths(item, prefix)
    return found


def _lost(value: Any) -> list[str]:
    """What an expanded document says that turns into no RDF triple: relative IRIs, and
    properties or types only the ActivityStreams context's ``"@vocab": "_:"`` caught (blank-node
    predicates): jsonld.js in safe mode refuses both (toRDF, and canonize for signatures); and
    types no context defines, which mean nothing to anyone."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("_:"):
                found.append(f"undefined term {key[2:]!r}")
            if key in _IRI_KEYS:
                for iri in item if isinstance(item, list) else [item]:
                    # Mastodon's signature type, which no context defines: a blank-node type
                    # for everyone (and ``signature`` is never hashed).
                    if iri == "_:RsaSignature2017":
                        continue
                    if isinstance(iri, str) and iri.startswith("_:") and key == "@type":
                        found.append(f"undefined type {iri[2:]!r}")
                    elif isinstance(iri, str) and ":" not in iri:
                        found.append(f"relative IRI {iri!r}")
            else:
                found += _lost(item)
    elif isinstance(value, list):
        for item in value:
            found += _lost(item)
    return found


def problems(document: dict[str, Any]) -> list[str]:
    """What a JSON-LD processor would lose of ``document``; [] when nothing."""
    # No base IRI (pyld's default is http://example.org/base/): relative IRIs stay visible.
    options = {"documentLoader": jsonld.document_loader, "base": None}
    expanded = jsonld._pyld().expand(document, options)
    compacted = jsonld._pyld().compact(expanded, {"@context": document["@context"]}, options)
    lost = sorted(".".join(path) for path in _paths(document) - _paths(compacted))
    return [f"dropped {path}" for path in lost] + _lost(expanded)


def _dump(directory: str, docs: dict[str, dict[str, Any]]) -> None:
    Path(directory).mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (Path(directory) / f"{name}.json").write_bytes(orjson.dumps(doc))


def test_the_checker_sees_what_processors_drop() -> None:
    base = {"@context": jsonld.default_context(), "id": "https://a.example/1"}
    assert problems({**base, "type": "Note", "content": "x"}) == []
    assert problems({**base, "type": "Tombstone", "formerType": "Note"}) == ["relative IRI 'Note'"]
    assert problems({**base, "type": "Note", "bogus": 1}) == ["undefined term 'bogus'"]
    assert problems({**base, "type": "Bogus"}) == ["undefined type 'Bogus'"]


async def _everything(a: TestNode, b: TestNode) -> dict[str, dict[str, Any]]:
    """Two nodes through every flow; every document they serve, by a readable name."""
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await b.api("POST", "/follows", json={"account": a.account}, status=201)
    await settle(a, b)
    project = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    challenge = await b.api("POST", "/challenges", json=CHALLENGE, status=201)
    await settle(a, b)
    await b.api("PATCH", f"/projects/{project['id'].rsplit('/', 1)[1]}", json={"phase": "pilot"})
    # A cover picture (blurhash, focalPoint: toot: terms) and a document (issue 16).
    for data, name, media_type, fields in (
        (photo(), "map.jpg", "image/jpeg", {"alt_text": "A heat map", "focal_point": "0,0.5"}),
        (PDF, "report.pdf", "application/pdf", {}),
    ):
        _status, media = await upload(b, data, name, media_type, **fields)
        await b.api(
            "POST",
            f"/projects/{project['id'].rsplit('/', 1)[1]}/media",
            json={"media": media["id"]},
            status=200,
        )
    comment = await a.api(
        "POST", "/comments", json={"in_reply_to": project["id"], "content": "#heat works"}
    )
    adoption = await a.api(
        "POST", "/adoptions", json={"project": project["id"]}, status=201, token=a.editor_token
    )
    offered = await a.api("POST", "/projects", json=SENSORS, status=201)
    offer = await a.api(
        "POST",
        "/offers",
        json={"challenge": challenge["id"], "project": offered["id"], "content": RATIONALE},
        status=201,
        token=a.editor_token,
    )
    await settle(a, b)
    await b.api("POST", "/offers/accept", json={"offer": offer["id"]}, status=200)
    await a.api(
        "POST",
        "/reports",
        json={"actor": b.account, "objects": [project["id"]], "content": "spam"},
        token=a.editor_token,
        status=201,
    )
    gone = await b.api("POST", "/projects", json={"title": "Withdrawn"}, status=201)
    await b.api("DELETE", f"/projects/{gone['id'].rsplit('/', 1)[1]}", status=204)
    await settle(a, b)
    await a.api("DELETE", f"/follows?actor={b.actor_id}", status=204)
    await settle(a, b)

    docs: dict[str, dict[str, Any]] = {}
    served = {
        "actor": b.actor_id,
        "instance-actor": f"{b.base}/actor",
        "project": project["id"],
        "challenge": challenge["id"],
        "comment": comment["id"],
        "adoption": adoption["id"],
        "offer": offer["id"],
        "followers": f"{b.actor_id}/followers",
        "followers-page": f"{b.actor_id}/followers?page=1",
        "following": f"{b.actor_id}/following",
        "following-page": f"{b.actor_id}/following?page=1",
        "outbox": f"{b.actor_id}/outbox",
        "outbox-page": f"{b.actor_id}/outbox?page=1",
        "featured": f"{b.actor_id}/featured",
        "replies": f"{project['id']}/replies",
        "replies-page": f"{project['id']}/replies?page=1",
        "likes": f"{project['id']}/likes",
        "shares": f"{project['id']}/shares",
        "adoptions": f"{project['id']}/adoptions",
        "adoptions-page": f"{project['id']}/adoptions?page=1",
        "solutions": f"{challenge['id']}/solutions",
        "solutions-page": f"{challenge['id']}/solutions?page=1",
    }
    for name, url in served.items():
        owner = a if url.startswith(a.base) else b
        docs[name] = await owner.get_json(url)
    docs["tombstone"] = await b.get_json(gone["id"], status=410)
    for node in (a, b):
        async with node.node.db.session() as session:
            bodies = await session.scalars(select(Activity.body).where(Activity.local.is_(True)))
            for body in bodies:
                activity = orjson.loads(body)
                kind = activity["type"]
                inner = activity.get("object")
                if isinstance(inner, dict):
                    kind += "-" + "+".join(as_list(inner.get("type")))
                docs.setdefault(f"sent-{node.handle}-{kind}", activity)
    return docs


async def test_every_document_expands_without_losing_a_term(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    docs = await _everything(a, b)
    dump = os.environ.get("CITYFED_DUMP_DOCUMENTS")
    if dump:
        _dump(dump, docs)
    sent = {name.split("-", 2)[-1].split("-")[0] for name in docs if name.startswith("sent-")}
    assert {"Follow", "Accept", "Create", "Update", "Delete", "Offer", "Flag", "Undo"} <= sent
    found = {name: problems(doc) for name, doc in docs.items()}
    assert {name: p for name, p in found.items() if p} == {}
