"""The cityfed vocabulary (§4) as dataclasses with ``to_ap()``/``from_ap()``.

``parse_object`` picks the right class for an incoming object by its type, whatever JSON-LD shape
the object arrives in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cityfed.activitypub.jsonld import CF_NAMESPACE
from cityfed.activitypub.vocab.city_object import CityObject
from cityfed.activitypub.vocab.common import (
    Hashtag,
    Place,
    SdgTag,
    has_type,
    read_as_default,
    types_of,
)
from cityfed.activitypub.vocab.project import (
    CHALLENGE_PHASES,
    PROJECT_PHASES,
    Challenge,
    Project,
)

__all__ = [
    "CHALLENGE_PHASES",
    "PROJECT_PHASES",
    "Challenge",
    "CityObject",
    "Hashtag",
    "Place",
    "Project",
    "SdgTag",
    "parse_object",
]

_CLASSES: tuple[type[Project] | type[Challenge], ...] = (Project, Challenge)


def _may_be_ours(doc: Mapping[str, Any]) -> bool:
    """Cheap pre-check before pyld: could any spelling of the type be cf:Project/cf:Challenge?"""
    for t in types_of(doc):
        local = t.rsplit("#", 1)[-1].rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        if local in ("Project", "Challenge") or t.startswith(CF_NAMESPACE):
            return True
    return False


def parse_object(
    doc: Mapping[str, Any] | list[Any], *, context: Any = None
) -> Project | Challenge | None:
    """A Project or Challenge from ``doc``, or None when it is neither.

    ``type`` may be a string or a list, spelled ``cf:Project``, with the full IRI, or with any
    prefix a document's own context maps to our namespace. Raises ValueError when ``doc`` claims
    to be one of ours but is invalid. ``context`` is the ``@context`` in force for an embedded
    object that has none of its own.
    """
    if isinstance(doc, list) and len(doc) == 1:
        doc = doc[0]
    if not isinstance(doc, Mapping):
        return None
    # Skip pyld for the many objects that are plainly not ours (e.g. a Note with an unfamiliar
    # context): only a type that could be ours is worth reading. (A context that renamed our
    # types to something unrelated, e.g. "Proj", is not recognised; from_ap still reads it.)
    if not _may_be_ours(doc):
        return None
    plain = read_as_default(doc, context=context)
    for cls in _CLASSES:
        if has_type(plain, cls.CF_TYPE):
            return cls.from_plain(plain)
    return None
