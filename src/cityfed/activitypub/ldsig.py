"""RsaSignature2017 Linked Data signatures, made and checked exactly as Mastodon does.

Mastodon (``app/lib/activitypub/linked_data_signature.rb``) signs public activities this way so
that a server forwarding them (a relay, or a city forwarding a reply to its followers) can pass
on the author's word; receivers check it when the HTTP signer is not the actor (§3 step 3):

- options = the ``signature`` object without ``type``, ``id`` and ``signatureValue``, with
  ``@context`` https://w3id.org/identity/v1 (in practice ``creator`` and ``created``);
- to be signed = hex SHA-256 of the canonical options followed by hex SHA-256 of the canonical
  document without ``signature`` (ASCII, 128 characters);
- ``signatureValue`` = base64 of RSASSA-PKCS1-v1_5 / SHA-256 over those bytes;
- "canonical" = URDNA2015 N-Quads of the JSON-LD, as Mastodon's ``canonicalize`` computes it.

That last step has Ruby quirks, reproduced here because a signature is only as good as the
other side's ability to recompute the bytes (see ``canonicalize``):

1. ``RDF::Graph.new << JSON::LD::API.toRdf(json)`` puts every quad in one unnamed graph, so
   named graphs (``proof`` of the Data Integrity context is a ``@graph`` container) are merged
   into the default graph and duplicate triples collapse;
2. ``RDF::Literal`` lower-cases language tags (``contentMap: {"pt-BR": …}`` hashes as ``pt-br``;
   pyld happens to do the same, this does not rely on it);
3. RDF.rb's N-Quads writer escapes what pyld leaves raw: C0 controls other than \\t \\n \\r as
   ``\\b``, ``\\f`` or ``\\uXXXX``, DEL and U+FFFE/U+FFFF as ``\\uXXXX``, and spaces and
   ``"<>\\^`{|}`` inside IRIs.

For documents without named graphs or such characters (everything Mastodon itself sends) this
is plain URDNA2015, the same bytes pyld and jsonld.js produce. A document with named graphs,
which in practice means one with an FEP-8b32 ``proof``, is signed and verified in the standard
form only, graph names kept, as jsonld.js-based signers (Fedify, Misskey) compute it: quirk 1
is what CVE-2026-46349 exploited (the same triples in another JSON tree), and Mastodon itself
now refuses LD signatures on documents with ``@graph`` after compaction. Documents using
``@graph``, ``@included`` or ``@reverse`` are refused outright, as Mastodon does.

Order with an integrity proof (FEP-8b32, Fedify): the proof first, over the document without
``signature``; then this signature over the document *with* its proof.

The document is read with pyld and only the bundled contexts (``jsonld.document_loader`` plus
identity/v1, served by ``document_loader`` here); a document naming any other remote context
cannot be canonicalised offline and fails with LdSignatureError. pyld is slow per document
(§6), which is why LD signatures are made once per activity and checked only for forwarded ones.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from types import ModuleType
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cityfed.activitypub import jsonld

__all__ = [
    "IDENTITY_CONTEXT_URL",
    "SIGNATURE_TYPE",
    "LdSignatureError",
    "canonicalize",
    "creator_of",
    "document_loader",
    "sign",
    "verify",
]

SIGNATURE_TYPE = "RsaSignature2017"
# The options' context, as in Mastodon's CONTEXT constant; bundled as contexts/identity-v1.json.
IDENTITY_CONTEXT_URL = "https://w3id.org/identity/v1"
# Defines ``signature`` and its members; Mastodon adds it to every document it signs.
SECURITY_CONTEXT_URL = jsonld.SECURITY_V1_URL

_IDENTITY_FILE = "identity-v1.json"
_IDENTITY_KEY = "w3id.org/identity/v1"


class LdSignatureError(Exception):
    """An LD signature is missing, malformed, unsupported, or does not verify.

    ``reason`` (also ``str(exc)``) is a short explanation fit for a log line.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def creator_of(document: Mapping[str, Any]) -> str | None:
    """The key id (``creator``) of the document's RsaSignature2017, to resolve before verifying."""
    signature = document.get("signature") if isinstance(document, Mapping) else None
    if not isinstance(signature, dict) or signature.get("type") != SIGNATURE_TYPE:
        return None
    creator = signature.get("creator")
    return creator if isinstance(creator, str) and creator else None


# --------------------------------------------------------------------------------------
# Offline JSON-LD
# --------------------------------------------------------------------------------------


def _pyld() -> ModuleType:
    from pyld import jsonld as pyld_jsonld

    module: ModuleType = pyld_jsonld
    return module


@functools.cache
def _identity_bytes() -> bytes:
    # Read on first use, never at import.
    return resources.files("cityfed.activitypub").joinpath("contexts", _IDENTITY_FILE).read_bytes()


