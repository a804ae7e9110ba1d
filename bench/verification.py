"""What each kind of signature costs to verify, per activity, on one core.

One cityfed-style activity (a ``Create{Note}`` comment with our @context, about 2.5 KB) is signed
the way ``federation/signing.py`` signs ours: an FEP-8b32 ``eddsa-jcs-2022`` proof and an
RsaSignature2017 LD signature, made independently; it is POSTed with a draft-cavage signature.
Measured, in microseconds per activity (median of several rounds, this process pinned):

* ``cavage``: parse the Signature header and ``verify_request`` (Date, Digest of the body, the
  RSA-2048 check), as the inbox does for every request;
* ``proof``: ``proof.verify`` of the parsed document (two JCS canonicalisations, two SHA-256,
  one Ed25519 check), as for a forwarded activity;
* ``ldsig``: ``ldsig.verify`` (pyld to RDF, URDNA2015, RSA), as for a forwarded activity that
  only carries an LD signature; with our documents (proof and signature both present) that takes
  the third of its canonical forms, which is what a cityfed peer forwarding ours costs.

Baseline: one bare RSA-2048 PKCS#1 v1.5 / SHA-256 verification of the same body (the floor of
any RSA-signed scheme). A bare ``orjson.loads`` of the body is printed for scale.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from bench import common


def _document() -> dict[str, Any]:
    from cityfed.activitypub.jsonld import DEFAULT_CONTEXT, PUBLIC

    base = "https://berlin.city.example"
    note = f"{base}/comments/{uuid.uuid4()}"
    content = (
        "<p>We piloted the same cargo-bike scheme: 40 bikes at 12 stations, 9,000 trips in the "
        "first three months. Insurance and winter storage took longer than the bikes; our "
        "procurement template and the minutes are linked from the project page.</p>"
    )
    return {
        "@context": DEFAULT_CONTEXT,
        "id": f"{base}/activities/{uuid.uuid4()}",
        "type": "Create",
        "actor": f"{base}/actors/berlin",
        "published": "2026-05-04T10:00:00Z",
        "to": [PUBLIC],
        "cc": [f"{base}/actors/berlin/followers", "https://hamburg.city.example/actors/hamburg"],
        "object": {
            "id": note,
            "type": "Note",
            "attributedTo": f"{base}/actors/berlin",
            "inReplyTo": f"https://hamburg.city.example/projects/{uuid.uuid4()}",
            "context": f"https://hamburg.city.example/projects/{uuid.uuid4()}",
            "published": "2026-05-04T10:00:00Z",
            "to": [PUBLIC],
            "cc": [f"{base}/actors/berlin/followers"],
            "content": content,
            "tag": [
                {
                    "type": "Mention",
                    "href": "https://hamburg.city.example/actors/hamburg",
                    "name": "@hamburg@hamburg.city.example",
                }
            ],
        },
    }


def _time(work: Callable[[], object], iterations: int, rounds: int) -> float:
    """Median over ``rounds`` of the mean time of one call, in microseconds."""
    work()  # warm caches (parsed contexts, key objects)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(iterations):
            work()
        samples.append((time.perf_counter() - started) / iterations * 1e6)
    return statistics.median(samples)


def _measure() -> dict[str, float]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

    from cityfed.activitypub import cavage, ldsig, proof
    from cityfed.activitypub.jsonld import install_document_loader

    install_document_loader()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    actor = "https://berlin.city.example/actors/berlin"
    document = _document()
    base = {**document, "@context": proof.with_data_integrity_context(document["@context"])}
    signed = proof.sign(base, ed_key, f"{actor}#ed25519-key")
    signed["signature"] = ldsig.sign(base, rsa_key, f"{actor}#main-key")["signature"]
    body = orjson.dumps(signed)
    only_ld = {k: v for k, v in signed.items() if k != "proof"}
    url = "https://hamburg.city.example/inbox"
    headers = cavage.sign_request(
        "POST",
        url,
        rsa_key,
        f"{actor}#main-key",
        body=body,
        headers={"Content-Type": "application/activity+json"},
    )
    rsa_public, ed_public = rsa_key.public_key(), ed_key.public_key()
    parsed = orjson.loads(body)
    scale = common.scale()
    fast, slow = max(50, int(2000 * scale)), max(5, int(40 * scale))

    def check_cavage() -> None:
        sig = cavage.parse_signature_header(headers["Signature"])
        cavage.verify_request(sig, "POST", "/inbox", headers, rsa_public, body=body)

    message = body
    rsa_signature = rsa_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    return {
        "bytes": float(len(body)),
        "rsa": _time(lambda: rsa_public.verify(rsa_signature, message, pkcs1, sha256), fast, 7),
        "json": _time(lambda: orjson.loads(body), fast, 7),
        "cavage": _time(check_cavage, fast, 7),
        "proof": _time(lambda: proof.verify(parsed, ed_public), fast, 7),
        "ldsig": _time(lambda: ldsig.verify(signed, rsa_public), slow, 5),
        "ldsig_only": _time(lambda: ldsig.verify(only_ld, rsa_public), slow, 5),
    }


async def run() -> list[str]:
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {common.server_core()})
    try:
        costs = _measure()
    finally:
        os.sched_setaffinity(0, before)
    common.say(
        f"activity of {costs['bytes']:.0f} bytes; bare RSA-2048 verify {costs['rsa']:.1f} us, "
        f"bare orjson.loads {costs['json']:.1f} us"
    )
    common.say(
        f"LD signature alone (no proof beside it, Mastodon-style): {costs['ldsig_only']:.0f} us"
    )
    lines = []
    for name in ("cavage", "proof", "ldsig"):
        lines.append(common.bench_line(f"verify_{name}", costs[name], "us/activity", costs["rsa"]))
    return lines
