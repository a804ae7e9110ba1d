"""FEP-8b32 object integrity proofs: ``DataIntegrityProof`` with the ``eddsa-jcs-2022`` suite.

A proof makes an activity or object self-authenticating: whoever delivers it (the author, a
relay, a server forwarding a reply to its followers), a recipient can check that the actor's
Ed25519 key (its FEP-521a ``assertionMethod`` Multikey) signed exactly this JSON.

The cryptosuite is W3C "Data Integrity EdDSA Cryptosuites v1.0" §3.3 (eddsa-jcs-2022):

- proof configuration = the proof's options (``type``, ``cryptosuite``, ``verificationMethod``,
  ``proofPurpose``, ``created``...) with ``@context`` set to the document's ``@context``;
- hash data = SHA-256(JCS(proof configuration)) || SHA-256(JCS(document without ``proof``));
- ``proofValue`` = multibase base58btc (``z...``) of the Ed25519 signature of the hash data.

FEP-8b32 profile on top of it: ``proofPurpose`` is ``assertionMethod``; the verification method
is a Multikey that the actor lists under ``assertionMethod`` and controls; a document carrying
both a proof and a Linked Data signature (``ldsig.py``) has the proof made first and the LD
``signature`` removed before the proof is verified. ``proof`` is defined by the Data Integrity
context, so ``sign`` appends ``https://w3id.org/security/data-integrity/v1`` to a document's
``@context`` when no context defining it is there, as every FEP-8b32 example does; like those
examples (and the W3C test vectors) the proof repeats the document's ``@context``.

Two verification choices go beyond the letter of the specs, both conservative: the cryptosuite
lets a document's ``@context`` grow after signing as long as it starts with the proof's, but we
accept only appended signature vocabularies (security/v1, identity/v1, Data Integrity), because
an appended inline context could re-map signed terms for JSON-LD readers; and a proof that was
(against FEP-8b32's order) made after an LD signature is accepted when it covers that signature.

JCS works on the JSON, not on JSON-LD, so nothing here touches pyld: signing or verifying is
two canonicalisations, two SHA-256 and one Ed25519 operation. Pure code, no I/O: ``verify``
takes the public key, so a caller first reads ``verification_method(document)``, resolves it
(``resolve_key`` checks it belongs to the actor) and then verifies.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from cityfed.activitypub.jcs import CanonicalizationError, canonicalize
from cityfed.activitypub.multikey import b58decode, b58encode, decode_ed25519
from cityfed.activitypub.timefmt import parse_datetime

if TYPE_CHECKING:
    from cityfed.activitypub.actor import MultikeyInfo

__all__ = [
    "ASSERTION_METHOD",
    "CRYPTOSUITE",
    "DATA_INTEGRITY_CONTEXT",
    "PROOF_TYPE",
    "ProofError",
    "canonicalize",
    "proof_of",
    "resolve_key",
    "sign",
    "verification_method",
    "verify",
    "with_data_integrity_context",
]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
ASSERTION_METHOD = "assertionMethod"
DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v1"

# Contexts that define ``proof`` and the DataIntegrityProof terms (scheme-less, no trailing
# slash): both Data Integrity versions and VC 2.0, which embeds them.
_DI_CONTEXTS = frozenset(
    {
        "w3id.org/security/data-integrity/v1",
        "w3id.org/security/data-integrity/v2",
        "www.w3.org/ns/credentials/v2",
    }
)

# Contexts a signature added after the proof may append to the document's @context (an LD
# signature adds security/v1): vocabulary for signatures only, no term a document uses.
_SIGNATURE_CONTEXTS = _DI_CONTEXTS | {"w3id.org/security/v1", "w3id.org/identity/v1"}

# xsd:dateTime, as the cryptosuite requires of ``created`` and ``expires``.
_XSD_DATETIME = re.compile(
    r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?"
)


class ProofError(Exception):
    """An integrity proof is missing, malformed, of an unsupported kind, or does not verify.

    ``reason`` (also ``str(exc)``) is a short explanation fit for a log line; it never contains
    key material.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------
# Reading proofs
# --------------------------------------------------------------------------------------