def _is_identity_context(url: str) -> bool:
    base = url.split("#", 1)[0]
    for scheme in ("https://", "http://"):
        if base.startswith(scheme):
            return base[len(scheme) :].rstrip("/") == _IDENTITY_KEY
    return False


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``jsonld.document_loader`` plus https://w3id.org/identity/v1; never the network.

    Tagged ``static`` like the others so pyld caches the processed context.
    """
    if isinstance(url, str) and _is_identity_context(url):
        document = orjson.loads(_identity_bytes())
        return {"contextUrl": None, "documentUrl": url, "document": document, "tag": "static"}
    return jsonld.document_loader(url, options)


def _dataset(document: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    pyld = _pyld()
    try:
        dataset: dict[str, list[dict[str, Any]]] = pyld.to_rdf(
            document, {"documentLoader": document_loader}
        )
        return dataset
    except pyld.JsonLdError as exc:
        cause: BaseException = exc
        while cause.__cause__ is not None:  # pyld wraps; the innermost error says what failed
            cause = cause.__cause__
        raise LdSignatureError(f"cannot read the document as JSON-LD: {cause}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise LdSignatureError(f"cannot read the document as JSON-LD: {exc!r}") from None


# --------------------------------------------------------------------------------------
# Canonicalisation, RDF.rb style
# --------------------------------------------------------------------------------------

# RDF.rb's N-Triples writer: ECHAR for \b \t \n \f \r " \, UCHAR for the other C0 controls,
# DEL and the two non-characters U+FFFE/U+FFFF; everything else raw (UTF-8 output).
_LITERAL_ESCAPES = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}
_LITERAL_ESCAPES.update({0x22: '\\"', 0x5C: "\\\\"})
_LITERAL_SPECIAL = re.compile(r'[\x00-\x1f"\\\x7f\ufffe\uffff]')
# An IRI is written raw when it consists of IRIREF characters and \u/\U escapes only
# (RDF.rb's ESCAPE_PLAIN_U); otherwise each space, control and "<>\^`{|} becomes \uXXXX.
# _IRI_SIMPLE is the common case (no backslash at all) without the alternation's cost.
_IRI_SIMPLE = re.compile(r'[^<>"{}|^`\\\x00-\x20]*')
_IRI_PLAIN = re.compile(r'(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*')
_IRI_SPECIAL = re.compile(r'[\x00-\x20"<>\\^`{|}]')

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def _uchar(match: re.Match[str]) -> str:
    code = ord(match.group())
    return _LITERAL_ESCAPES.get(code) or f"\\u{code:04X}"


def _iri(value: str) -> str:
    if _IRI_SIMPLE.fullmatch(value) or _IRI_PLAIN.fullmatch(value):
        return "<" + value + ">"
    return "<" + _IRI_SPECIAL.sub(lambda m: f"\\u{ord(m.group()):04X}", value) + ">"


def _term(component: Mapping[str, Any]) -> str:
    kind = component["type"]
    if kind == "IRI":
        return _iri(component["value"])
    if kind == "blank node":
        return str(component["value"])
    text = '"' + _LITERAL_SPECIAL.sub(_uchar, component["value"]) + '"'
    datatype = component.get("datatype")
    if datatype == _RDF_LANGSTRING:
        if component.get("language"):
            text += "@" + component["language"]
    elif datatype and datatype != _XSD_STRING:
        text += "^^" + _iri(datatype)
    return text


def _nquad(quad: Mapping[str, Any]) -> str:
    # Graph names never occur: the dataset was merged into one graph (quirk 1).
    return f"{_term(quad['subject'])} {_term(quad['predicate'])} {_term(quad['object'])} .\n"


def _merged_quads(dataset: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every triple of every graph once, in the default graph, language tags lower-cased."""
    quads: list[dict[str, Any]] = []
    seen: set[str] = set()
    # One graph holds no duplicates (pyld's node map merges them): only a merge needs the check.
    merging = len(dataset) > 1
    for triples in dataset.values():
        for triple in triples:
            obj = triple["object"]
            if obj.get("language"):
                obj = {**obj, "language": obj["language"].lower()}
            quad = {"subject": triple["subject"], "predicate": triple["predicate"], "object": obj}
            if merging:
                key = _nquad(quad)
                if key in seen:
                    continue
                seen.add(key)
            quads.append(quad)
    return quads


