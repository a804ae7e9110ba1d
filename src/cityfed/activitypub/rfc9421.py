"""RFC 9421 HTTP Message Signatures for requests (``Signature-Input`` + ``Signature``).

The newer standard some servers (e.g. recent Mastodon, Bonfire) send and accept alongside
draft-cavage. Only requests are handled: the ``@status`` component, the ``req`` / ``sf`` /
``bs`` / ``tr`` / ``key`` component flags and ``hmac-sha256`` are rejected as unsupported.
Verification applies our federation policy on top of the RFC (see ``verify``).

Pure code: no I/O. Keys are ``cryptography`` objects.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from cityfed.activitypub import sigalgs
from cityfed.activitypub.digest import content_digest_header, verify_content_digest
from cityfed.activitypub.headers import lower_headers, request_authority, timestamp
from cityfed.activitypub.sfv import Token, parse_sf_dictionary, serialize_sf_string
from cityfed.activitypub.sigerrors import SignatureError

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class MessageSignature:
    """One signature from a request: a ``Signature-Input`` member and its ``Signature``.

    ``components`` are the covered component names in order; ``component_params`` holds each
    one's parameters (only ``@query-param;name=...`` is supported), empty when none have any.
    ``signature_params`` is the inner list exactly as received: it is signed verbatim.
    """

    label: str
    components: tuple[str, ...]
    params: dict[str, Any]
    signature_params: str
    signature: bytes
    component_params: tuple[dict[str, Any], ...] = field(default=())

    @property
    def key_id(self) -> str | None:
        return self.params.get("keyid")

    @property
    def created(self) -> int | None:
        return self.params.get("created")

    @property
    def expires(self) -> int | None:
        return self.params.get("expires")

    @property
    def alg(self) -> str | None:
        return self.params.get("alg")


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------

_INT_PARAMS = ("created", "expires")
_STR_PARAMS = ("keyid", "alg", "nonce", "tag")


def _check_params(label: str, params: dict[str, Any]) -> dict[str, Any]:
    for name in _INT_PARAMS:
        # bool is an int subclass, and ?1 must not pass for a timestamp.
        if name in params and type(params[name]) is not int:
            raise SignatureError(f"signature {label}: {name} must be an integer")
    for name in _STR_PARAMS:
        if name in params and (
            not isinstance(params[name], str) or isinstance(params[name], Token)
        ):
            raise SignatureError(f"signature {label}: {name} must be a string")
    return params


def parse_signatures(headers: Mapping[str, str]) -> list[MessageSignature]:
    """All signatures declared in ``Signature-Input``, in order, with their ``Signature``.

    Raises SignatureError if either field is missing or malformed, or if a declared label
    has no signature value. Signature values without a declaration are ignored.
    """
    lowered = lower_headers(headers)
    inputs_field = lowered.get("signature-input")
    sigs_field = lowered.get("signature")
    if inputs_field is None or sigs_field is None:
        raise SignatureError("request has no Signature-Input and Signature headers")
    inputs = parse_sf_dictionary(inputs_field)
    if not inputs:
        raise SignatureError("Signature-Input is empty")
    sigs = parse_sf_dictionary(sigs_field)

    out = []
    for label, member in inputs.items():
        if not isinstance(member.value, list):
            raise SignatureError(f"Signature-Input {label} is not an inner list")
        names = []
        cparams = []
        for item in member.value:
            if not isinstance(item.value, str) or isinstance(item.value, Token):
                raise SignatureError(f"Signature-Input {label}: components must be strings")
            names.append(item.value)
            cparams.append(item.params)
        sig_member = sigs.get(label)
        if sig_member is None:
            raise SignatureError(f"no Signature value for label {label}")
        if not isinstance(sig_member.value, bytes):
            raise SignatureError(f"Signature {label} is not a byte sequence")
        out.append(
            MessageSignature(
                label=label,
                components=tuple(names),
                params=_check_params(label, member.params),
                signature_params=member.raw,
                signature=sig_member.value,
                component_params=tuple(cparams) if any(cparams) else (),
            )
        )
    return out


# --------------------------------------------------------------------------------------
# Signature base
# --------------------------------------------------------------------------------------

_OBS_FOLD_RE = re.compile(r"[ \t]*\r?\n[ \t]*")
_FIELD_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")


def _query_param_encode(value: str) -> str:
    # RFC 9421 §2.2.8: names and values are compared and signed re-encoded with the WHATWG
    # application/x-www-form-urlencoded percent-encode set, spaces as %20. That set keeps
    # only ASCII alphanumerics and *-._ unescaped; quote() also keeps "~", so escape it.
    return quote(value, safe="*").replace("~", "%7E")


def _query_params(query: str, name: str) -> list[str]:
    values = []
    for pair in query.split("&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition("=")
        if _query_param_encode(unquote_plus(raw_name)) == name:
            values.append(_query_param_encode(unquote_plus(raw_value)))
    return values


def _serialize_params(params: Mapping[str, Any]) -> str:
    parts = []
    for key, value in params.items():
        if value is True:
            parts.append(f";{key}")
        elif isinstance(value, Token) or type(value) is int:
            parts.append(f";{key}={value}")
        elif isinstance(value, str):
            parts.append(f";{key}={serialize_sf_string(value)}")
        else:
            raise SignatureError(f"unsupported parameter value for {key}")
    return "".join(parts)


def _signature_base(sig: MessageSignature, method: str, url: str, headers: dict[str, str]) -> bytes:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    lines: list[str] = []
    seen = set()
    for i, name in enumerate(sig.components):
        cparams = sig.component_params[i] if sig.component_params else None
        ident = serialize_sf_string(name)
        if cparams:
            if name != "@query-param" or set(cparams) != {"name"}:
                raise SignatureError(
                    f"component {name} with parameters {sorted(cparams)} is not supported"
                )
            ident += _serialize_params(cparams)
        if ident in seen:
            raise SignatureError(f"component {ident} is covered twice")
        seen.add(ident)

        if name == "@method":
            value = method
        elif name == "@target-uri":
            value = url
        elif name == "@authority":
            value = request_authority(scheme, parts.netloc)
        elif name == "@scheme":
            value = scheme
        elif name == "@request-target":
            value = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        elif name == "@path":
            value = parts.path or "/"
        elif name == "@query":
            value = f"?{parts.query}"
        elif name == "@query-param":
            wanted = cparams.get("name") if cparams else None
            if not isinstance(wanted, str) or isinstance(wanted, Token):
                raise SignatureError("@query-param needs a string name parameter")
            values = _query_params(parts.query, wanted)
            if not values:
                raise SignatureError(f"query parameter {wanted!r} is signed but missing")
            lines.extend(f"{ident}: {v}" for v in values)
            continue
        elif name.startswith("@"):
            raise SignatureError(f"unsupported derived component {name}")
        else:
            if not _FIELD_NAME_RE.fullmatch(name):
                raise SignatureError(f"component {name!r} is not a lower-case field name")
            found = headers.get(name)
            if found is None:
                raise SignatureError(f"header {name!r} is signed but missing from the request")
            value = found.strip(" \t")
            if "\n" in value:
                value = _OBS_FOLD_RE.sub(" ", value)
        lines.append(f"{ident}: {value}")
    lines.append(f'"@signature-params": {sig.signature_params}')
    # surrogateescape round-trips header bytes that the HTTP layer decoded leniently.
    return "\n".join(lines).encode("utf-8", "surrogateescape")


def signature_base(
    sig: MessageSignature, method: str, url: str, headers: Mapping[str, str]
) -> bytes:
    """The RFC 9421 signature base of ``sig`` for a request.

    ``url`` is the full target URI (scheme, authority, path, query) as the request was
    addressed: ``@target-uri`` uses it verbatim and the other URI components are derived
    from it (``@authority`` normalised as RFC 9110 says). ``headers`` may be any mapping,
    names matched case-insensitively, repeated fields already combined or given as a
    multi-dict. Unsupported or missing components raise SignatureError.
    """
    return _signature_base(sig, method, url, lower_headers(headers))


def verify_base(
    sig: MessageSignature, base: bytes, public_key: PublicKey, *, algorithm: str | None = None
) -> None:
    """Only the cryptographic check of ``sig`` over an already-built signature base.

    The algorithm is the signature's ``alg`` parameter, else ``algorithm`` (what the
    application expects for this key), else inferred from the key type. If both ``alg``
    and ``algorithm`` are given they must agree.
    """
    alg = sig.params.get("alg")
    if alg is not None and algorithm is not None and alg != algorithm:
        raise SignatureError(f"signature alg {alg} is not the expected {algorithm}")
    alg = alg or algorithm or sigalgs.default_algorithm(public_key)
    try:
        sigalgs.verify(alg, public_key, sig.signature, base)
    except InvalidSignature:
        raise SignatureError(f"signature {sig.label} does not verify") from None


def sign_base(base: bytes, private_key: PrivateKey, alg: str | None = None) -> bytes:
    """Sign a signature base; ``alg`` defaults to the one implied by the key type."""
    return sigalgs.sign(alg or sigalgs.default_algorithm(private_key), private_key, base)


# --------------------------------------------------------------------------------------
# Signing and verifying requests
# --------------------------------------------------------------------------------------

_LABEL_RE = re.compile(r"[a-z*][a-z0-9_\-.*]*")


def sign_request(
    method: str,
    url: str,
    private_key: PrivateKey,
    key_id: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    label: str = "sig1",
    created: int | None = None,
    components: Sequence[str] | None = None,
    include_alg: bool = True,
) -> dict[str, str]:
    """Sign an outgoing request; returns the headers to add (Signature-Input, Signature,
    and Content-Digest when there is a body).

    By default covers ``@method``, ``@target-uri`` and, with a body, ``content-digest``;
    ``components`` overrides that (header components are read from ``headers``). Parameters
    are ``created``, ``keyid`` and, unless ``include_alg`` is false, ``alg``.
    """
    if not _LABEL_RE.fullmatch(label):
        raise ValueError(f"invalid signature label {label!r}")
    lowered = lower_headers(headers) if headers else {}
    out = {}
    if body is not None:
        out["Content-Digest"] = lowered["content-digest"] = content_digest_header(body)
    if components is None:
        components = ("@method", "@target-uri")
        if body is not None:
            components += ("content-digest",)
    alg = sigalgs.default_algorithm(private_key)
    if created is None:
        created = int(time.time())
    inner = " ".join(serialize_sf_string(c) for c in components)
    params = f"({inner});created={created};keyid={serialize_sf_string(key_id)}"
    if include_alg:
        params += f';alg="{alg}"'
    sig = MessageSignature(label, tuple(components), {}, params, b"")
    signature = sign_base(_signature_base(sig, method, url, lowered), private_key, alg)
    out["Signature-Input"] = f"{label}={params}"
    out["Signature"] = f"{label}=:{base64.b64encode(signature).decode('ascii')}:"
    return out


def check_policy(
    sig: MessageSignature,
    method: str,
    headers: Mapping[str, str],
    *,
    body: bytes | None,
    now: datetime | None = None,
    max_skew: int = 3600,
) -> None:
    """Every rule of ``verify`` that needs no key (created, covered components, content-digest),
    so an inbox can refuse a request before it fetches an unknown key."""
    _check_policy(sig, method, lower_headers(headers), body, timestamp(now), max_skew)


def _check_policy(
    sig: MessageSignature,
    method: str,
    lowered: Mapping[str, str],
    body: bytes | None,
    now_ts: float,
    max_skew: int,
) -> None:
    created = sig.params.get("created")
    if created is None:
        raise SignatureError(f"signature {sig.label} has no created parameter")
    if created - now_ts > max_skew:
        raise SignatureError(f"signature {sig.label} was created in the future")
    if now_ts - created > max_skew:
        raise SignatureError(f"signature {sig.label} is too old")
    expires = sig.params.get("expires")
    if expires is not None and now_ts > expires:
        raise SignatureError(f"signature {sig.label} has expired")

    covered = sig.components
    if "@method" not in covered:
        raise SignatureError(f"signature {sig.label} does not cover @method")
    if "@target-uri" not in covered and not ("@authority" in covered and "@path" in covered):
        raise SignatureError(
            f"signature {sig.label} covers neither @target-uri nor @authority and @path"
        )

    if body is not None or method.upper() == "POST":
        if "content-digest" not in covered:
            raise SignatureError(
                f"signature {sig.label} does not cover content-digest on a request with a body"
            )
        digest = lowered.get("content-digest")
        if digest is None:
            raise SignatureError("header 'content-digest' is signed but missing")
        verify_content_digest(digest, body if body is not None else b"")


def verify(
    sig: MessageSignature,
    method: str,
    url: str,
    headers: Mapping[str, str],
    public_key: PublicKey,
    *,
    body: bytes | None,
    now: datetime | None = None,
    max_skew: int = 3600,
    algorithm: str | None = None,
) -> None:
    """Verify one signature of an incoming request; raises SignatureError(reason) unless valid.

    Policy on top of RFC 9421:

    * ``created`` is required and must be within ``max_skew`` seconds of ``now``;
      ``expires``, if present, must not have passed;
    * ``@method`` must be covered, and ``@target-uri`` or both ``@authority`` and ``@path``;
    * with a body (or for POST) ``content-digest`` must be covered and match the body.

    ``algorithm`` is the algorithm the application expects for this key; see verify_base.
    """
    lowered = lower_headers(headers)
    _check_policy(sig, method, lowered, body, timestamp(now), max_skew)
    verify_base(sig, _signature_base(sig, method, url, lowered), public_key, algorithm=algorithm)
