"""Signature algorithms by their RFC 9421 names, and which kind of key each one needs.

Shared by both HTTP signature schemes: RFC 9421 names its algorithm (or implies it by the key),
draft-cavage's ``rsa-sha256`` / ``hs2019`` come down to ``rsa-v1_5-sha256`` or ``ed25519``.
Pure code; keys are ``cryptography`` objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from cityfed.activitypub.sigerrors import SignatureError

# Stateless descriptors, built once instead of per signature.
PKCS1 = padding.PKCS1v15()
SHA256 = hashes.SHA256()
_PSS_SHA512 = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
_SHA512 = hashes.SHA512()
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def _verify_rsa_v15(key: Any, signature: bytes, data: bytes) -> None:
    key.verify(signature, data, PKCS1, SHA256)


def _verify_rsa_pss(key: Any, signature: bytes, data: bytes) -> None:
    key.verify(signature, data, _PSS_SHA512, _SHA512)


def _verify_ecdsa_p256(key: Any, signature: bytes, data: bytes) -> None:
    # RFC 9421 carries ECDSA signatures as raw r||s (32 bytes each), not DER.
    if len(signature) != 64:
        raise InvalidSignature
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    key.verify(encode_dss_signature(r, s), data, _ECDSA_SHA256)


def _verify_ed25519(key: Any, signature: bytes, data: bytes) -> None:
    key.verify(signature, data)


# isinstance() against cryptography's ABCs is slow (ABC subclass checks); the concrete key classes
# are few, so remember what each one is ("rsa", "ed25519", "ec" or None).
_KEY_KINDS: dict[type, str | None] = {}


def key_kind(key: Any) -> str | None:
    """ "rsa", "ed25519" or "p256" for a public or private key of that kind, else None."""
    cls = type(key)
    if cls not in _KEY_KINDS:
        kind = None
        if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
            kind = "rsa"
        elif isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
            kind = "ed25519"
        elif isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
            # Only P-256 is registered for RFC 9421 ECDSA; the curve is per key, not class.
            kind = "ec"
        _KEY_KINDS[cls] = kind
    kind = _KEY_KINDS[cls]
    if kind == "ec":
        return "p256" if isinstance(key.curve, ec.SECP256R1) else None
    return kind


# alg -> (key kind it needs, verifier)
_ALGORITHMS: dict[str, tuple[str, Callable[[Any, bytes, bytes], None]]] = {
    "rsa-v1_5-sha256": ("rsa", _verify_rsa_v15),
    "rsa-pss-sha512": ("rsa", _verify_rsa_pss),
    "ecdsa-p256-sha256": ("p256", _verify_ecdsa_p256),
    "ed25519": ("ed25519", _verify_ed25519),
}
# What a key implies when neither the signature nor the application names an algorithm.
_DEFAULT_ALG = {"rsa": "rsa-v1_5-sha256", "ed25519": "ed25519", "p256": "ecdsa-p256-sha256"}


def default_algorithm(key: object) -> str:
    kind = key_kind(key)
    alg = _DEFAULT_ALG.get(kind) if kind is not None else None
    if alg is None:
        raise SignatureError(f"unsupported key type {type(key).__name__}")
    return alg


def verify(alg: str, public_key: Any, signature: bytes, data: bytes) -> None:
    """Check ``signature``; SignatureError for an unknown algorithm or a key that does not fit
    it, InvalidSignature when the signature is wrong."""
    entry = _ALGORITHMS.get(alg)
    if entry is None:
        raise SignatureError(f"unsupported signature algorithm {alg!r}")
    needed, check = entry
    if key_kind(public_key) != needed:
        raise SignatureError(f"algorithm {alg} does not fit a {type(public_key).__name__}")
    check(public_key, signature, data)


def sign(alg: str, private_key: Any, data: bytes) -> bytes:
    """Sign ``data``; ValueError when ``alg`` is unknown or does not fit the key."""
    entry = _ALGORITHMS.get(alg)
    if entry is None or key_kind(private_key) != entry[0]:
        raise ValueError(f"cannot sign {alg} with a {type(private_key).__name__}")
    if alg == "rsa-v1_5-sha256":
        return bytes(private_key.sign(data, PKCS1, SHA256))
    if alg == "rsa-pss-sha512":
        return bytes(private_key.sign(data, _PSS_SHA512, _SHA512))
    if alg == "ecdsa-p256-sha256":
        r, s = decode_dss_signature(private_key.sign(data, _ECDSA_SHA256))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return bytes(private_key.sign(data))  # ed25519