@functools.cache
def _mastodon_urdna2015() -> type:
    """URDNA2015 hashing quads the way RDF.rb serialises them (built lazily: pyld is heavy)."""
    from pyld.canon import URDNA2015

    class MastodonURDNA2015(URDNA2015):  # type: ignore[misc]
        def hash_first_degree_quads(self, id_: str) -> str:
            info = self.blank_node_info[id_]
            if "hash" not in info:
                nquads = sorted(
                    _nquad(
                        {
                            key: component
                            if key == "predicate"
                            else self.modify_first_degree_component(id_, component, key)
                            for key, component in quad.items()
                        }
                    )
                    for quad in info["quads"]
                )
                info["hash"] = self.hash_nquads(nquads)
            return str(info["hash"])

        def get_related_predicate(self, quad: Mapping[str, Any]) -> str:
            return _iri(quad["predicate"]["value"])

    return MastodonURDNA2015


def _mastodon_canonical(dataset: Mapping[str, list[dict[str, Any]]]) -> str:
    algorithm = _mastodon_urdna2015()()
    # main() relabels the blank nodes of the quads in place; serialise them ourselves.
    algorithm.main({"@default": _merged_quads(dataset)}, {"format": "application/n-quads"})
    return "".join(sorted(_nquad(quad) for quad in algorithm.quads))


def _plain_canonical(document: Mapping[str, Any]) -> str:
    """Standard URDNA2015 as pyld (and jsonld.js) compute it: named graphs kept."""
    return _plain_canonical_of(_dataset(document))


def _plain_canonical_of(dataset: Mapping[str, list[dict[str, Any]]]) -> str:
    from pyld.canon import URDNA2015

    return str(URDNA2015().main(dataset, {"format": "application/n-quads"}))


def canonicalize(document: Mapping[str, Any]) -> str:
    """The N-Quads Mastodon hashes for ``document`` (URDNA2015 with RDF.rb's quirks)."""
    return _mastodon_canonical(_dataset(document))


def _digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# The options document is always {"@context": identity/v1, creator, created}: with a creator
# IRI of printable ASCII (no character an IRI may not hold) and a created string without
# characters that need escaping, its canonical form is fixed, so pyld is skipped for it.
_ABSOLUTE_IRI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*:[\x21\x23-\x3b\x3d\x3f-\x5b\x5d\x5f\x61-\x7a\x7e]*"
)
_PLAIN_LITERAL = re.compile(r'[^\x00-\x1f"\\\x7f\ufffe\uffff]*')
_DC = "http://purl.org/dc/terms/"
_XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"


def _options_canonical(options: Mapping[str, Any]) -> str:
    creator, created = options.get("creator"), options.get("created")
    if (
        set(options) == {"@context", "creator", "created"}
        and options["@context"] == IDENTITY_CONTEXT_URL
        and isinstance(creator, str)
        and isinstance(created, str)
        and _ABSOLUTE_IRI.fullmatch(creator)
        and _PLAIN_LITERAL.fullmatch(created)
    ):
        return (
            f'_:c14n0 <{_DC}created> "{created}"^^<{_XSD_DATETIME}> .\n'
            f"_:c14n0 <{_DC}creator> <{creator}> .\n"
        )
    return canonicalize(options)


# --------------------------------------------------------------------------------------
# Signing and verifying
# --------------------------------------------------------------------------------------


def _options(signature: Mapping[str, Any]) -> dict[str, Any]:
    options = {k: v for k, v in signature.items() if k not in ("type", "id", "signatureValue")}
    options["@context"] = IDENTITY_CONTEXT_URL
    return options


def _with_security_context(context: Any) -> Any:
    """Mastodon's ``Array(@context) << security/v1``, de-duplicated, unwrapped when single."""
    entries = [] if context is None else list(context) if isinstance(context, list) else [context]
    entries.append(SECURITY_CONTEXT_URL)
    unique: list[Any] = []
    for entry in entries:
        if entry not in unique:  # Ruby's uniq!, which also compares inline objects by value
            unique.append(entry)
    return unique[0] if len(unique) == 1 else unique


def _has_named_graphs(dataset: Mapping[str, list[dict[str, Any]]]) -> bool:
    return any(name != "@default" and triples for name, triples in dataset.items())


def _document_canonical(document: Mapping[str, Any]) -> str:
    """The canonical form we sign ``document`` (without ``signature``) in.

    Without named graphs (anything but an integrity proof) Mastodon's, which is plain URDNA2015
    for everything Mastodon itself sends. With them (``proof`` is a ``@graph`` container) the
    standard form, graph names kept, as jsonld.js computes it: that is what Fedify hashes, and
    Mastodon refuses LD signatures on documents with named graphs anyway.
    """
    dataset = _dataset(document)
    if _has_named_graphs(dataset):
        return _plain_canonical_of(dataset)
    return _mastodon_canonical(dataset)


