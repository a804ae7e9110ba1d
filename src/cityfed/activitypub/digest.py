"""Body digests for signed HTTP requests.

Two header formats are in use on the fediverse:

* ``Digest: SHA-256=<base64>`` (RFC 3230), which draft-cavage signatures cover;
* ``Content-Digest: sha-256=:<base64>:`` (RFC 9530), which RFC 9421 signatures cover.

Content-Digest is an RFC 8941 structured-field Dictionary, and so are the RFC 9421
``Signature-Input`` / ``Signature`` fields, so the small structured-field parser both need
lives here too (rfc9421 imports it; keeping it here avoids an import cycle).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from typing import NamedTuple

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


# --------------------------------------------------------------------------------------
# RFC 8941 structured fields: the subset needed for Dictionaries of Items and Inner Lists
# --------------------------------------------------------------------------------------


class Token(str):
    """An RFC 8941 Token, kept distinct from a quoted String (``foo`` vs ``"foo"``)."""

    __slots__ = ()


BareItem = int | float | str | bytes | bool
Params = dict[str, BareItem]


class SFItem(NamedTuple):
    """An Item: a bare value plus its parameters."""

    value: BareItem
    params: Params


class SFMember(NamedTuple):
    """A Dictionary member. ``raw`` is the member value exactly as it appeared in the field
    (everything after ``key=``, parameters included): RFC 9421 signs that text verbatim."""

    value: BareItem | list[SFItem]
    params: Params
    raw: str


# Regexes are compiled once; each is matched at a position, never searched.
_KEY_RE = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_STRING_RE = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_UNESCAPE_RE = re.compile(r"\\(.)")
_TOKEN_RE = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_BINARY_RE = re.compile(r":([A-Za-z0-9+/=]*):")
_NUMBER_RE = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")
_OWS_RE = re.compile(r"[ \t]*")
_SP_RE = re.compile(r" *")
_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")


def _sf_error(what: str, pos: int) -> SignatureError:
    return SignatureError(f"malformed structured field: {what} at offset {pos}")


def _parse_bare_item(s: str, pos: int) -> tuple[BareItem, int]:
    if pos >= len(s):
        raise _sf_error("missing value", pos)
    c = s[pos]
    if c == '"':
        m = _STRING_RE.match(s, pos)
        if m is None:
            raise _sf_error("bad string", pos)
        text = m.group(1)
        if "\\" in text:
            text = _UNESCAPE_RE.sub(r"\1", text)
        return text, m.end()
    if c == ":":
        m = _BINARY_RE.match(s, pos)
        if m is None:
            raise _sf_error("bad byte sequence", pos)
        return _b64decode(m.group(1), "byte sequence"), m.end()
    if c == "?":
        flag = s[pos + 1 : pos + 2]
        if flag not in ("0", "1"):
            raise _sf_error("bad boolean", pos)
        return flag == "1", pos + 2
    if c == "-" or c in _DIGITS:
        m = _NUMBER_RE.match(s, pos)
        if m is None:
            raise _sf_error("bad number", pos)
        whole, frac = m.group(1), m.group(2)
        if frac is None:
            if len(whole) > 15:
                raise _sf_error("integer too long", pos)
            return int(m.group()), m.end()
        if len(whole) > 12 or len(frac) > 3:
            raise _sf_error("decimal too long", pos)
        return float(m.group()), m.end()
    if c in _ALPHA or c == "*":
        m = _TOKEN_RE.match(s, pos)
        assert m is not None  # the first character already matches
        return Token(m.group()), m.end()
    raise _sf_error(f"unexpected character {c!r}", pos)


def _skip(pattern: re.Pattern[str], s: str, pos: int) -> int:
    """``pos`` after the run of ``pattern`` there (it matches the empty string: never None)."""
    m = pattern.match(s, pos)
    assert m is not None
    return m.end()


def _parse_params(s: str, pos: int) -> tuple[Params, int]:
    params: Params = {}
    n = len(s)
    while pos < n and s[pos] == ";":
        pos = _skip(_SP_RE, s, pos + 1)
        m = _KEY_RE.match(s, pos)
        if m is None:
            raise _sf_error("bad parameter key", pos)
        pos = m.end()
        value: BareItem = True
        if pos < n and s[pos] == "=":
            value, pos = _parse_bare_item(s, pos + 1)
        params[m.group()] = value
    return params, pos


def _parse_inner_list(s: str, pos: int) -> tuple[list[SFItem], int]:
    # s[pos] == "("; the list's own parameters are parsed by the caller.
    items: list[SFItem] = []
    n = len(s)
    pos += 1
    while True:
        pos = _skip(_SP_RE, s, pos)
        if pos >= n:
            raise _sf_error("unterminated inner list", pos)
        if s[pos] == ")":
            return items, pos + 1
        value, pos = _parse_bare_item(s, pos)
        params, pos = _parse_params(s, pos)
        items.append(SFItem(value, params))
        if pos >= n or s[pos] not in " )":
            raise _sf_error("inner list items must be separated by spaces", pos)


def parse_sf_dictionary(text: str) -> dict[str, SFMember]:
    """Parse an RFC 8941 Dictionary. Raises SignatureError on any syntax error.

    Supports Items (integers, decimals, strings, tokens, byte sequences, booleans) and
    Inner Lists, each with parameters. A key without ``=value`` is Boolean true. As the RFC
    requires, a repeated key overrides the earlier one.
    """
    s = text.strip(" \t")
    out: dict[str, SFMember] = {}
    n = len(s)
    if n == 0:
        return out
    pos = 0
    while True:
        m = _KEY_RE.match(s, pos)
        if m is None:
            raise _sf_error("bad dictionary key", pos)
        key = m.group()
        pos = start = m.end()
        value: BareItem | list[SFItem]
        if pos < n and s[pos] == "=":
            start = pos + 1
            if start < n and s[start] == "(":
                value, pos = _parse_inner_list(s, start)
            else:
                value, pos = _parse_bare_item(s, start)
        else:
            value = True
        params, pos = _parse_params(s, pos)
        out[key] = SFMember(value, params, s[start:pos])
        pos = _skip(_OWS_RE, s, pos)
        if pos >= n:
            return out
        if s[pos] != ",":
            raise _sf_error("expected ',' between dictionary members", pos)
        pos = _skip(_OWS_RE, s, pos + 1)
        if pos >= n:
            raise _sf_error("trailing comma", pos)


_PRINTABLE_RE = re.compile(r"[\x20-\x7e]*")


def serialize_sf_string(value: str) -> str:
    """Serialize ``value`` as an RFC 8941 String (quoted, with ``\\`` and ``"`` escaped)."""
    if not _PRINTABLE_RE.fullmatch(value):
        raise ValueError(f"not representable as a structured-field string: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
