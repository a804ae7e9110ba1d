"""Small shared pieces of the vocabulary: tags, places, dates, language tags, lenient readers.

Remote JSON varies in shape even when it means the same thing (a value or a one-element list, an
id or an embedded object), so the readers here accept every common shape and return one.
``read_as_default`` turns any JSON-LD document into the plain shape of our default context: as-is
when its ``@context`` is known (fast, no pyld), through pyld compaction otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import quote, urlsplit

from cityfed.activitypub.jsonld import (
    AS_NAMESPACE,
    CF_NAMESPACE,
    binds_cf,
    compact_to_default,
    is_known_context,
    without_unbundled,
)
from cityfed.activitypub.links import checked
from cityfed.activitypub.timefmt import format_datetime as format_datetime  # re-exported

SDG_MIN, SDG_MAX = 1, 17

# BCP 47 shape as JSON-LD processors check it (pyld's REGEX_BCP47).
_LANGUAGE_RE = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")
# Mastodon's hashtag alphabet: word characters plus the middle dot and ZWNJ used in some scripts.
_HASHTAG_RE = re.compile(r"[\w\u00b7\u200c]+")
_SDG_HREF_RE = re.compile(r"goal(\d+)/?$")
_SDG_NAME_RE = re.compile(r"(\d+)")

TagUrl = Callable[[str], str] | str | None


# --- lenient readers ----------------------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    """``None`` → [], a list → itself, anything else → [value]."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def first_of(value: Any) -> Any:
    """The first element of a list (None when empty), or the value itself."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def id_of(value: Any) -> str | None:
    """An object's id from a string, ``{"id": ...}``/``{"@id": ...}`` or a Link's ``href``."""
    value = first_of(value)
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        for key in ("id", "@id", "href"):
            found = value.get(key)
            if isinstance(found, str) and found:
                return found
    return None


def text_of(value: Any) -> str | None:
    """A string from a string, a one-element list or a JSON-LD ``{"@value": ...}``."""
    value = first_of(value)
    if isinstance(value, Mapping):
        value = value.get("@value")
    return value if isinstance(value, str) else None


def texts_of(value: Any) -> list[str]:
    """Every string in ``value`` (a string or a list), in order."""
    return [text for item in as_list(value) if (text := text_of(item)) is not None]


def ids_of(value: Any) -> list[str]:
    """Every id in ``value`` (ids or embedded objects), in order."""
    return [found for item in as_list(value) if (found := id_of(item)) is not None]


def types_of(doc: Mapping[str, Any]) -> list[str]:
    """The ``type`` (or ``@type``) of a document as a list of strings."""
    raw = doc.get("type", doc.get("@type"))
    return [t for t in as_list(raw) if isinstance(t, str)]


def has_type(doc: Mapping[str, Any], name: str) -> bool:
    """Whether ``doc`` has the type ``name`` ("Hashtag", "cf:SDG"...) by term or full IRI."""
    if name.startswith("cf:"):
        spellings = {name, CF_NAMESPACE + name[3:]}
    else:
        spellings = {name, "as:" + name, AS_NAMESPACE + name}
    return any(t in spellings for t in types_of(doc))


# --- language tags ------------------------------------------------------------------------------


def canonical_language(tag: str) -> str:
    """A BCP 47 tag in its conventional case ("en-GB", "zh-Hant-TW"); ValueError if malformed.

    JSON-LD processors lowercase language tags, so we normalise both ways to one spelling.
    """
    if not isinstance(tag, str) or not _LANGUAGE_RE.fullmatch(tag):
        raise ValueError(f"not a BCP 47 language tag: {tag!r}")
    parts = tag.split("-")
    out = [parts[0].lower()]
    private = False
    for part in parts[1:]:
        if private or len(part) == 1:
            # After a singleton (extension or "x-" private use) no case conventions apply.
            private = True
            out.append(part.lower())
        elif len(part) == 2 and part.isalpha():
            out.append(part.upper())  # region
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())  # script
        else:
            out.append(part.lower())
    return "-".join(out)


def language_map(value: Any) -> dict[str, str]:
    """A language map (``nameMap``...) with canonical tags; malformed entries are skipped."""
    if not isinstance(value, Mapping):
        return {}
    result: dict[str, str] = {}
    for tag, text in value.items():
        text = text_of(text)
        if text is None:
            continue
        try:
            result[canonical_language(tag)] = text
        except ValueError:
            continue  # a peer's junk language key should not make the whole object unreadable
    return result


# --- dates --------------------------------------------------------------------------------------


def parse_datetime(value: Any, field: str) -> datetime | None:
    """An ISO 8601 date-time (``Z`` or an offset; naive means UTC) as aware UTC, None if absent."""
    value = text_of(value)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{field}: not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def require_aware(value: datetime | None, field: str) -> datetime | None:
    """``value`` in UTC; ValueError naming ``field`` for a naive datetime."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValueError(f"{field}: expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field}: datetime must be timezone-aware")
    return value.astimezone(UTC)


