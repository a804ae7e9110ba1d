"""Body digests for signed HTTP requests.

Two header formats are in use on the fediverse:

* ``Digest: SHA-256=<base64>`` (RFC 3230), which draft-cavage signatures cover;
* ``Content-Digest: sha-256=:<base64>:`` (RFC 9530), which RFC 9421 signatures cover.

Content-Digest is an RFC 8941 structured-field Dictionary, parsed by ``sfv``.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from collections.abc import Callable

from cityfed.activitypub.sfv import parse_sf_dictionary
from cityfed.activitypub.sigerrors import SignatureError

# Algorithms we accept, keyed by their lower-cased registry names (both header formats use
# the same names, Digest just spells them in upper case).
_HASHES: dict[str, Callable[[bytes], hashlib._Hash]] = {
    "sha-256": hashlib.sha256,
    "sha-512": hashlib.sha512,
}


def _b64decode(value: str, what: str) -> bytes:
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{what} is not valid base64") from None


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


# --------------------------------------------------------------------------------------
# Digest (RFC 3230), used with draft-cavage signatures
# --------------------------------------------------------------------------------------


def digest_header(body: bytes) -> str:
    """Value of the ``Digest`` header for ``body``: ``SHA-256=<base64>``."""
    return "SHA-256=" + _b64(hashlib.sha256(body).digest())


def verify_digest_header(value: str, body: bytes) -> None:
    """Check a ``Digest`` header against ``body``.

    The header may list several ``alg=value`` entries. Entries with algorithms we do not
    know are ignored, but at least one supported entry must be present and every supported
    entry must match, so an attacker cannot pair a correct weak digest with a wrong strong
    one.
    """
    # Fast path for the one form nearly everybody sends, spelled exactly as we do. On any
    # difference fall through to the general parse, which is the authority.
    if value.startswith("SHA-256=") and value[8:] == _b64(hashlib.sha256(body).digest()):
        return
    checked = False
    for entry in value.split(","):
        name, sep, encoded = entry.strip().partition("=")
        if not sep:
            raise SignatureError("malformed Digest header entry")
        algo = _HASHES.get(name.strip().lower())
        if algo is None:
            continue
        expected = _b64decode(encoded.strip(), f"Digest {name.strip()} value")
        if not hmac.compare_digest(algo(body).digest(), expected):
            raise SignatureError(f"Digest {name.strip()} does not match the request body")
        checked = True
    if not checked:
        raise SignatureError("Digest header has no supported algorithm (SHA-256 or SHA-512)")


# --------------------------------------------------------------------------------------
# Content-Digest (RFC 9530), used with RFC 9421 signatures
# --------------------------------------------------------------------------------------


def content_digest_header(body: bytes, algorithm: str = "sha-256") -> str:
    """Value of the ``Content-Digest`` header for ``body``, e.g. ``sha-256=:<base64>:``."""
    name = algorithm.lower()
    algo = _HASHES.get(name)
    if algo is None:
        raise ValueError(f"unsupported Content-Digest algorithm {algorithm!r}")
    return f"{name}=:{_b64(algo(body).digest())}:"


def verify_content_digest(value: str, body: bytes) -> None:
    """Check a ``Content-Digest`` header against ``body`` (same rules as the Digest check)."""
    if (
        value.startswith("sha-256=:")
        and value == f"sha-256=:{_b64(hashlib.sha256(body).digest())}:"
    ):
        return  # fast path, as for Digest
    checked = False
    for name, member in parse_sf_dictionary(value).items():
        algo = _HASHES.get(name)
        if algo is None:
            continue
        if not isinstance(member.value, bytes):
            raise SignatureError(f"Content-Digest {name} is not a byte sequence")
        if not hmac.compare_digest(algo(body).digest(), member.value):
            raise SignatureError(f"Content-Digest {name} does not match the request body")
        checked = True
    if not checked:
        raise SignatureError("Content-Digest has no supported algorithm (sha-256 or sha-512)")
