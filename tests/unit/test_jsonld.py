"""The bundled JSON-LD contexts, the offline loader, DEFAULT_CONTEXT and is_known_context."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from pyld import jsonld as pyld_jsonld

from cityfed.activitypub import jsonld
from cityfed.activitypub.jsonld import (
    AS_CONTEXT_URL,
    CF_CONTEXT_URL,
    CF_NAMESPACE,
    CF_TERMS,
    DATA_INTEGRITY_V1_URL,
    DEFAULT_CONTEXT,
    MULTIKEY_V1_URL,
    PUBLIC,
    SECURITY_V1_URL,
    binds_cf,
    bundled_document,
    compact_to_default,
    context_document,
    document_loader,
    expand,
    install_document_loader,
    is_known_context,
)

# Pinned so an accidental edit of a vendored context shows up; the W3C/w3id files must stay as
# published (see the module docstring of jsonld.py for where each came from).
EXPECTED_SHA256 = {
    "activitystreams.json": "a27b78b82f4980963127140d0cb74f0e8f21c0e2b8efd0368232bf9823edff5a",
    "security-v1.json": "abaf97e107d1925503c433dcaf3ffd2831697cacc1ed2a293e1bc8030d5bcb47",
    "security-v2.json": "4cb186bc29c08af6e40c58178c22dd84d542f2871a063afed6e648b47abc3cf6",
    "data-integrity-v1.json": "2f57083207c1b3b6347761a4b205b3c347d87c26c75917afe47f10c2aab5272c",
    "data-integrity-v2.json": "0f77743daf5b4e8fc067fc5ba5b21044283053aa717fc6b0219843bed3b00363",
    "multikey-v1.json": "ba2c182de2d92f7e47184bcca8fcf0beaee6d3986c527bf664c195bbc7c58597",
    "did-v1.json": "62c1054bf404d6dd3a4b26b64f830fd72095f6a26edc4469908c94351352ce5f",
    "gotosocial.json": "dc20cccee7cd25dff137df7d05982376df2a7ad747a0798501d40c99a6558dd9",
    "joinmastodon.json": "18af76336be31776acf3978cc60a245ea7479b338f7cb9e778889f716c546f9e",
    "webfinger.json": "f6a87d126b583f4305b1661a6e488cb56c17940673a4c608d2b07a8a67409b9f",
    "litepub-0.1.json": "e12ff5802a3cf2a31bf7774decd44c1990372c738a73552fc3a9214a657fe127",
}

# Mastodon's inline context for statuses and accounts (as Mastodon 4.3 writes it).
MASTODON_CONTEXT = [
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "discoverable": "toot:discoverable",
        "suspended": "toot:suspended",
        "memorial": "toot:memorial",
        "indexable": "toot:indexable",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        "ostatus": "http://ostatus.org#",
        "atomUri": "ostatus:atomUri",
        "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
        "conversation": "ostatus:conversation",
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "Emoji": "toot:Emoji",
        "blurhash": "toot:blurhash",
        "votersCount": "toot:votersCount",
    },
]


def _read(name: str) -> bytes:
    return resources.files("cityfed.activitypub").joinpath("contexts", name).read_bytes()


# --- bundled files ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED_SHA256))
def test_vendored_contexts_are_unchanged(name: str) -> None:
    assert hashlib.sha256(_read(name)).hexdigest() == EXPECTED_SHA256[name]


def test_vendored_contexts_have_their_published_content() -> None:
    activitystreams = json.loads(_read("activitystreams.json"))["@context"]
    assert activitystreams["@vocab"] == "_:"
    assert activitystreams["as"] == "https://www.w3.org/ns/activitystreams#"
    assert activitystreams["inbox"] == {"@id": "ldp:inbox", "@type": "@id"}
    assert activitystreams["sharedInbox"] == {"@id": "as:sharedInbox", "@type": "@id"}
    assert len(activitystreams) == 149
    security = json.loads(_read("security-v1.json"))["@context"]
    assert security["publicKeyPem"] == "sec:publicKeyPem"
    assert security["signatureAlgorithm"] == "sec:signingAlgorithm"
    integrity = json.loads(_read("data-integrity-v1.json"))["@context"]
    assert integrity["@protected"] is True
    assert "proofValue" in integrity["DataIntegrityProof"]["@context"]
    multikey = json.loads(_read("multikey-v1.json"))["@context"]
    assert multikey["Multikey"]["@id"] == "https://w3id.org/security#Multikey"


def test_the_bundled_cf_context_is_the_ns_document() -> None:
    assert bundled_document(CF_CONTEXT_URL) == context_document()
    assert bundled_document(CF_CONTEXT_URL) is not bundled_document(CF_CONTEXT_URL)


# --- the cf: vocabulary -------------------------------------------------------------------------


def test_every_cf_term_is_defined_with_a_full_iri_in_our_namespace() -> None:
    names = [
        "Project",
        "Challenge",
        "Adoption",
        "SolutionOffer",
        "SDG",
        "phase",
        "teaser",
        "contact",
        "license",
        "repository",
        "publiccode",
        "budget",
        "partners",
        "outcomes",
        "lessonsLearned",
        "isBasedOn",
        "addresses",
        "adoptions",
        "solutions",
        "resolvedBy",
        "deadline",
        "requirements",
        "adopter",
        "localProject",
        "status",
        "solution",
        "challenge",
        "officialIdentifier",
    ]
    assert CF_TERMS["cf"] == CF_NAMESPACE == "https://cityfed.org/ns#"
    for name in names:
        definition = CF_TERMS[f"cf:{name}"]
        iri = definition if isinstance(definition, str) else definition["@id"]
        assert iri == CF_NAMESPACE + name
    for name in (
        "isBasedOn",
        "addresses",
        "adoptions",
        "solutions",
        "resolvedBy",
        "adopter",
        "localProject",
        "solution",
        "challenge",
    ):
        assert CF_TERMS[f"cf:{name}"]["@type"] == "@id"
    assert CF_TERMS["cf:deadline"]["@type"] == "http://www.w3.org/2001/XMLSchema#dateTime"


def test_default_context_shape() -> None:
    assert DEFAULT_CONTEXT[:2] == [AS_CONTEXT_URL, SECURITY_V1_URL]
    inline = DEFAULT_CONTEXT[2]
    assert set(CF_TERMS) <= set(inline)
    assert inline["toot"] == "http://joinmastodon.org/ns#"
    for term in (
        "discoverable",
        "indexable",
        "featured",
        "Hashtag",
        "PropertyValue",
        "value",
        "manuallyApprovesFollowers",
        "sensitive",
    ):
        assert term in inline
    # Terms the DID and Multikey contexts protect are never redefined inline: jsonld.js refuses
    # a document where such a context comes first and a later one redefines them.
    for term in ("assertionMethod", "Multikey", "controller", "publicKeyMultibase"):
        assert term not in inline
    expected = [
        AS_CONTEXT_URL,
        SECURITY_V1_URL,
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
        inline,
    ]
    assert expected == jsonld.ACTOR_CONTEXT
    assert PUBLIC == "https://www.w3.org/ns/activitystreams#Public"


def test_no_bundled_protected_context_conflicts_with_our_inline_terms(no_network: None) -> None:
    # Any order of the protected contexts and ours expands (pyld checks protected terms too).
    doc = {"id": "https://city.example/actor", "type": "Organization", "discoverable": True}
    contexts = []
    for integrity in (DATA_INTEGRITY_V1_URL, "https://w3id.org/security/data-integrity/v2"):
        protected = ["https://www.w3.org/ns/did/v1", MULTIKEY_V1_URL, integrity]
        contexts += [[*protected, *DEFAULT_CONTEXT], [*jsonld.ACTOR_CONTEXT, *protected]]
    for context in contexts:
        [node] = expand({"@context": context, **doc})
        assert node["http://joinmastodon.org/ns#discoverable"] == [{"@value": True}]


def test_default_context_expands_our_terms_to_our_namespace(no_network: None) -> None:
    doc = {
        "@context": jsonld.ACTOR_CONTEXT,
        "id": "https://city.example/projects/1",
        "type": ["Note", "cf:Project"],
        "cf:phase": "pilot",
        "cf:isBasedOn": "https://other.example/projects/9",
        "cf:deadline": "2025-01-01T00:00:00Z",
        "teaserMap": {"de": "Kurz"},
        "discoverable": True,
        "assertionMethod": [
            {
                "id": "https://city.example/actor#ed25519",
                "type": "Multikey",
                "controller": "https://city.example/actor",
                "publicKeyMultibase": "z6Mkabc",
            }
        ],
    }
    [node] = expand(doc)
    assert node["@type"] == [
        "https://www.w3.org/ns/activitystreams#Note",
        CF_NAMESPACE + "Project",
    ]
    assert node[CF_NAMESPACE + "phase"] == [{"@value": "pilot"}]
    assert node[CF_NAMESPACE + "isBasedOn"] == [{"@id": "https://other.example/projects/9"}]
    assert node[CF_NAMESPACE + "deadline"][0]["@type"].endswith("#dateTime")
    assert node[CF_NAMESPACE + "teaser"] == [{"@value": "Kurz", "@language": "de"}]
    assert node["http://joinmastodon.org/ns#discoverable"] == [{"@value": True}]
    key = node["https://w3id.org/security#assertionMethod"][0]
    assert key["@type"] == ["https://w3id.org/security#Multikey"]
    assert key["https://w3id.org/security#publicKeyMultibase"][0]["@value"] == "z6Mkabc"
    # and back: the same keys, with cf: spelled as we write it
    compacted = compact_to_default(doc)
    assert compacted["type"] == ["Note", "cf:Project"]
    assert compacted["cf:phase"] == "pilot"
    assert compacted["cf:isBasedOn"] == "https://other.example/projects/9"


def test_ns_document_is_a_usable_context(no_network: None) -> None:
    doc = {
        "@context": [AS_CONTEXT_URL, CF_CONTEXT_URL],
        "type": "cf:Challenge",
        "cf:resolvedBy": "https://x.example/p/1",
    }
    [node] = expand(doc)
    assert node["@type"] == [CF_NAMESPACE + "Challenge"]
    assert node[CF_NAMESPACE + "resolvedBy"] == [{"@id": "https://x.example/p/1"}]


# --- the loader ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        AS_CONTEXT_URL,
        "http://www.w3.org/ns/activitystreams",
        SECURITY_V1_URL,
        "http://w3id.org/security/v1",
        DATA_INTEGRITY_V1_URL,
        MULTIKEY_V1_URL,
        CF_CONTEXT_URL,
    ],
)
def test_loader_serves_bundled_contexts_as_static(url: str, no_network: None) -> None:
    remote = document_loader(url)
    assert remote["contextUrl"] is None
    assert remote["documentUrl"] == url
    assert remote["tag"] == "static"
    assert isinstance(remote["document"]["@context"], dict)
    # every call hands out its own copy
    remote["document"]["@context"]["mutated"] = True
    assert "mutated" not in document_loader(url)["document"]["@context"]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/context.jsonld",
        "https://www.w3.org/ns/activitystreams-history/v1.8.jsonld",
        "https://w3id.org/security/v3-unstable",
        "https://evil.example/www.w3.org/ns/activitystreams",
        "https://pleroma.example/schemas/litepub-0.2.jsonld",
        "file:///etc/passwd",
    ],
)
def test_loader_refuses_anything_else_without_network(url: str, no_network: None) -> None:
    with pytest.raises(pyld_jsonld.JsonLdError):
        document_loader(url, {})


def test_expanding_an_unknown_remote_context_fails_offline(no_network: None) -> None:
    doc = {"@context": "https://example.com/context.jsonld", "type": "Note"}
    with pytest.raises(pyld_jsonld.JsonLdError):
        expand(doc)


@pytest.mark.parametrize(
    "url",
    [
        "https://pleroma.example/schemas/litepub-0.1.jsonld",
        "http://akkoma.example:4000/schemas/litepub-0.1.jsonld",
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/data-integrity/v2",
        "https://w3id.org/security/v2",
        "https://gotosocial.org/ns",
        "http://joinmastodon.org/ns",
    ],
)
def test_contexts_peers_commonly_send_are_bundled(url: str, no_network: None) -> None:
    doc = {"@context": [AS_CONTEXT_URL, url], "id": "https://p.example/1", "type": "Note"}
    [node] = expand(doc)
    assert node["@type"] == ["https://www.w3.org/ns/activitystreams#Note"]


def test_install_document_loader_sets_pyld_default(no_network: None) -> None:
    previous = install_document_loader()
    try:
        assert pyld_jsonld.get_document_loader() is document_loader
        # pyld's own entry points now resolve our contexts offline
        out = pyld_jsonld.expand({"@context": AS_CONTEXT_URL, "name": "x"})
        assert out == [{"https://www.w3.org/ns/activitystreams#name": [{"@value": "x"}]}]
    finally:
        pyld_jsonld.set_document_loader(previous)


def test_importing_is_free_of_side_effects() -> None:
    # A fresh interpreter: importing our modules and using the fast path must neither import
    # pyld (so no loader is installed and no pyld cost is paid) nor read the context files.
    code = (
        "import sys\n"
        "from cityfed.activitypub import jsonld\n"
        "from cityfed.activitypub.vocab import Project\n"
        "p = Project(id='https://a.example/p/1', attributed_to='https://a.example/a')\n"
        "assert Project.from_ap(p.to_ap()) == p\n"
        "assert 'pyld' not in sys.modules, 'pyld imported'\n"
        "assert jsonld._bundled_bytes.cache_info().currsize <= 2\n"
    )
    src = str(Path(jsonld.__file__).parents[2])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# --- is_known_context ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ctx",
    [
        AS_CONTEXT_URL,
        [AS_CONTEXT_URL],
        "http://www.w3.org/ns/activitystreams",
        DEFAULT_CONTEXT,
        MASTODON_CONTEXT,
        [AS_CONTEXT_URL, SECURITY_V1_URL, DATA_INTEGRITY_V1_URL, MULTIKEY_V1_URL],
        [AS_CONTEXT_URL, {"Hashtag": "as:Hashtag"}],
        [AS_CONTEXT_URL, {"cf": CF_NAMESPACE, "cf:phase": "cf:phase"}],
        [AS_CONTEXT_URL, CF_CONTEXT_URL],
        # what Pleroma, bovine/Fedify and GoToSocial send
        ["https://pleroma.example/schemas/litepub-0.1.jsonld", {"@language": "und"}][:1],
        [AS_CONTEXT_URL, "https://www.w3.org/ns/did/v1", MULTIKEY_V1_URL],
        [AS_CONTEXT_URL, "https://gotosocial.org/ns"],
        [
            AS_CONTEXT_URL,
            {"@version": 1.1, "misskey": "https://misskey-hub.net/ns#", "isCat": "misskey:isCat"},
        ],
    ],
)
def test_known_contexts(ctx: object) -> None:
    assert is_known_context(ctx)


@pytest.mark.parametrize(
    "ctx",
    [
        None,
        [],
        42,
        "https://example.com/ns",
        SECURITY_V1_URL,  # no ActivityStreams terms at all
        [AS_CONTEXT_URL, "https://misskey.example/some/context.jsonld"],
        [AS_CONTEXT_URL, {"name": "http://schema.org/name"}],  # a term we read, redefined
        [AS_CONTEXT_URL, {"title": "as:name"}],  # a second name for a term we read
        [AS_CONTEXT_URL, {"cf": "https://other.example/ns#"}],
        [AS_CONTEXT_URL, {"cityfed": CF_NAMESPACE, "phase": "cityfed:phase"}],
        [AS_CONTEXT_URL, {"cf:phase": "https://other.example/ns#phase"}],
        [AS_CONTEXT_URL, {"cf:colour": "https://cityfed.org/ns#colour"}],
        [AS_CONTEXT_URL, {"@vocab": "https://other.example/ns#"}],
        [AS_CONTEXT_URL, {"@language": "de"}],
        [AS_CONTEXT_URL, {"Hashtag": {"@id": "as:Hashtag", "@context": {}}}],
        [AS_CONTEXT_URL, {"url": {"@id": "as:url", "@type": "xsd:string"}}],
        [AS_CONTEXT_URL, ["nested"]],
    ],
)
def test_unknown_contexts(ctx: object) -> None:
    assert not is_known_context(ctx)


def test_binds_cf() -> None:
    assert binds_cf(DEFAULT_CONTEXT)
    assert binds_cf([AS_CONTEXT_URL, CF_CONTEXT_URL])
    assert not binds_cf(MASTODON_CONTEXT)
    assert not binds_cf(AS_CONTEXT_URL)


def test_loading_is_lazy_and_cached() -> None:
    # Context files are read on first use and then served from memory.
    jsonld._bundled_bytes.cache_clear()
    assert jsonld._bundled_bytes.cache_info().currsize == 0
    document_loader(AS_CONTEXT_URL)
    document_loader(AS_CONTEXT_URL)
    info = jsonld._bundled_bytes.cache_info()
    assert (info.currsize, info.hits) == (1, 1)
