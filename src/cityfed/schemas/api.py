"""The REST API's view of the declared fields: JSON Schema for requests and responses.

``properties(group, request=...)`` writes, through msgspec, the JSON Schema of each field a group
declares (``schemas.objects``): in a request a field is optional and may be ``null``, with its
length limit and format; in a response it is always present. ``DERIVED`` says which component
schemas of the OpenAPI document carry which groups (and ``TEXT_LIMITS`` where the one text of a
comment, offer or report is); ``api.openapi`` adds them to the document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from cityfed.schemas.fields import FieldSpec
from cityfed.schemas.objects import (
    ADOPTION_SPECS,
    CHALLENGE_SPECS,
    COMMENT_MAX_LENGTH,
    OFFER_MAX_CONTENT,
    OFFER_MAX_REASON,
    PROJECT_SPECS,
    REPORT_MAX_CONTENT,
)

# As in ``actions.licences``: an SPDX expression of ids, operators and parentheses.
_LICENCE_PATTERN = r"^[A-Za-z0-9.+\-() ]{1,100}$"
OVERRIDES = " Overrides the origin's value for our new project."


def field_type(spec: FieldSpec, *, request: bool) -> Any:
    """The Python type (with msgspec constraints) of a declared field in the API."""
    if spec.kind == "lines":
        return list[str] | None if request else list[str]
    meta: dict[str, Any] = {}
    if spec.kind == "url":
        meta["extra_json_schema"] = {"format": "uri"}
    if request:
        meta["max_length"] = spec.limit
        if spec.kind == "licence":
            meta.update(pattern=_LICENCE_PATTERN, examples=["EUPL-1.2"])
    text = Annotated[str, Meta(**meta)] if meta else str
    return text | None


def properties(
    group: tuple[FieldSpec, ...], *, request: bool, suffix: str = ""
) -> dict[str, dict[str, Any]]:
    """The JSON Schema of each field of ``group``, by name (descriptions on requests only)."""
    out: dict[str, dict[str, Any]] = {}
    for spec in group:
        kind = field_type(spec, request=request)
        if request and spec.doc:
            kind = Annotated[kind, Meta(description=spec.doc + suffix)]
        out[spec.name] = msgspec.json.schema(kind)
    return out


@dataclass(frozen=True)
class Derived:
    """Component schema ``name`` carries the fields of ``groups`` (responses require them all)."""

    groups: tuple[tuple[FieldSpec, ...], ...]
    request: bool
    suffix: str = ""


# The project fields an adoption request may override are the project's, less the progress
# fields (outcomes, lessons) that belong to the adoption itself.
_OVERRIDABLE = tuple(
    spec for spec in PROJECT_SPECS if spec.name not in {s.name for s in ADOPTION_SPECS}
)

DERIVED: dict[str, list[Derived]] = {
    "ProjectCreate": [Derived((PROJECT_SPECS,), request=True)],
    "ProjectPatch": [Derived((PROJECT_SPECS,), request=True)],
    "ChallengeCreate": [Derived((CHALLENGE_SPECS,), request=True)],
    "ChallengePatch": [Derived((CHALLENGE_SPECS,), request=True)],
    "Project": [Derived((PROJECT_SPECS,), request=False)],
    "Challenge": [Derived((CHALLENGE_SPECS,), request=False)],
    "AdoptionCreate": [
        Derived((ADOPTION_SPECS,), request=True),
        Derived((_OVERRIDABLE,), request=True, suffix=OVERRIDES),
    ],
    "AdoptionProgress": [Derived((ADOPTION_SPECS,), request=True)],
    "Adoption": [Derived((ADOPTION_SPECS,), request=False)],
}


# The one text of a comment, offer or report: (schema, property) → its length limit.
TEXT_LIMITS = {
    ("CommentCreate", "content"): COMMENT_MAX_LENGTH,
    ("CommentEdit", "content"): COMMENT_MAX_LENGTH,
    ("OfferCreate", "content"): OFFER_MAX_CONTENT,
    ("OfferReject", "reason"): OFFER_MAX_REASON,
    ("ReportCreate", "content"): REPORT_MAX_CONTENT,
}


def complete(components: dict[str, dict[str, Any]]) -> None:
    """Add the declared fields to the component schemas ``DERIVED`` names, and the declared
    limits to ``TEXT_LIMITS``' properties (in place)."""
    for (name, prop), limit in TEXT_LIMITS.items():
        components[name]["properties"][prop]["maxLength"] = limit
    for name, parts in DERIVED.items():
        schema = components[name]
        for part in parts:
            for group in part.groups:
                found = properties(group, request=part.request, suffix=part.suffix)
                schema.setdefault("properties", {}).update(found)
                if not part.request:
                    schema["required"] = [*schema.get("required", []), *found]