def sign(
    document: Mapping[str, Any],
    private_key: rsa.RSAPrivateKey,
    creator: str,
    *,
    created: datetime | None = None,
) -> dict[str, Any]:
    """A copy of ``document`` with an RsaSignature2017 ``signature`` by ``private_key``.

    ``creator`` is the key id (``…#main-key``). Like Mastodon, the security/v1 context is added
    to ``@context``; unlike Mastodon it is added before hashing, so the hash covers exactly the
    document sent (identical whenever the context is already there, as in all of ours). Add an
    FEP-8b32 proof first, if any: the signature covers the whole document but ``signature``,
    proof included, as Fedify and Mastodon hash it.
    """
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise TypeError("RsaSignature2017 signs with an RSA private key")
    if "signature" in document:
        raise ValueError("the document is already signed")
    if created is None:
        created = datetime.now(UTC)
    elif created.tzinfo is None:
        created = created.replace(tzinfo=UTC)  # a naive time is taken as UTC, never as local time
    unsigned = dict(document)
    unsigned["@context"] = _with_security_context(document.get("@context"))
    # Whole seconds, as Ruby's Time#iso8601 writes them.
    stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    options = {"type": SIGNATURE_TYPE, "creator": creator, "created": stamp}
    to_be_signed = _digest(_options_canonical(_options(options))) + _digest(
        _document_canonical(unsigned)
    )
    value = private_key.sign(to_be_signed.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return {
        **unsigned,
        "signature": {**options, "signatureValue": base64.b64encode(value).decode()},
    }


# JSON-LD keywords that let a different JSON tree carry the same triples (Mastodon's
# ``UNSUPPORTED_JSONLD_KEYWORDS``, added against CVE-2026-46349): a signature over the triples
# would then vouch for a document that reads differently as plain JSON.
_RESTRUCTURING_KEYWORDS = frozenset({"@graph", "@included", "@reverse"})


def _uses_restructuring_keywords(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(
            key in _RESTRUCTURING_KEYWORDS or _uses_restructuring_keywords(item)
            for key, item in value.items()
            if key != "@context"
        )
    if isinstance(value, list):
        return any(_uses_restructuring_keywords(item) for item in value)
    return False


def verify(document: Mapping[str, Any], public_key: rsa.RSAPublicKey) -> None:
    """Check the document's RsaSignature2017 against ``public_key``; LdSignatureError if not.

    The key must already be resolved from ``creator_of(document)`` and its owner bound to the
    activity's actor; this checks only that it signed this document.

    What was signed is the whole document but ``signature``, its integrity proof included, as
    Mastodon and Fedify verify it. Accepted canonical forms: Mastodon's (RDF.rb's quirks) for a
    document without named graphs, and the standard one (graph names kept, jsonld.js) for a
    document with a ``proof``. Never Mastodon's merged form of named graphs: it hashes the
    triples without their graphs, so a forwarder could move an activity's triples into a graph
    and present what remains as another activity under the same signature. For nodes of the
    previous cityfed version, which signed the document without its proof, that form is
    accepted too.
    """
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError("RsaSignature2017 verifies with an RSA public key")
    signature = document.get("signature") if isinstance(document, Mapping) else None
    if not isinstance(signature, dict):
        raise LdSignatureError("the document has no LD signature")
    if signature.get("type") != SIGNATURE_TYPE:
        raise LdSignatureError(f"unsupported LD signature type {signature.get('type')!r}")
    if not isinstance(signature.get("creator"), str):
        raise LdSignatureError("the LD signature has no creator")
    encoded = signature.get("signatureValue")
    if not isinstance(encoded, str):
        raise LdSignatureError("the LD signature has no signatureValue")
    if _uses_restructuring_keywords(document):
        raise LdSignatureError("@graph, @included or @reverse in a signed document")
    try:
        value = base64.b64decode(encoded)  # lenient like Ruby's decode64: stray characters skipped
    except (binascii.Error, ValueError):
        raise LdSignatureError("signatureValue is not base64") from None
    options = _options(signature)
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    options_canonical = _options_canonical(options)
    if _rsa_ok(public_key, value, options_canonical, _document_canonical(unsigned)):
        return
    if "proof" in unsigned:
        # cityfed before issue 13 signed the document without its proof; the proof is then
        # not covered, and nothing reads it as part of the activity.
        bare = {k: v for k, v in unsigned.items() if k != "proof"}
        dataset = _dataset(bare)
        if not _has_named_graphs(dataset) and _rsa_ok(
            public_key, value, options_canonical, _mastodon_canonical(dataset)
        ):
            return
    raise LdSignatureError("the LD signature does not match the document")


def _rsa_ok(key: rsa.RSAPublicKey, value: bytes, options: str, document: str) -> bool:
    to_be_verified = (_digest(options) + _digest(document)).encode("ascii")
    try:
        key.verify(value, to_be_verified, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
