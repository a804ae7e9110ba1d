"""draft-cavage-http-signatures-12 request signing and verification.

This is the scheme Mastodon, Misskey, GoToSocial and most of the fediverse use:
``Signature: keyId="...",algorithm="...",headers="...",signature="..."``. Besides the
draft's rules, verification applies the policy Mastodon applies (see ``verify_request``),
so that what we accept and what we send interoperate with it.

Pure code: no I/O. Keys are ``cryptography`` objects (RSA or Ed25519).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from cityfed.activitypub import sigalgs
from cityfed.activitypub.digest import digest_header, verify_digest_header
from cityfed.activitypub.headers import (
    format_http_date,
    lower_headers,
    parse_http_date,
    request_authority,
    timestamp,
)
from cityfed.activitypub.sigerrors import SignatureError

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class CavageSignature:
    """A parsed ``Signature`` header. ``headers`` are lower-cased, in signing order."""

    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes
    created: int | None = None
    expires: int | None = None


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------

# ``name="value"`` (or ``name=123`` for created/expires) pairs separated by commas. The whole
# header is validated by one fullmatch, then the pairs are pulled out by one findall: two
# passes in C are cheaper than a Python loop over the parameters.
_PARAM = r'([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(?:"([^"]*)"|([0-9]+(?:\.[0-9]+)?))'
_HEADER_RE = re.compile(rf"[ \t,]*(?:{_PARAM}[ \t]*(?:,[ \t,]*|\Z))*")
_PARAM_RE = re.compile(_PARAM)


def _int_param(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        # The draft allows a fractional part; whole seconds are all we compare against.
        return int(float(raw))
    except ValueError:
        raise SignatureError(f"signature parameter {name} is not a number") from None


def parse_signature_header(value: str) -> CavageSignature:
    """Parse the value of a ``Signature`` header. Raises SignatureError if malformed."""
    if _HEADER_RE.fullmatch(value) is None:
        raise SignatureError("malformed Signature header")
    pairs = _PARAM_RE.findall(value)
    # Parameter names are case-sensitive in the draft, but some senders write "keyid".
    params = {name.lower(): quoted or number for name, quoted, number in pairs}
    if len(params) != len(pairs):
        raise SignatureError("duplicate parameter in Signature header")

    key_id = params.get("keyid")
    if not key_id:
        raise SignatureError("Signature header has no keyId")
    encoded = params.get("signature")
    if not encoded:
        raise SignatureError("Signature header has no signature")
    try:
        signature = binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError):
        raise SignatureError("signature is not valid base64") from None

    header_list = params.get("headers")
    if header_list is None:
        headers: tuple[str, ...] = ("date",)  # the draft's default
    else:
        headers = tuple(header_list.lower().split())
        if not headers:
            raise SignatureError("Signature header has an empty headers list")

    return CavageSignature(
        key_id=key_id,
        # A missing algorithm means "derive it from the key", which is what hs2019 says too.
        algorithm=(params.get("algorithm") or "hs2019").lower(),
        headers=headers,
        signature=signature,
        created=_int_param(params, "created"),
        expires=_int_param(params, "expires"),
    )


def parse_authorization_header(value: str) -> CavageSignature:
    """Parse ``Authorization: Signature keyId=...`` (the draft's alternative carrier)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "signature":
        raise SignatureError("Authorization header does not use the Signature scheme")
    return parse_signature_header(rest)


# --------------------------------------------------------------------------------------
# Signing string
# --------------------------------------------------------------------------------------


def _signing_string(
    sig_headers: Sequence[str],
    method: str,
    target: str,
    headers: dict[str, str],
    created: int | None,
    expires: int | None,
) -> str:
    lines = []
    for raw_name in sig_headers:
        name = raw_name.lower()
        if name == "(request-target)":
            value = f"{method.lower()} {target}"
        elif name == "(created)":
            if created is None:
                raise SignatureError("(created) is signed but the created parameter is missing")
            value = str(created)
        elif name == "(expires)":
            if expires is None:
                raise SignatureError("(expires) is signed but the expires parameter is missing")
            value = str(expires)
        else:
            found = headers.get(name)
            if found is None:
                raise SignatureError(f"header {name!r} is signed but missing from the request")
            value = found.strip()
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def signing_string(
    sig_headers: Sequence[str],
    method: str,
    target: str,
    headers: Mapping[str, str],
    *,
    created: int | None = None,
    expires: int | None = None,
) -> str:
    """Build the draft-cavage signing string.

    ``target`` is the path plus ``?query`` if any; ``headers`` may be any mapping (names are
    matched case-insensitively). ``created``/``expires`` feed the pseudo-headers of the same
    name. A covered header that is absent raises SignatureError naming it.
    """
    return _signing_string(sig_headers, method, target, lower_headers(headers), created, expires)


# --------------------------------------------------------------------------------------
# Crypto
# --------------------------------------------------------------------------------------

_Verifier = Callable[[bytes, bytes], None]  # (signature, data) -> None or InvalidSignature


def _verifier(algorithm: str, key: Any) -> _Verifier:
    """Pick the check for ``algorithm`` and make sure the key is of a matching type."""
    kind = sigalgs.key_kind(key)
    if algorithm == "rsa-sha256" or (algorithm == "hs2019" and kind == "rsa"):
        if kind != "rsa":
            raise SignatureError(f"algorithm {algorithm} needs an RSA key")
        # hs2019 with an RSA key means RSASSA-PKCS1-v1_5/SHA-256 in practice (Mastodon).
        return lambda sig, data: key.verify(sig, data, sigalgs.PKCS1, sigalgs.SHA256)
    if algorithm in ("hs2019", "ed25519"):
        if kind != "ed25519":
            wanted = "an Ed25519" if algorithm == "ed25519" else "an RSA or Ed25519"
            raise SignatureError(f"algorithm {algorithm} needs {wanted} key")
        return lambda sig, data: key.verify(sig, data)
    raise SignatureError(f"unsupported signature algorithm {algorithm!r}")


def algorithm_for_key(private_key: PrivateKey) -> str:
    """The ``algorithm`` value we announce when signing with ``private_key``."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        return "rsa-sha256"
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return "hs2019"
    raise TypeError(f"unsupported private key type {type(private_key).__name__}")


def sign_string(string: str, private_key: PrivateKey) -> bytes:
    """Sign a signing string: RSASSA-PKCS1-v1_5/SHA-256 for RSA keys, Ed25519 otherwise."""
    data = string.encode("utf-8", "surrogateescape")
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, sigalgs.PKCS1, sigalgs.SHA256)
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(data)
    raise TypeError(f"unsupported private key type {type(private_key).__name__}")


def verify_signature(sig: CavageSignature, string: str, public_key: PublicKey) -> None:
    """Only the cryptographic check of ``sig`` over an already-built signing string.

    No policy (covered headers, clock, digest) is applied: use ``verify_request`` for that.
    """
    check = _verifier(sig.algorithm, public_key)
    try:
        check(sig.signature, string.encode("utf-8", "surrogateescape"))
    except InvalidSignature:
        raise SignatureError("signature does not verify") from None


@functools.lru_cache(maxsize=4096)
def load_public_key_pem(pem: str) -> PublicKey:
    """Load an actor's ``publicKeyPem``; cached because the same few keys sign most traffic."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm):
        raise SignatureError("public key PEM cannot be parsed") from None
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise SignatureError(f"unsupported public key type {type(key).__name__}")
    return key


# --------------------------------------------------------------------------------------
# Signing and verifying requests
# --------------------------------------------------------------------------------------


def _host_from_url(url: str) -> tuple[str, str]:
    """(host[:port], path[?query]) of ``url``; the port is dropped when it is the default."""
    parts = urlsplit(url)
    if not parts.netloc:
        raise ValueError(f"URL has no host: {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return request_authority(parts.scheme, parts.netloc), target


def sign_request(
    method: str,
    url: str,
    private_key: PrivateKey,
    key_id: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
    *,
    digest: str | None = None,
    date: str | None = None,
) -> dict[str, str]:
    """Sign an outgoing request; returns the headers to add to it.

    Always: Host, Date and Signature, covering ``(request-target) host date``. With a body
    also Digest, plus Content-Type when ``headers`` has one; both are then covered too.
    A sender of one body to many inboxes passes its ``digest`` (the Digest header value)
    instead of the body, and may pass the ``date`` header it formatted already.
    """
    if '"' in key_id:
        raise ValueError("key_id must not contain a double quote")
    host, target = _host_from_url(url)
    date = date or format_http_date(now)
    out = {"Host": host, "Date": date}
    signed = {"host": host, "date": date}
    covered = ["(request-target)", "host", "date"]
    content_type = lower_headers(headers).get("content-type") if headers else None
    if content_type is not None:
        out["Content-Type"] = content_type
    if body is not None or digest is not None:
        out["Digest"] = signed["digest"] = digest or digest_header(body or b"")
        covered.append("digest")
        if content_type is not None:
            signed["content-type"] = content_type
            covered.append("content-type")
    string = _signing_string(covered, method, target, signed, None, None)
    signature = base64.b64encode(sign_string(string, private_key)).decode("ascii")
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="{algorithm_for_key(private_key)}",'
        f'headers="{" ".join(covered)}",signature="{signature}"'
    )
    return out


def check_policy(
    sig: CavageSignature,
    method: str,
    headers: Mapping[str, str],
    *,
    body: bytes | None,
    now: datetime | None = None,
    max_skew: int = 3600,
) -> None:
    """Every rule of ``verify_request`` that needs no key: covered headers, clock, digest.

    An inbox runs it before fetching an unknown key, so a request that would fail anyway costs
    no request to the key's host.
    """
    _check_policy(sig, method, lower_headers(headers), body, timestamp(now), max_skew)


def _check_policy(
    sig: CavageSignature,
    method: str,
    lowered: Mapping[str, str],
    body: bytes | None,
    now_ts: float,
    max_skew: int,
) -> None:
    covered = sig.headers
    if "(request-target)" not in covered:
        raise SignatureError("signature does not cover (request-target)")
    if "host" not in covered:
        raise SignatureError("signature does not cover host")
    has_date = "date" in covered
    has_created = "(created)" in covered
    if not (has_date or has_created):
        raise SignatureError("signature covers neither date nor (created)")
    if has_date:
        date = lowered.get("date")
        if date is None:
            raise SignatureError("header 'date' is signed but missing from the request")
        if abs(now_ts - parse_http_date(date)) > max_skew:
            raise SignatureError("Date header is too far from the current time")
    if has_created:
        if sig.created is None:
            raise SignatureError("(created) is signed but the created parameter is missing")
        if sig.created - now_ts > max_skew:
            raise SignatureError("signature created time is in the future")
        if now_ts - sig.created > max_skew:
            raise SignatureError("signature is too old")
    if sig.expires is not None and now_ts > sig.expires:
        raise SignatureError("signature has expired")

    if body is not None or method.upper() == "POST":
        if "digest" not in covered:
            raise SignatureError("signature does not cover digest on a request with a body")
        digest = lowered.get("digest")
        if digest is None:
            raise SignatureError("header 'digest' is signed but missing from the request")
        verify_digest_header(digest, body if body is not None else b"")


def verify_request(
    sig: CavageSignature,
    method: str,
    target: str,
    headers: Mapping[str, str],
    public_key: PublicKey,
    *,
    body: bytes | None,
    now: datetime | None = None,
    max_skew: int = 3600,
) -> None:
    """Verify an incoming request's signature; raises SignatureError(reason) unless valid.

    Policy, matching Mastodon's:

    * ``(request-target)`` and ``host`` must be covered, and ``date`` or ``(created)``;
    * the covered Date / created must be within ``max_skew`` seconds of ``now``, and an
      ``expires`` parameter must not have passed;
    * when there is a body (or the method is POST) ``digest`` must be covered and match it;
    * ``rsa-sha256`` needs an RSA key; ``hs2019`` follows the key type; ``ed25519`` needs
      an Ed25519 key; any other algorithm is refused.

    If the signature does not verify over ``target`` and ``target`` has a query string, the
    path alone is tried too, because Misskey signs ``(request-target)`` without the query.
    """
    lowered = lower_headers(headers)
    _check_policy(sig, method, lowered, body, timestamp(now), max_skew)
    # The algorithm/key pairing before the per-request work of building the signing string.
    check = _verifier(sig.algorithm, public_key)
    covered = sig.headers
    string = _signing_string(covered, method, target, lowered, sig.created, sig.expires)
    try:
        check(sig.signature, string.encode("utf-8", "surrogateescape"))
        return
    except InvalidSignature:
        pass
    path, has_query, _ = target.partition("?")
    if has_query:
        string = _signing_string(covered, method, path, lowered, sig.created, sig.expires)
        try:
            check(sig.signature, string.encode("utf-8", "surrogateescape"))
            return
        except InvalidSignature:
            pass
    raise SignatureError("signature does not verify")
