"""The REST API's schemas, complete: ``rest``'s structs plus the fields ``schemas.objects``
declares.

``declared_fields(group, request=...)`` turns a group's declarations into msgspec fields: in a
request a field is optional and may be ``null``, with its length limit and format; in a response
it is always present. The structs of ``rest`` whose names start with ``_`` get them here
(``ProjectCreate``, ``Project``, ``AdoptionProgress``, ...). ``components()`` is the
``components.schemas`` of the OpenAPI document, written by msgspec from all of them.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from cityfed.schemas import rest
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


def declared_fields(
    group: tuple[FieldSpec, ...], *, request: bool, suffix: str = ""
) -> list[tuple[str, Any, Any]]:
    """msgspec field definitions (name, type, default) of the fields of ``group``: optional in a
    request (with their description), required in a response."""
    out: list[tuple[str, Any, Any]] = []
    for spec in group:
        kind = field_type(spec, request=request)
        if request:
            if spec.doc:
                kind = Annotated[kind, Meta(description=spec.doc + suffix)]
            out.append((spec.name, kind | UnsetType, UNSET))
        else:
            out.append((spec.name, kind, msgspec.NODEFAULT))
    return out


# The project fields an adoption request may override are the project's, less the progress
# fields (outcomes, lessons) that belong to the adoption itself.
_OVERRIDABLE = tuple(
    spec for spec in PROJECT_SPECS if spec.name not in {s.name for s in ADOPTION_SPECS}
)


def _complete(base: type[msgspec.Struct], *parts: list[tuple[str, Any, Any]]) -> Any:
    """``base`` (``rest._Name``) with the declared fields added, as the struct ``Name``."""
    config = base.__struct_config__
    struct = msgspec.defstruct(
        base.__name__.lstrip("_"),
        [field for part in parts for field in part],
        bases=(base,),
        kw_only=True,
        forbid_unknown_fields=config.forbid_unknown_fields,
        module=__name__,
    )
    struct.__doc__ = base.__doc__  # msgspec's description of the schema
    return struct


ProjectCreate = _complete(rest._ProjectCreate, declared_fields(PROJECT_SPECS, request=True))
ProjectPatch = _complete(rest._ProjectPatch, declared_fields(PROJECT_SPECS, request=True))
ChallengeCreate = _complete(rest._ChallengeCreate, declared_fields(CHALLENGE_SPECS, request=True))
ChallengePatch = _complete(rest._ChallengePatch, declared_fields(CHALLENGE_SPECS, request=True))
Project = _complete(rest._Project, declared_fields(PROJECT_SPECS, request=False))
Challenge = _complete(rest._Challenge, declared_fields(CHALLENGE_SPECS, request=False))
AdoptionCreate = _complete(
    rest._AdoptionCreate,
    declared_fields(ADOPTION_SPECS, request=True),
    declared_fields(_OVERRIDABLE, request=True, suffix=OVERRIDES),
)
AdoptionProgress = _complete(rest._AdoptionProgress, declared_fields(ADOPTION_SPECS, request=True))
Adoption = _complete(rest._Adoption, declared_fields(ADOPTION_SPECS, request=False))
_DERIVED = (
    ProjectCreate,
    ProjectPatch,
    ChallengeCreate,
    ChallengePatch,
    Project,
    Challenge,
    AdoptionCreate,
    AdoptionProgress,
    Adoption,
)


# The one text of a comment, offer or report: (schema, property) → its length limit.
TEXT_LIMITS = {
    ("CommentCreate", "content"): COMMENT_MAX_LENGTH,
    ("CommentEdit", "content"): COMMENT_MAX_LENGTH,
    ("OfferCreate", "content"): OFFER_MAX_CONTENT,
    ("OfferReject", "reason"): OFFER_MAX_REASON,
    ("ReportCreate", "content"): REPORT_MAX_CONTENT,
}


def components() -> dict[str, dict[str, Any]]:
    """``components.schemas`` of the OpenAPI document: every struct of ``rest`` (the completed
    ones under their own names) and the raw schemas, with the declared text limits."""
    structs = [
        value
        for name, value in vars(rest).items()
        if isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and value is not msgspec.Struct
        and not name.startswith("_")
    ]
    _, found = msgspec.json.schema_components(
        [*structs, *_DERIVED], ref_template="#/components/schemas/{name}"
    )
    schemas: dict[str, dict[str, Any]] = {**found, **copy.deepcopy(rest.RAW)}
    for name, extra in rest.STRUCT_EXTRA.items():
        schemas[name].update(copy.deepcopy(extra))
    for (name, prop), limit in TEXT_LIMITS.items():
        schema = schemas[name]["properties"][prop]
        texts = [o for o in schema.get("anyOf", [schema]) if o.get("type") == "string"]
        texts[0]["maxLength"] = limit
    return schemas
