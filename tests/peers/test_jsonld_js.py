"""Every kind of document a cityfed node serves or sends, expanded by jsonld.js (npm ``jsonld``,
the reference JSON-LD processor) in safe mode with the official contexts from their npm packages
as its only loader: no error, and no term left undefined.

The documents come from real nodes: two cities follow each other, publish, update, comment,
adopt, offer, report and delete (the scenario runs once per module), and the test collects what
they serve at each id and every activity they sent. All are expanded in one Node process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from cityfed.models.tables import Activity
from tests.integration.test_projects import CHALLENGE, HEAT_MAP
from tests.peers.tools import run_node
from tests.rig import AP_ACCEPT, TestNode, running_node, settle

# One worker collects the documents and runs Node once for the whole module.
pytestmark = pytest.mark.xdist_group("jsonld-js")

PAGE = "?page=1"
ITEM4 = "issue 13 item 4: fixed on i13-protocol"

# kind → why it fails today (strict xfail), or None when it must expand cleanly now.
KINDS: dict[str, str | None] = {
    "actor": None,
    "instance actor": None,
    "project": None,
    "challenge": None,
    "comment": None,
    "adoption": None,
    "offer": None,
    "tombstone": ITEM4,  # formerType "Project" is not a defined term
    "followers collection": None,
    "followers page": None,
    "following collection": None,
    "outbox collection": None,
    "outbox page": ITEM4,  # embeds activities with `proof` but not the data-integrity context
    "replies collection": None,
    "adoptions collection": None,
    "solutions collection": None,
    "activity Create": None,
    "activity Update": None,
    "activity Delete": ITEM4,
    "activity Follow": None,
    "activity Accept": None,
    "activity Offer": None,
    "activity Flag": None,
    "activity Undo": None,
}


async def _served(node: TestNode, url: str, status: int = 200) -> dict[str, Any]:
    async with node.get(url, headers={"Accept": AP_ACCEPT}) as resp:
        assert resp.status == status, (url, resp.status)
        return orjson.loads(await resp.read())


async def _collect(tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    docs: dict[str, list[dict[str, Any]]] = {}

    def add(kind: str, doc: dict[str, Any]) -> None:
        docs.setdefault(kind, []).append(doc)

    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(running_node(tmp_path, "berlin"))
        b = await stack.enter_async_context(running_node(tmp_path, "hamburg"))
        for follower, followed in ((a, b), (b, a)):
            await follower.api("POST", "/follows", json={"account": followed.account}, status=201)
        await settle(a, b)
        project = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
        challenge = await b.api("POST", "/challenges", json=CHALLENGE, status=201)
        doomed = await b.api("POST", "/projects", json={"title": "Short-lived"}, status=201)
        await settle(a, b)
        await b.api(
            "PATCH",
            f"/projects/{project['id'].rsplit('/', 1)[1]}",
            json={"phase": "operational"},
            status=200,
        )
        comment = await a.api(
            "POST",
            "/comments",
            token=a.editor_token,
            status=201,
            json={"in_reply_to": project["id"], "content": "We want #this"},
        )
        adoption = await a.api(
            "POST", "/adoptions", token=a.editor_token, status=201, json={"project": project["id"]}
        )
        mine = await a.api("POST", "/projects", json={"title": "Sensors"}, status=201)
        offer = await a.api(
            "POST",
            "/offers",
            token=a.editor_token,
            status=201,
            json={"challenge": challenge["id"], "project": mine["id"], "content": "Ours works."},
        )
        await a.api(
            "POST",
            "/reports",
            token=a.editor_token,
            status=201,
            json={"actor": b.account, "objects": [doomed["id"]], "content": "Spam"},
        )
        await settle(a, b)
        await b.api("POST", "/offers/accept", json={"offer": offer["id"]}, status=200)
        await b.api("DELETE", f"/projects/{doomed['id'].rsplit('/', 1)[1]}", status=204)
        await a.api("DELETE", f"/follows?account={b.account}")
        await settle(a, b)

        actor = await _served(b, b.actor_id)
        add("actor", actor)
        add("instance actor", await _served(b, "/actor"))
        project_doc = await _served(b, project["id"])
        add("project", project_doc)
        challenge_doc = await _served(b, challenge["id"])
        add("challenge", challenge_doc)
        add("comment", await _served(a, comment["id"]))
        add("adoption", await _served(a, adoption["id"]))
        add("offer", await _served(a, offer["id"]))
        add("tombstone", await _served(b, doomed["id"], status=410))
        for kind, url in (
            ("followers", actor["followers"]),
            ("following", actor["following"]),
            ("outbox", actor["outbox"]),
        ):
            add(f"{kind} collection", await _served(b, url))
            if kind != "following":
                add(f"{kind} page", await _served(b, url + PAGE))
        replies = project_doc["replies"]
        add(
            "replies collection",
            await _served(b, replies if isinstance(replies, str) else replies["id"]),
        )
        add("adoptions collection", await _served(b, project_doc["cf:adoptions"]))
        add("solutions collection", await _served(b, challenge_doc["cf:solutions"]))
        for node in (a, b):
            async with node.node.db.session() as session:
                bodies = (await session.scalars(select(Activity.body))).all()
            for body in bodies:
                doc = orjson.loads(body)
                add(f"activity {doc['type']}", doc)
    return docs


@pytest.fixture(scope="module")
def expanded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """kind → [{name, ok, error, expanded}] for every document of that kind."""
    docs = asyncio.run(_collect(tmp_path_factory.mktemp("jsonld")))
    inputs = [
        {"name": f"{kind} {doc.get('id')}", "kind": kind, "document": doc}
        for kind, group in docs.items()
        for doc in group
    ]
    results = run_node("jsonld_expand.mjs", inputs)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for given, result in zip(inputs, results, strict=True):
        by_kind.setdefault(given["kind"], []).append(result)
    return by_kind


# Mastodon's own signatures expand the same way (security/v1 has no RsaSignature2017; Mastodon
# canonicalises the signature options under identity/v1 instead): the fediverse convention.
CONVENTIONAL = frozenset({"_:RsaSignature2017"})


def _relative(iri: Any) -> bool:
    return isinstance(iri, str) and ":" not in iri


def undefined_terms(node: Any) -> Iterator[str]:
    """Terms the contexts left undefined, and IRIs left relative: jsonld.js keeps an undefined
    term only as a blank-node IRI (``_:name``, from the ActivityStreams context's
    ``"@vocab": "_:"``), and a bare word in an ``@id``-typed term (``formerType: "Project"``)
    as a relative IRI; no consumer can read either as what we meant."""
    if isinstance(node, list):
        for item in node:
            yield from undefined_terms(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("_:") and key not in CONVENTIONAL:
                yield key
            if key == "@type" and isinstance(value, list):
                for kind in value:
                    if kind not in CONVENTIONAL and (kind.startswith("_:") or _relative(kind)):
                        yield f"@type {kind}"
            if key == "@id" and _relative(value):
                yield f"relative @id {value}"
            yield from undefined_terms(value)


def _cases() -> Iterator[Any]:
    for kind, reason in KINDS.items():
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(kind, marks=marks, id=kind.replace(" ", "-"))


def test_every_kind_was_collected(expanded) -> None:
    assert set(expanded) == set(KINDS), "a kind of document is missing from the scenario"


@pytest.mark.parametrize("kind", list(_cases()))
def test_document_expands_in_jsonld_js_safe_mode(expanded, kind: str) -> None:
    results = expanded[kind]
    errors = [(r["name"], r["error"]) for r in results if not r["ok"]]
    assert errors == []
    undefined = {(r["name"], term) for r in results for term in undefined_terms(r["expanded"])}
    assert undefined == set()
