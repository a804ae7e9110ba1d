"""RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value.

The canonical form is what eddsa-jcs-2022 object proofs (FEP-8b32, ``proof.py``) hash, so it has
to agree byte for byte with every other implementation (most of them JavaScript):

- no whitespace; object members sorted by the UTF-16 code units of their names (not by code
  points: a name starting with an astral character sorts before one starting with U+E000..FFFF);
- strings escaped as ECMAScript ``JSON.stringify`` escapes them: ``\\"``, ``\\\\``, ``\\b \\f \\n
  \\r \\t``, other controls below U+0020 as ``\\u00xx``; everything else (U+007F, U+2028, any
  non-ASCII) raw, and the result encoded as UTF-8. Lone surrogates are refused;
- floats in ECMAScript ``Number.prototype.toString`` form (shortest round-tripping digits, plain
  notation from 1e-6 up to 1e21, ``1e+21`` style beyond, ``-0`` as ``0``); NaN and infinities are
  refused.

One deliberate deviation: Python ints are written exactly, as their decimal digits. RFC 8785
treats every number as an IEEE 754 double, so an integer beyond 2**53 would be written as the
nearest double; writing it exactly keeps any change to it detectable, and such integers are not
I-JSON (RFC 7493) and do not occur in ActivityPub documents. Within +/-2**53 both agree.

Speed: documents whose member names are all ASCII (every ActivityPub document in practice) are
serialised by orjson, whose compact output with sorted keys is exactly the canonical form once
each float is swapped for its ECMAScript text (an ``orjson.Fragment``); anything else takes the
pure-Python serialiser, which is also the reference the tests compare the fast path against.

Pure code, no I/O. Input is what a JSON parser returns: dict (str keys), list or tuple, str,
int, float, bool, None.
"""

from __future__ import annotations

import math
from json.encoder import encode_basestring  # the C escaper; same escapes as JSON.stringify
from typing import Any

import orjson

__all__ = ["CanonicalizationError", "canonicalize", "canonicalize_str", "format_number"]


class CanonicalizationError(ValueError):
    """The value has no canonical form: NaN/Infinity, a lone surrogate, a non-JSON type."""


def format_number(value: float) -> str:
    """``value`` as ECMAScript's ``Number.prototype.toString`` writes it (RFC 8785 §3.2.2.3)."""
    if not math.isfinite(value):
        raise CanonicalizationError(f"{value!r} has no JSON representation")
    if value == 0:
        return "0"  # also -0.0
    # repr() gives the shortest digit string that reads back as the same double, which is the
    # digit string ECMAScript chooses too; only the layout differs, so re-lay it out.
    text = repr(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    digits = all_digits.lstrip("0")
    # value = 0.<digits> * 10**point, with the digits' leading zeros folded into point
    point = len(whole) + (int(exponent) if exponent else 0) - (len(all_digits) - len(digits))
    digits = digits.rstrip("0")
    count = len(digits)
    if count <= point <= 21:
        return sign + digits + "0" * (point - count)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    exp = point - 1
    exp_text = ("+" if exp >= 0 else "-") + str(abs(exp))
    if count == 1:
        return sign + digits + "e" + exp_text
    return sign + digits[0] + "." + digits[1:] + "e" + exp_text


def _utf16_key(item: tuple[str, Any]) -> bytes:
    return item[0].encode("utf-16-be", "surrogatepass")


def _sorted_items(obj: dict[Any, Any]) -> list[tuple[str, Any]]:
    ascii_names = True
    for key in obj:
        if not isinstance(key, str):
            raise CanonicalizationError(f"object member name {key!r} is not a string")
        if ascii_names and not key.isascii():
            ascii_names = False
    # For ASCII names code point order is UTF-16 order (and names are unique, so values are
    # never compared); only non-ASCII names pay for the UTF-16 sort key.
    if ascii_names:
        return sorted(obj.items())
    return sorted(obj.items(), key=_utf16_key)


def _string(value: str) -> str:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise CanonicalizationError("string contains a lone surrogate") from None
    return encode_basestring(value)


def _serialize(value: Any, out: list[str]) -> None:
    # Ordered by frequency in ActivityPub documents. bool before int: bool is an int subclass.
    if isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in _sorted_items(value):
            if not first:
                out.append(",")
            first = False
            out.append(_string(key))
            out.append(":")
            _serialize(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _serialize(item, out)
        out.append("]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(format_number(value))
    else:
        raise CanonicalizationError(f"{type(value).__name__} is not a JSON type")


def canonicalize_str(value: Any) -> str:
    """The canonical JSON text of ``value`` (before UTF-8 encoding)."""
    out: list[str] = []
    _serialize(value, out)
    return "".join(out)


class _NeedsReference(Exception):
    """The value holds something the orjson fast path cannot reproduce exactly."""


# Older orjson has no Fragment: the reference serialiser does it all.
_Fragment: Any = getattr(orjson, "Fragment", None)


def _prepare(value: Any) -> Any:
    """``value`` with floats as Fragments of their canonical text (copying only what changes).

    Raises _NeedsReference for a non-ASCII or non-str member name (orjson sorts by UTF-8 bytes,
    which differs from UTF-16 order only there) and for any type that is not plain JSON (orjson
    would serialise a datetime or a dataclass instead of refusing it).
    """
    kind = type(value)
    if kind is dict:
        copy: dict[str, Any] | None = None
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                raise _NeedsReference
            item_kind = type(item)
            if item_kind is str or item_kind is int or item_kind is bool or item is None:
                continue
            prepared = _prepare(item)
            if prepared is not item:
                if copy is None:
                    copy = dict(value)
                copy[key] = prepared
        return value if copy is None else copy
    if kind is list or kind is tuple:
        items: list[Any] | None = None
        for index, item in enumerate(value):
            item_kind = type(item)
            if item_kind is str or item_kind is int or item_kind is bool or item is None:
                continue
            prepared = _prepare(item)
            if prepared is not item:
                if items is None:
                    items = list(value)
                items[index] = prepared
        return value if items is None else items
    if kind is float:
        return _Fragment(format_number(value))
    if kind is str or kind is int or kind is bool or value is None:
        return value
    raise _NeedsReference


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical form of ``value``, UTF-8 encoded: the bytes that get hashed."""
    if _Fragment is not None:
        try:
            return orjson.dumps(_prepare(value), option=orjson.OPT_SORT_KEYS)
        except (_NeedsReference, orjson.JSONEncodeError):
            pass  # lone surrogates, integers beyond 64 bits...: the reference decides
    return canonicalize_str(value).encode("utf-8")
