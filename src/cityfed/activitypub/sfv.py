"""RFC 8941 structured field values: the parser and serializer HTTP signatures and digests need.

RFC 9421 ``Signature-Input`` / ``Signature`` and RFC 9530 ``Content-Digest`` are Dictionaries of
Items and Inner Lists. ``parse_sf_dictionary`` keeps each member's text exactly as it appeared
(``SFMember.raw``): RFC 9421 signs the ``@signature-params`` line verbatim, and a re-serialised
value could differ from what the sender signed (parameter order, ``?1`` vs a bare key).

Why not the ``http-sfv`` package: it parses to its own objects and throws the member text away,
so the verbatim signature base would have to be rebuilt by re-serialising, which is exactly what
RFC 9421 warns against; and it is slower on every field we parse than this
parser (``bench/sfv.py`` measures both). Decimals are returned as ``float`` (at most 12 + 3
digits, exact for every value the grammar allows to round-trip).

Every syntax error raises ``StructuredFieldError``, a ``SignatureError``: the callers are
signature checks, which turn it into a 401.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from cityfed.activitypub.sigerrors import SignatureError


class StructuredFieldError(SignatureError):
    """A structured field does not follow the RFC 8941 grammar."""


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
_PRINTABLE_RE = re.compile(r"[\x20-\x7e]*")
_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")


def _sf_error(what: str, pos: int) -> StructuredFieldError:
    return StructuredFieldError(f"malformed structured field: {what} at offset {pos}")


def _b64decode(value: str) -> bytes:
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        raise StructuredFieldError("byte sequence is not valid base64") from None


# --------------------------------------------------------------------------------------
# Parsing (RFC 8941 §4.2)
# --------------------------------------------------------------------------------------


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
        return _b64decode(m.group(1)), m.end()
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


def _parse_member_value(s: str, pos: int) -> tuple[BareItem | list[SFItem], Params, int]:
    value: BareItem | list[SFItem]
    if pos < len(s) and s[pos] == "(":
        value, pos = _parse_inner_list(s, pos)
    else:
        value, pos = _parse_bare_item(s, pos)
    params, pos = _parse_params(s, pos)
    return value, params, pos


def _members(s: str, pos: int, kind: str) -> int | None:
    """After a member: the start of the next one, or None at the end of the field."""
    n = len(s)
    pos = _skip(_OWS_RE, s, pos)
    if pos >= n:
        return None
    if s[pos] != ",":
        raise _sf_error(f"expected ',' between {kind} members", pos)
    pos = _skip(_OWS_RE, s, pos + 1)
    if pos >= n:
        raise _sf_error("trailing comma", pos)
    return pos


def parse_sf_dictionary(text: str) -> dict[str, SFMember]:
    """Parse an RFC 8941 Dictionary. Raises StructuredFieldError on any syntax error.

    Supports Items (integers, decimals, strings, tokens, byte sequences, booleans) and
    Inner Lists, each with parameters. A key without ``=value`` is Boolean true. As the RFC
    requires, a repeated key overrides the earlier one.
    """
    s = text.strip(" \t")
    out: dict[str, SFMember] = {}
    n = len(s)
    if n == 0:
        return out
    pos: int | None = 0
    while pos is not None:
        m = _KEY_RE.match(s, pos)
        if m is None:
            raise _sf_error("bad dictionary key", pos)
        key = m.group()
        pos = start = m.end()
        value: BareItem | list[SFItem]
        if pos < n and s[pos] == "=":
            start = pos + 1
            value, params, pos = _parse_member_value(s, start)
        else:
            value = True
            params, pos = _parse_params(s, pos)
        out[key] = SFMember(value, params, s[start:pos])
        pos = _members(s, pos, "dictionary")
    return out


def parse_sf_list(text: str) -> list[SFItem | tuple[list[SFItem], Params]]:
    """Parse an RFC 8941 List: Items, and Inner Lists as ``(items, params)``."""
    s = text.strip(" ")
    out: list[SFItem | tuple[list[SFItem], Params]] = []
    if not s:
        return out
    pos: int | None = 0
    while pos is not None:
        value, params, pos = _parse_member_value(s, pos)
        out.append((value, params) if isinstance(value, list) else SFItem(value, params))
        pos = _members(s, pos, "list")
    return out


def parse_sf_item(text: str) -> SFItem:
    """Parse an RFC 8941 Item (a bare value with parameters)."""
    s = text.strip(" ")
    value, pos = _parse_bare_item(s, 0)
    params, pos = _parse_params(s, pos)
    if pos != len(s):
        raise _sf_error("unexpected text after the item", pos)
    return SFItem(value, params)


# --------------------------------------------------------------------------------------
# Serializing (RFC 8941 §4.1)
# --------------------------------------------------------------------------------------


def serialize_sf_string(value: str) -> str:
    """Serialize ``value`` as an RFC 8941 String (quoted, with ``\\`` and ``"`` escaped)."""
    if not _PRINTABLE_RE.fullmatch(value):
        raise ValueError(f"not representable as a structured-field string: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize_bare_item(value: BareItem) -> str:
    """One bare value; a ``Token`` as a token, any other ``str`` as a String."""
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > 999_999_999_999_999:
            raise ValueError(f"integer out of range for a structured field: {value}")
        return str(value)
    if isinstance(value, float):
        text = f"{round(value, 3):.3f}".rstrip("0")
        if text.endswith("."):
            text += "0"
        if len(text.lstrip("-").partition(".")[0]) > 12:
            raise ValueError(f"decimal out of range for a structured field: {value}")
        return text
    if isinstance(value, Token):
        if not _TOKEN_RE.fullmatch(value):
            raise ValueError(f"not a structured-field token: {value!r}")
        return str(value)
    if isinstance(value, str):
        return serialize_sf_string(value)
    if isinstance(value, bytes):
        return ":" + binascii.b2a_base64(value, newline=False).decode("ascii") + ":"
    raise TypeError(f"not a structured-field bare item: {value!r}")


def serialize_params(params: Mapping[str, BareItem]) -> str:
    parts = []
    for key, value in params.items():
        if not _KEY_RE.fullmatch(key):
            raise ValueError(f"not a structured-field key: {key!r}")
        parts.append(f";{key}" if value is True else f";{key}={serialize_bare_item(value)}")
    return "".join(parts)


def serialize_sf_item(value: BareItem, params: Mapping[str, BareItem] | None = None) -> str:
    return serialize_bare_item(value) + serialize_params(params or {})


def serialize_inner_list(items: Sequence[SFItem], params: Mapping[str, BareItem] | None) -> str:
    inner = " ".join(serialize_sf_item(item.value, item.params) for item in items)
    return f"({inner})" + serialize_params(params or {})


def serialize_sf_dictionary(
    members: Mapping[str, tuple[BareItem | Sequence[SFItem], Mapping[str, BareItem]]],
) -> str:
    """A Dictionary from ``key -> (value, params)``, a value being a bare item or a list of
    ``SFItem`` (an Inner List). A ``True`` item is written as the bare key, as §4.1.2 says."""
    parts = []
    for key, (value, params) in members.items():
        if not _KEY_RE.fullmatch(key):
            raise ValueError(f"not a structured-field key: {key!r}")
        if value is True:
            parts.append(key + serialize_params(params))
        elif isinstance(value, int | float | str | bytes):  # bool is an int
            parts.append(f"{key}={serialize_sf_item(value, params)}")
        else:
            parts.append(f"{key}={serialize_inner_list(value, params)}")
    return ", ".join(parts)
