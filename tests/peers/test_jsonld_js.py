"""Every kind of document a cityfed node serves or sends (documents.py collects them from real
nodes), expanded by jsonld.js (npm ``jsonld``, the reference JSON-LD processor) in safe mode with
the official contexts from their npm packages as its only loader: no error, and no term left
undefined. All are expanded in one Node process, once per test run (conftest.peer_layer).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# kind → why it fails today (strict xfail), or None when it must expand cleanly now.
KINDS: dict[str, str | None] = {
    "actor": None,
    "instance actor": None,
    "project": None,
    "challenge": None,
    "comment": None,
    "adoption": None,
    "offer": None,
    "tombstone": None,
    "followers collection": None,
    "followers page": None,
    "following collection": None,
    "outbox collection": None,
    "outbox page": None,
    "replies collection": None,
    "adoptions collection": None,
    "solutions collection": None,
    "activity Create": None,
    "activity Update": None,
    "activity Delete": None,
    "activity Follow": None,
    "activity Accept": None,
    "activity Offer": None,
    "activity Flag": None,
    "activity Undo": None,
}


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