# --- tags ---------------------------------------------------------------------------------------


def is_valid_hashtag(name: str) -> bool:
    """A hashtag (without '#') as Mastodon links it: word characters, not only digits."""
    return (
        isinstance(name, str)
        and bool(_HASHTAG_RE.fullmatch(name))
        and any(ch.isalpha() or ch == "_" for ch in name)
    )


def tag_url_function(tag_url: TagUrl, object_id: str) -> Callable[[str], str]:
    """Resolve the ``tag_url`` argument of ``to_ap``.

    A callable is used as is; a string is a base URL to which the quoted tag is appended; None
    means ``{origin of object_id}/tags/{tag}``, the path Mastodon uses for its hashtag pages.
    """
    if callable(tag_url):
        return tag_url
    if isinstance(tag_url, str):
        base = tag_url.rstrip("/")
    else:
        parts = urlsplit(object_id)
        base = f"{parts.scheme}://{parts.netloc}/tags"
    return lambda tag: f"{base}/{quote(tag, safe='')}"


@dataclass(slots=True)
class Hashtag:
    """A ``Hashtag`` tag; ``name`` is stored without the leading '#'."""

    name: str
    href: str | None = None

    def to_ap(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": "Hashtag"}
        if self.href:
            doc["href"] = self.href
        doc["name"] = "#" + self.name
        return doc

    @classmethod
    def from_ap(cls, doc: Mapping[str, Any]) -> Self:
        name = (text_of(doc.get("name")) or "").removeprefix("#")
        return cls(name=name, href=id_of(doc.get("href")))


@dataclass(slots=True)
class SdgTag:
    """A UN Sustainable Development Goal (1-17) as a ``cf:SDG`` tag."""

    goal: int

    def __post_init__(self) -> None:
        validate_sdg(self.goal)

    @property
    def href(self) -> str:
        return f"https://sdgs.un.org/goals/goal{self.goal}"

    def to_ap(self) -> dict[str, Any]:
        return {"type": "cf:SDG", "name": f"SDG {self.goal}", "href": self.href}

    @classmethod
    def from_ap(cls, doc: Mapping[str, Any]) -> Self:
        href = id_of(doc.get("href")) or ""
        match = _SDG_HREF_RE.search(href) or _SDG_NAME_RE.search(text_of(doc.get("name")) or "")
        if match is None:
            raise ValueError(f"sdgs: cannot tell the goal of {dict(doc)!r}")
        return cls(goal=int(match.group(1)))


def validate_sdg(goal: Any) -> int:
    if isinstance(goal, bool) or not isinstance(goal, int) or not SDG_MIN <= goal <= SDG_MAX:
        raise ValueError(f"sdgs: {goal!r} is not a goal number from {SDG_MIN} to {SDG_MAX}")
    return goal


# --- places -------------------------------------------------------------------------------------


def _coordinate(value: Any, field: str, limit: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field}: not a number: {value!r}")
    try:
        number = float(value)  # some servers send numbers as strings
    except (TypeError, ValueError):
        raise ValueError(f"{field}: not a number: {value!r}") from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise ValueError(f"{field}: {value!r} is outside -{limit}..{limit}")
    return number


@dataclass(slots=True)
class Place:
    """An AS2 ``Place``: a name and optionally a point (both coordinates or neither)."""

    name: str
    latitude: float | None = None
    longitude: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ValueError("location.name: must be a string")
        self.latitude = _coordinate(self.latitude, "location.latitude", 90.0)
        self.longitude = _coordinate(self.longitude, "location.longitude", 180.0)
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("location: give both latitude and longitude, or neither")

    def to_ap(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": "Place", "name": self.name}
        if self.latitude is not None:
            doc["latitude"] = self.latitude
            doc["longitude"] = self.longitude
        return doc

    @classmethod
    def from_ap(cls, doc: Mapping[str, Any]) -> Self:
        return cls(
            name=text_of(doc.get("name")) or "",
            latitude=first_of(doc.get("latitude")),
            longitude=first_of(doc.get("longitude")),
        )


# --- tombstones ---------------------------------------------------------------------------------

# Our stored type names that are cf: types; everything else is an ActivityStreams type.
_CF_TYPE_NAMES = frozenset({"Project", "Challenge", "Adoption", "SolutionOffer"})


def former_type(type_name: str) -> str:
    """A Tombstone's ``formerType`` for a stored type name ("Project" → "cf:Project").

    The ActivityStreams context makes ``formerType`` an IRI (``@type: @id``), unlike ``type``:
    a bare "Note" would be a relative IRI, which JSON-LD processors drop (and jsonld.js in
    safe mode refuses). A compact IRI expands with the prefixes every document of ours has.
    """
    return ("cf:" if type_name in _CF_TYPE_NAMES else "as:") + type_name


# --- reading any JSON-LD shape as ours ----------------------------------------------------------


def _mentions_cf(doc: Mapping[str, Any]) -> bool:
    return any(key.startswith("cf:") for key in doc) or any(
        t.startswith("cf:") for t in types_of(doc)
    )


def _looks_expanded(doc: Mapping[str, Any]) -> bool:
    """Expanded JSON-LD has no context, keyword keys and absolute-IRI property names."""
    return any((key.startswith("@") and key != "@context") or "://" in key for key in doc)


def read_as_default(doc: Mapping[str, Any] | list[Any], *, context: Any = None) -> dict[str, Any]:
    """``doc`` with the key names and value shapes of our default context.

    ``context`` is the ``@context`` in force for an embedded object that has none of its own
    (e.g. the activity's). A document with no context at all is taken to be in our default
    context, unless it is in expanded form. Documents whose context ``is_known_context`` are
    returned unchanged (no pyld); the rest are compacted with pyld against ``DEFAULT_CONTEXT``
    (the slow path). A context URL we do not bundle is never fetched and never a reason to refuse:
    it is left out and the terms we know are read, as Mastodon reads any document as plain
    JSON. Raises ValueError when pyld cannot process the document (invalid JSON-LD), and
    UnsafeLinkError (a ValueError) when a link in it is not http(s) (links.py).
    """
    if isinstance(doc, list):
        if len(doc) != 1 or not isinstance(doc[0], Mapping):
            raise ValueError("expected a single JSON-LD object")
        doc = doc[0]
    if not isinstance(doc, Mapping):
        raise ValueError("expected a JSON object")
    ctx = doc.get("@context", context)
    if ctx is not None:
        ctx = without_unbundled(ctx)
    if ctx is None:
        if not _looks_expanded(doc):
            return checked(dict(doc))
        source: Any = doc
    elif is_known_context(ctx) and (binds_cf(ctx) or not _mentions_cf(doc)):
        return checked(dict(doc))
    else:
        source = {**doc, "@context": ctx}
    return checked(_compact(source))


def _compact(doc: Any) -> dict[str, Any]:
    from pyld.jsonld import JsonLdError  # lazy: only the slow path needs pyld

    try:
        compacted = compact_to_default(doc)
    except JsonLdError as exc:
        raise ValueError(f"not readable as JSON-LD: {exc.args[0] if exc.args else exc}") from exc
    if "@graph" in compacted:
        raise ValueError("expected a single JSON-LD object, got a graph")
    return compacted