def proof_of(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The document's single proof: ``proof`` as an object or a one-element list, else None.

    A proof set (several proofs) yields None: FEP-8b32 objects carry one proof, and accepting
    the set would mean deciding which of its signers counts.
    """
    value = document.get("proof") if isinstance(document, Mapping) else None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, dict) else None


def verification_method(document: Mapping[str, Any]) -> str | None:
    """The id of the key the document's proof names, so the caller can resolve it first."""
    proof = proof_of(document)
    if proof is None:
        return None
    method = proof.get("verificationMethod")
    # Data Integrity writes a URL; an embedded {"id": ...} names the same key.
    if isinstance(method, dict):
        method = method.get("id")
    return method if isinstance(method, str) and method else None


def resolve_key(
    key_id: str, actor_id: str, multikeys: Iterable[MultikeyInfo]
) -> ed25519.Ed25519PublicKey:
    """The public key ``key_id`` if the actor lists it under ``assertionMethod`` and controls it.

    ``multikeys`` are the actor's parsed ``assertionMethod`` entries (``RemoteActor.multikeys``),
    from the actor document fetched from the actor's own origin.
    """
    for key in multikeys:
        if key.key_id != key_id:
            continue
        if key.controller != actor_id:
            raise ProofError(f"{key_id} is controlled by {key.controller}, not by {actor_id}")
        try:
            return decode_ed25519(key.multibase)
        except ValueError as exc:
            raise ProofError(f"{key_id} is not a usable Ed25519 Multikey: {exc}") from None
    raise ProofError(f"{actor_id} does not list {key_id} as an assertionMethod")


# --------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------


def _context_key(entry: Any) -> str | None:
    if not isinstance(entry, str):
        return None
    for scheme in ("https://", "http://"):
        if entry.startswith(scheme):
            return entry[len(scheme) :].split("#", 1)[0].rstrip("/")
    return None


def _defines_proof(context: Any) -> bool:
    for entry in context if isinstance(context, list) else [context]:
        if _context_key(entry) in _DI_CONTEXTS:
            return True
        if isinstance(entry, dict) and "proof" in entry:
            return True  # someone defines it inline; respect their definition
    return False


def with_data_integrity_context(context: Any) -> Any:
    """``context`` with the Data Integrity context appended unless something defines ``proof``.

    Appended, not prepended: the Data Integrity context is ``@protected``, so anything after it
    that redefined ``id``/``type`` differently would be an error; nothing after it is safe.
    """
    if _defines_proof(context):
        return context
    entries = list(context) if isinstance(context, list) else [context]
    return [*entries, DATA_INTEGRITY_CONTEXT]


def _created(value: datetime | None) -> str:
    """``created`` in whole UTC seconds (``2023-02-24T23:36:38Z``), as FEP-8b32's examples."""
    if value is None:
        value = datetime.now(UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # a naive time is taken as UTC, never as local time
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_data(config: Mapping[str, Any], unsecured: Mapping[str, Any]) -> bytes:
    # Proof configuration hash first, then the document hash (eddsa-jcs-2022 §3.3.4).
    return (
        hashlib.sha256(canonicalize(config)).digest()
        + hashlib.sha256(canonicalize(unsecured)).digest()
    )


def sign(
    document: Mapping[str, Any],
    private_key: ed25519.Ed25519PrivateKey,
    verification_method: str,
    *,
    created: datetime | None = None,
    proof_purpose: str = ASSERTION_METHOD,
) -> dict[str, Any]:
    """A copy of ``document`` with an eddsa-jcs-2022 ``proof`` by ``private_key``.

    ``verification_method`` is the id of the actor's Multikey (``…#ed25519-key``). The copy is
    shallow: nested objects are shared with ``document``, and the proof covers them as they are
    now. Sign before adding an LD signature (FEP-8b32), and serialise the result once.
    """
    if not isinstance(private_key, ed25519.Ed25519PrivateKey):
        raise TypeError("eddsa-jcs-2022 signs with an Ed25519 private key")
    if "proof" in document:
        raise ValueError("the document already has a proof")
    if "signature" in document:
        # The LD signature covers the proof, so it has to come last.
        raise ValueError("add the integrity proof before the LD signature (FEP-8b32)")
    unsecured = dict(document)
    options: dict[str, Any] = {}
    if "@context" in unsecured:
        unsecured["@context"] = with_data_integrity_context(unsecured["@context"])
        options["@context"] = unsecured["@context"]
    options.update(
        {
            "type": PROOF_TYPE,
            "cryptosuite": CRYPTOSUITE,
            "verificationMethod": verification_method,
            "proofPurpose": proof_purpose,
            "created": _created(created),
        }
    )
    try:
        signature = private_key.sign(_hash_data(options, unsecured))
    except CanonicalizationError as exc:
        raise ValueError(f"the document cannot be canonicalised: {exc}") from None
    proof = {**options, "proofValue": "z" + b58encode(signature)}
    if "@context" in proof:
        proof["@context"] = list(proof["@context"])  # not aliased with the document's list
    return {**unsecured, "proof": proof}


# --------------------------------------------------------------------------------------
# Verifying
# --------------------------------------------------------------------------------------


def _datetime(proof: Mapping[str, Any], name: str) -> datetime | None:
    value = proof.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or _XSD_DATETIME.fullmatch(value) is None:
        raise ProofError(f"proof {name} is not an xsd:dateTime")
    try:
        return parse_datetime(value)
    except ValueError:
        raise ProofError(f"proof {name} is not a valid date") from None


def _signature_bytes(proof_value: Any) -> bytes:
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        raise ProofError("proofValue is not a multibase base58btc ('z') string")
    try:
        signature = b58decode(proof_value[1:])
    except ValueError:
        raise ProofError("proofValue is not valid base58btc") from None
    if len(signature) != 64:
        raise ProofError("proofValue is not an Ed25519 signature")
    return signature


def _as_list(context: Any) -> list[Any]:
    return context if isinstance(context, list) else [context]


def _check(proof: Mapping[str, Any], proof_purpose: str, now: datetime | None) -> None:
    if proof.get("type") != PROOF_TYPE:
        raise ProofError(f"unsupported proof type {proof.get('type')!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"unsupported cryptosuite {proof.get('cryptosuite')!r}")
    if proof.get("proofPurpose") != proof_purpose:
        raise ProofError(f"proof purpose is {proof.get('proofPurpose')!r}, not {proof_purpose!r}")
    method = proof.get("verificationMethod")
    if isinstance(method, dict):
        method = method.get("id")
    if not isinstance(method, str) or not method:
        raise ProofError("proof has no verificationMethod")
    _datetime(proof, "created")
    expires = _datetime(proof, "expires")
    if expires is not None and expires <= (now or datetime.now(UTC)):
        raise ProofError("proof has expired")


def verify(
    document: Mapping[str, Any],
    public_key: ed25519.Ed25519PublicKey,
    *,
    proof_purpose: str = ASSERTION_METHOD,
    now: datetime | None = None,
) -> None:
    """Check the document's eddsa-jcs-2022 proof against ``public_key``; ProofError if not.

    The key must already be resolved from ``verification_method(document)`` and bound to the
    actor (``resolve_key``); this checks only that it signed exactly this document.
    """
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise TypeError("eddsa-jcs-2022 verifies with an Ed25519 public key")
    if not isinstance(document, Mapping):
        raise ProofError("the document is not a JSON object")
    proof = proof_of(document)
    if proof is None:
        raise ProofError(
            "the document has no proof" if "proof" not in document else "expected one proof"
        )
    _check(proof, proof_purpose, now)
    signature = _signature_bytes(proof.get("proofValue"))
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    # FEP-8b32: an LD signature is added after the proof, so it is not part of what was signed.
    unsecured = {key: value for key, value in document.items() if key not in ("proof", "signature")}
    if "@context" in options:
        # The proof may carry the context it was made under: the document must start with it,
        # and the proof is checked under exactly that context (cryptosuite §3.3.2 step 4).
        proof_context = _as_list(options["@context"])
        document_context = _as_list(document.get("@context"))
        if "@context" not in document or document_context[: len(proof_context)] != proof_context:
            raise ProofError("the document's @context does not start with the proof's @context")
        # The cryptosuite lets anything be appended; we accept only what a later signature may
        # legitimately add. An appended inline context could re-map signed terms for anyone who
        # reads the document as JSON-LD, which the proof would not show.
        for entry in document_context[len(proof_context) :]:
            if _context_key(entry) not in _SIGNATURE_CONTEXTS:
                raise ProofError("the document's @context adds entries the proof does not cover")
        unsecured["@context"] = options["@context"]
    config = dict(options)
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    candidates = [unsecured]
    if "signature" in document:
        # A signer that ignored FEP-8b32's order signed the document with its LD signature.
        candidates.append({**unsecured, "signature": document["signature"]})
    for candidate in candidates:
        try:
            data = _hash_data(config, candidate)
        except CanonicalizationError as exc:
            raise ProofError(f"the document cannot be canonicalised: {exc}") from None
        try:
            public_key.verify(signature, data)
        except InvalidSignature:
            continue
        return
    raise ProofError("the proof does not match the document")
