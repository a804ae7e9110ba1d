"""The REST API's requests and responses (§8) as msgspec structs: one per body the API takes or
answers, named as in the OpenAPI document, which is generated from them (``schemas.api``).

Field descriptions, limits, patterns and formats are the documentation. A struct whose name starts
with ``_`` is completed in ``schemas.api`` with the fields ``schemas.objects`` declares (a
project's, a challenge's, an adoption's), so those are never written here. ``RAW`` holds the few
schemas msgspec cannot express (a ``oneOf`` with a discriminator, maps with patterned keys).

Written once by converting the hand-written openapi.json of before issue 15; edited by hand since.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from cityfed.schemas.profile import (
    MAX_ALT_CHARS,
    MAX_BIO_CHARS,
    MAX_FIELD_CHARS,
    MAX_FIELDS,
    MAX_NAME_CHARS,
)


class Error(Struct, kw_only=True):
    error: Annotated[
        str, Meta(description="What went wrong; field errors start with the field name.")
    ]
    code: (
        Annotated[
            str,
            Meta(
                description="A refused change: what kind of refusal, stable for programs (e.g. "
                "required, too_long, one_of; invalid when it has no code of its own)."
            ),
        ]
        | UnsetType
    ) = UNSET
    field: (
        Annotated[str | None, Meta(description="A refused change: the field at fault, if any.")]
        | UnsetType
    ) = UNSET
    params: (
        Annotated[
            dict[str, Any],
            Meta(
                description="A refused change: the values in its message (e.g. limit for too_long)."
            ),
        ]
        | UnsetType
    ) = UNSET


class Location(Struct, kw_only=True):
    """A place: a name, optionally with a point (both coordinates or neither)."""

    name: str
    latitude: Annotated[float, Meta(ge=-90, le=90)] | UnsetType | None = UNSET
    longitude: Annotated[float, Meta(ge=-180, le=180)] | UnsetType | None = UNSET


class ActorRef(Struct, kw_only=True):
    actor: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})], Meta(description="The actor id.")
    ]
    account: Annotated[str, Meta(description="`handle@domain`.")]
    name: str | None


class Created(Struct, kw_only=True):
    id: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The new object's id."),
    ]
    url: Annotated[str, Meta(extra_json_schema={"format": "uri"})]


class _ProjectCreate(Struct, kw_only=True, forbid_unknown_fields=True, rename={"as_": "as"}):
    """A new project. Unknown fields are refused (422). Text fields are trimmed; blank optional texts count as absent."""

    title: Annotated[
        Annotated[str, Meta(max_length=300, min_length=1)],
        Meta(description="The title (`name`). Required and never blank."),
    ]
    teaser: (
        Annotated[
            Annotated[str, Meta(max_length=500)] | None,
            Meta(description="One or two sentences shown on cards (`cf:teaser`)."),
        ]
        | UnsetType
    ) = UNSET
    description: (
        Annotated[
            Annotated[str, Meta(max_length=100000)] | None,
            Meta(description="The full description in Markdown (`source.content`)."),
        ]
        | UnsetType
    ) = UNSET
    phase: (
        Annotated[
            str | None,
            Meta(
                description="`cf:phase`; null (or absent on create) means `idea`.",
                extra_json_schema={
                    "enum": [
                        "idea",
                        "planning",
                        "pilot",
                        "operational",
                        "completed",
                        "discontinued",
                        None,
                    ]
                },
            ),
        ]
        | UnsetType
    ) = UNSET
    tags: (
        Annotated[
            list[Annotated[str, Meta(pattern="^#?\\w{1,100}$")]] | None,
            Meta(
                description="Hashtags (a leading `#` is dropped; letters, digits and `_`, at most 100 each); duplicates are removed."
            ),
        ]
        | UnsetType
    ) = UNSET
    language: (
        Annotated[
            Annotated[str, Meta(pattern="^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")] | None,
            Meta(description="The BCP 47 language of the texts (`en`, `pt-BR`); null means `en`."),
        ]
        | UnsetType
    ) = UNSET
    sdgs: (
        Annotated[
            list[Annotated[int, Meta(ge=1, le=17)]] | None,
            Meta(description="UN Sustainable Development Goals by number (sorted, deduplicated)."),
        ]
        | UnsetType
    ) = UNSET
    location: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "A place name, or a name with a point (both coordinates or neither); `null` clears it.",
                    "anyOf": [
                        {"type": "string"},
                        {"$ref": "#/components/schemas/Location"},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    start_date: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "An ISO 8601 date (`2026-05-01`, midnight UTC) or date-time; `null` or an empty string clears it.",
                    "anyOf": [
                        {"type": "string", "format": "date"},
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "const": ""},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    end_date: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "Like `start_date`; must not be before it.",
                    "anyOf": [
                        {"type": "string", "format": "date"},
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "const": ""},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    translations: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "anyOf": [{"$ref": "#/components/schemas/TranslationsInput"}, {"type": "null"}]
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    featured: (
        Annotated[bool | None, Meta(description="Pin it on the city's page (node-only flag).")]
        | UnsetType
    ) = UNSET
    addresses: (
        Annotated[
            list[Annotated[str, Meta(extra_json_schema={"format": "uri"})]] | None,
            Meta(description="Ids (http(s) URLs) of the challenges it addresses (`cf:addresses`)."),
        ]
        | UnsetType
    ) = UNSET
    as_: (
        Annotated[
            Annotated[str, Meta(examples=["berlin"])],
            Meta(
                description="The handle of the local city to act as (default: the node's first city). The `as` query parameter does the same."
            ),
        ]
        | UnsetType
    ) = UNSET


class _ProjectPatch(Struct, kw_only=True, forbid_unknown_fields=True, rename={"as_": "as"}):
    """The fields of the project to change; fields left out stay as they are, `null` clears an optional field. Unknown fields are refused (422); `as` is ignored (the owner acts)."""

    title: (
        Annotated[
            Annotated[str, Meta(max_length=300, min_length=1)],
            Meta(description="The title (`name`). Required and never blank."),
        ]
        | UnsetType
    ) = UNSET
    teaser: (
        Annotated[
            Annotated[str, Meta(max_length=500)] | None,
            Meta(description="One or two sentences shown on cards (`cf:teaser`)."),
        ]
        | UnsetType
    ) = UNSET
    description: (
        Annotated[
            Annotated[str, Meta(max_length=100000)] | None,
            Meta(description="The full description in Markdown (`source.content`)."),
        ]
        | UnsetType
    ) = UNSET
    phase: (
        Annotated[
            str | None,
            Meta(
                description="`cf:phase`; null (or absent on create) means `idea`.",
                extra_json_schema={
                    "enum": [
                        "idea",
                        "planning",
                        "pilot",
                        "operational",
                        "completed",
                        "discontinued",
                        None,
                    ]
                },
            ),
        ]
        | UnsetType
    ) = UNSET
    tags: (
        Annotated[
            list[Annotated[str, Meta(pattern="^#?\\w{1,100}$")]] | None,
            Meta(
                description="Hashtags (a leading `#` is dropped; letters, digits and `_`, at most 100 each); duplicates are removed."
            ),
        ]
        | UnsetType
    ) = UNSET
    language: (
        Annotated[
            Annotated[str, Meta(pattern="^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")] | None,
            Meta(description="The BCP 47 language of the texts (`en`, `pt-BR`); null means `en`."),
        ]
        | UnsetType
    ) = UNSET
    sdgs: (
        Annotated[
            list[Annotated[int, Meta(ge=1, le=17)]] | None,
            Meta(description="UN Sustainable Development Goals by number (sorted, deduplicated)."),
        ]
        | UnsetType
    ) = UNSET
    location: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "A place name, or a name with a point (both coordinates or neither); `null` clears it.",
                    "anyOf": [
                        {"type": "string"},
                        {"$ref": "#/components/schemas/Location"},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    start_date: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "An ISO 8601 date (`2026-05-01`, midnight UTC) or date-time; `null` or an empty string clears it.",
                    "anyOf": [
                        {"type": "string", "format": "date"},
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "const": ""},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    end_date: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "Like `start_date`; must not be before it.",
                    "anyOf": [
                        {"type": "string", "format": "date"},
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "const": ""},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    translations: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "anyOf": [{"$ref": "#/components/schemas/TranslationsInput"}, {"type": "null"}]
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    featured: (
        Annotated[bool | None, Meta(description="Pin it on the city's page (node-only flag).")]
        | UnsetType
    ) = UNSET
    addresses: (
        Annotated[
            list[Annotated[str, Meta(extra_json_schema={"format": "uri"})]] | None,
            Meta(description="Ids (http(s) URLs) of the challenges it addresses (`cf:addresses`)."),
        ]
        | UnsetType
    ) = UNSET
    as_: (
        Annotated[
            Annotated[str, Meta(examples=["berlin"])],
            Meta(
                description="The handle of the local city to act as (default: the node's first city). The `as` query parameter does the same."
            ),
        ]
        | UnsetType
    ) = UNSET


class _ChallengeCreate(Struct, kw_only=True, forbid_unknown_fields=True, rename={"as_": "as"}):
    """A new challenge. Unknown fields are refused (422). Text fields are trimmed; blank optional texts count as absent."""

    title: Annotated[
        Annotated[str, Meta(max_length=300, min_length=1)],
        Meta(description="The title (`name`). Required and never blank."),
    ]
    teaser: (
        Annotated[
            Annotated[str, Meta(max_length=500)] | None,
            Meta(description="One or two sentences shown on cards (`cf:teaser`)."),
        ]
        | UnsetType
    ) = UNSET
    description: (
        Annotated[
            Annotated[str, Meta(max_length=100000)] | None,
            Meta(description="The full description in Markdown (`source.content`)."),
        ]
        | UnsetType
    ) = UNSET
    phase: (
        Annotated[
            str | None,
            Meta(
                description="`cf:phase`; null (or absent on create) means `open`.",
                extra_json_schema={"enum": ["open", "evaluating", "solved", "closed", None]},
            ),
        ]
        | UnsetType
    ) = UNSET
    tags: (
        Annotated[
            list[Annotated[str, Meta(pattern="^#?\\w{1,100}$")]] | None,
            Meta(
                description="Hashtags (a leading `#` is dropped; letters, digits and `_`, at most 100 each); duplicates are removed."
            ),
        ]
        | UnsetType
    ) = UNSET
    language: (
        Annotated[
            Annotated[str, Meta(pattern="^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")] | None,
            Meta(description="The BCP 47 language of the texts (`en`, `pt-BR`); null means `en`."),
        ]
        | UnsetType
    ) = UNSET
    sdgs: (
        Annotated[
            list[Annotated[int, Meta(ge=1, le=17)]] | None,
            Meta(description="UN Sustainable Development Goals by number (sorted, deduplicated)."),
        ]
        | UnsetType
    ) = UNSET
    location: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "A place name, or a name with a point (both coordinates or neither); `null` clears it.",
                    "anyOf": [
                        {"type": "string"},
                        {"$ref": "#/components/schemas/Location"},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    start_date: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "An ISO 8601 date (`2026-05-01`, midnight UTC) or date-time; `null` or an empty string clears it.",
                    "anyOf": [
                        {"type": "string", "format": "date"},
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "const": ""},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    end_date: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "Like `start_date`; must not be before it.",
                    "anyOf": [
                        {"type": "string", "format": "date"},
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "const": ""},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    translations: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "anyOf": [{"$ref": "#/components/schemas/TranslationsInput"}, {"type": "null"}]
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    featured: (
        Annotated[bool | None, Meta(description="Pin it on the city's page (node-only flag).")]
        | UnsetType
    ) = UNSET
    deadline: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "When offers close (`cf:deadline`).",
                    "anyOf": [
                        {"type": "string", "format": "date"},
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "const": ""},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    as_: (
        Annotated[
            Annotated[str, Meta(examples=["berlin"])],
            Meta(
                description="The handle of the local city to act as (default: the node's first city). The `as` query parameter does the same."
            ),
        ]
        | UnsetType
    ) = UNSET


class _ChallengePatch(Struct, kw_only=True, forbid_unknown_fields=True, rename={"as_": "as"}):
    """The fields of the challenge to change; fields left out stay as they are, `null` clears an optional field. Unknown fields are refused (422); `as` is ignored (the owner acts)."""

    title: (
        Annotated[
            Annotated[str, Meta(max_length=300, min_length=1)],
            Meta(description="The title (`name`). Required and never blank."),
        ]
        | UnsetType
    ) = UNSET
    teaser: (
        Annotated[
            Annotated[str, Meta(max_length=500)] | None,
            Meta(description="One or two sentences shown on cards (`cf:teaser`)."),
        ]
        | UnsetType
    ) = UNSET
    description: (
        Annotated[
            Annotated[str, Meta(max_length=100000)] | None,
            Meta(description="The full description in Markdown (`source.content`)."),
        ]
        | UnsetType
    ) = UNSET
    phase: (
        Annotated[
            str | None,
            Meta(
                description="`cf:phase`; null (or absent on create) means `open`.",
                extra_json_schema={"enum": ["open", "evaluating", "solved", "closed", None]},
            ),
        ]
        | UnsetType
    ) = UNSET
    tags: (
        Annotated[
            list[Annotated[str, Meta(pattern="^#?\\w{1,100}$")]] | None,
            Meta(
                description="Hashtags (a leading `#` is dropped; letters, digits and `_`, at most 100 each); duplicates are removed."
            ),
        ]
        | UnsetType
    ) = UNSET
    language: (
        Annotated[
            Annotated[str, Meta(pattern="^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")] | None,
            Meta(description="The BCP 47 language of the texts (`en`, `pt-BR`); null means `en`."),
        ]
        | UnsetType
    ) = UNSET
    sdgs: (
        Annotated[
            list[Annotated[int, Meta(ge=1, le=17)]] | None,
            Meta(description="UN Sustainable Development Goals by number (sorted, deduplicated)."),
        ]
        | UnsetType
    ) = UNSET
    location: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "A place name, or a name with a point (both coordinates or neither); `null` clears it.",
                    "anyOf": [
                        {"type": "string"},
                        {"$ref": "#/components/schemas/Location"},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    start_date: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "An ISO 8601 date (`2026-05-01`, midnight UTC) or date-time; `null` or an empty string clears it.",
                    "anyOf": [
                        {"type": "string", "format": "date"},
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "const": ""},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    end_date: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "Like `start_date`; must not be before it.",
                    "anyOf": [
                        {"type": "string", "format": "date"},
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "const": ""},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    translations: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "anyOf": [{"$ref": "#/components/schemas/TranslationsInput"}, {"type": "null"}]
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    featured: (
        Annotated[bool | None, Meta(description="Pin it on the city's page (node-only flag).")]
        | UnsetType
    ) = UNSET
    deadline: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "When offers close (`cf:deadline`).",
                    "anyOf": [
                        {"type": "string", "format": "date"},
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "const": ""},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    as_: (
        Annotated[
            Annotated[str, Meta(examples=["berlin"])],
            Meta(
                description="The handle of the local city to act as (default: the node's first city). The `as` query parameter does the same."
            ),
        ]
        | UnsetType
    ) = UNSET


class _Project(Struct, kw_only=True):
    """"""

    id: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The ActivityPub id."),
    ]
    url: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The HTML page (the id when there is none)."),
    ]
    type: Annotated[str, Meta(extra_json_schema={"const": "project"})]
    attributed_to: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The owning city actor."),
    ]
    title: str
    teaser: str
    description: Annotated[str, Meta(description="Markdown.")]
    phase: Annotated[
        str,
        Meta(
            extra_json_schema={
                "enum": ["idea", "planning", "pilot", "operational", "completed", "discontinued"]
            }
        ),
    ]
    tags: list[str]
    language: str
    sdgs: list[Annotated[int, Meta(ge=1, le=17)]]
    location: Annotated[
        Any,
        Meta(
            extra_json_schema={
                "anyOf": [{"$ref": "#/components/schemas/Location"}, {"type": "null"}]
            }
        ),
    ]
    start_date: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    end_date: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    published: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    updated: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    translations: Annotated[
        Any, Meta(extra_json_schema={"$ref": "#/components/schemas/Translations"})
    ]
    featured: Annotated[bool, Meta(description="Always false in the timeline.")]
    is_based_on: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})] | None,
        Meta(description="The project this one adopts (`cf:isBasedOn`)."),
    ]
    addresses: list[Annotated[str, Meta(extra_json_schema={"format": "uri"})]]
    likes: Annotated[
        Annotated[int, Meta(ge=0)],
        Meta(description="Likes (favourites) received from the fediverse."),
    ]
    boosts: Annotated[
        Annotated[int, Meta(ge=0)],
        Meta(description="Announces (boosts) received from the fediverse."),
    ]


class _Challenge(Struct, kw_only=True):
    """"""

    id: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The ActivityPub id."),
    ]
    url: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The HTML page (the id when there is none)."),
    ]
    type: Annotated[str, Meta(extra_json_schema={"const": "challenge"})]
    attributed_to: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The owning city actor."),
    ]
    title: str
    teaser: str
    description: Annotated[str, Meta(description="Markdown.")]
    phase: Annotated[
        str, Meta(extra_json_schema={"enum": ["open", "evaluating", "solved", "closed"]})
    ]
    tags: list[str]
    language: str
    sdgs: list[Annotated[int, Meta(ge=1, le=17)]]
    location: Annotated[
        Any,
        Meta(
            extra_json_schema={
                "anyOf": [{"$ref": "#/components/schemas/Location"}, {"type": "null"}]
            }
        ),
    ]
    start_date: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    end_date: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    published: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    updated: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    translations: Annotated[
        Any, Meta(extra_json_schema={"$ref": "#/components/schemas/Translations"})
    ]
    featured: Annotated[bool, Meta(description="Always false in the timeline.")]
    deadline: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    resolved_by: Annotated[
        list[Annotated[str, Meta(extra_json_schema={"format": "uri"})]],
        Meta(description="Projects accepted as its solution (`cf:resolvedBy`)."),
    ]
    likes: Annotated[
        Annotated[int, Meta(ge=0)],
        Meta(description="Likes (favourites) received from the fediverse."),
    ]
    boosts: Annotated[
        Annotated[int, Meta(ge=0)],
        Meta(description="Announces (boosts) received from the fediverse."),
    ]


class ProjectPage(Struct, kw_only=True):
    """A page of our city's projects, newest first."""

    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: Annotated[
        Any,
        Meta(
            extra_json_schema={"type": "array", "items": {"$ref": "#/components/schemas/Project"}}
        ),
    ]


class ChallengePage(Struct, kw_only=True):
    """A page of our city's challenges, newest first."""

    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: Annotated[
        Any,
        Meta(
            extra_json_schema={"type": "array", "items": {"$ref": "#/components/schemas/Challenge"}}
        ),
    ]


class TimelinePage(Struct, kw_only=True):
    """Newest first."""

    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: Annotated[
        Any,
        Meta(
            extra_json_schema={
                "type": "array",
                "items": {"$ref": "#/components/schemas/TimelineItem"},
            }
        ),
    ]


class FollowEntry(Struct, kw_only=True):
    actor: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The other actor's id."),
    ]
    account: Annotated[str, Meta(description="`handle@domain`.")]
    name: str | None
    state: Annotated[str, Meta(extra_json_schema={"enum": ["pending", "accepted", "rejected"]})]
    since: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "date-time"})],
        Meta(description="When the follow was requested."),
    ]


class FollowCreate(Struct, kw_only=True, rename={"as_": "as"}):
    """Give `account` or `actor`."""

    account: (
        Annotated[
            str, Meta(description="`handle@domain` (a leading `@` is fine), or an actor URL.")
        ]
        | UnsetType
    ) = UNSET
    actor: (
        Annotated[
            Annotated[str, Meta(extra_json_schema={"format": "uri"})],
            Meta(description="The actor id (used when `account` is absent)."),
        ]
        | UnsetType
    ) = UNSET
    as_: (
        Annotated[
            Annotated[str, Meta(examples=["berlin"])],
            Meta(
                description="The handle of the local city to act as (default: the node's first city). The `as` query parameter does the same."
            ),
        ]
        | UnsetType
    ) = UNSET


class FollowerDecision(Struct, kw_only=True, rename={"as_": "as"}):
    actor: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The id of the actor asking to follow."),
    ]
    as_: (
        Annotated[
            Annotated[str, Meta(examples=["berlin"])],
            Meta(
                description="The handle of the local city to act as (default: the node's first city). The `as` query parameter does the same."
            ),
        ]
        | UnsetType
    ) = UNSET


class FollowerDecided(Struct, kw_only=True):
    actor: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    state: Annotated[str, Meta(extra_json_schema={"enum": ["accepted", "rejected"]})]


class Comment(Struct, kw_only=True):
    id: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    in_reply_to: Annotated[str, Meta(extra_json_schema={"format": "uri"})] | None
    context: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})] | None,
        Meta(description="The thread root."),
    ]
    author: ActorRef
    content: Annotated[str, Meta(description="Sanitised HTML.")]
    published: Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
    updated: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    state: Annotated[str, Meta(extra_json_schema={"enum": ["held", "published", "removed"]})]
    local: Annotated[bool, Meta(description="Written on this node.")]


class CommentCreate(Struct, kw_only=True, rename={"as_": "as"}):
    in_reply_to: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(
            description="The id of the project, challenge or comment answered (stored here or fetched from its origin)."
        ),
    ]
    content: Annotated[
        Annotated[str, Meta(min_length=1)],
        Meta(description="Plain text; the owner of the answered object is mentioned."),
    ]
    language: (
        Annotated[
            Annotated[str, Meta(examples=["de"])],
            Meta(
                description="BCP 47 tag of the text's language (default en); sent as the comment's contentMap key."
            ),
        ]
        | UnsetType
    ) = UNSET
    attachments: (
        Annotated[
            list[int],
            Meta(
                max_length=8,
                description="Ids of this city's uploads (`POST /media`) sent with the comment as "
                "`Document`/`Image` attachments: a tender's PDF, a data set.",
            ),
        ]
        | UnsetType
    ) = UNSET
    as_: (
        Annotated[
            Annotated[str, Meta(examples=["berlin"])],
            Meta(
                description="The handle of the local city to act as (default: the node's first city). The `as` query parameter does the same."
            ),
        ]
        | UnsetType
    ) = UNSET


class CommentEdit(Struct, kw_only=True):
    content: Annotated[str, Meta(min_length=1)]


class CommentEdited(Struct, kw_only=True):
    id: Annotated[str, Meta(extra_json_schema={"format": "uri"})]


class Thread(Struct, kw_only=True):
    """The published comments of the thread, oldest first."""

    object: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The object asked for."),
    ]
    context: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The thread root."),
    ]
    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: list[Comment]


class ModerationDecision(Struct, kw_only=True):
    id: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The id of a remote comment on one of our threads."),
    ]
    note: Annotated[str | None, Meta(description="Kept in the audit log.")] | UnsetType = UNSET


class ModerationDecided(Struct, kw_only=True):
    id: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    state: Annotated[str, Meta(extra_json_schema={"enum": ["published", "removed"]})]


class ModerationPolicy(Struct, kw_only=True, rename={"as_": "as"}):
    moderate_comments: Annotated[
        bool, Meta(description="Hold remote comments on our threads until an admin approves them.")
    ]
    as_: (
        Annotated[
            Annotated[str, Meta(examples=["berlin"])],
            Meta(
                description="The handle of the local city to act as (default: the node's first city). The `as` query parameter does the same."
            ),
        ]
        | UnsetType
    ) = UNSET


class ModerationPolicySet(Struct, kw_only=True):
    actor: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    moderate_comments: bool


class _AdoptionCreate(Struct, kw_only=True, forbid_unknown_fields=True, rename={"as_": "as"}):
    """Adopt a partner's project: our own project (`cf:isBasedOn` the origin, phase `idea`, the origin's texts unless overridden) and the adoption naming both. Unknown fields are refused (422)."""

    project: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The id of the partner's project to adopt."),
    ]
    status: (
        Annotated[
            str | None,
            Meta(
                description="`cf:status` of the adoption.",
                extra_json_schema={
                    "enum": [
                        "considering",
                        "planned",
                        "piloting",
                        "operational",
                        "discontinued",
                        None,
                    ]
                },
            ),
        ]
        | UnsetType
    ) = UNSET
    title: (
        Annotated[
            Annotated[str, Meta(max_length=300, min_length=1)],
            Meta(description="Our project's title (default: the origin's title)."),
        ]
        | UnsetType
    ) = UNSET
    teaser: (
        Annotated[
            Annotated[str, Meta(max_length=500)] | None,
            Meta(
                description="One or two sentences shown on cards (`cf:teaser`). Overrides the origin's value for our new project."
            ),
        ]
        | UnsetType
    ) = UNSET
    description: (
        Annotated[
            Annotated[str, Meta(max_length=100000)] | None,
            Meta(
                description="The full description in Markdown (`source.content`). Overrides the origin's value for our new project."
            ),
        ]
        | UnsetType
    ) = UNSET
    phase: (
        Annotated[
            str | None,
            Meta(
                description="`cf:phase`; null (or absent on create) means `idea`. Overrides the origin's value for our new project.",
                extra_json_schema={
                    "enum": [
                        "idea",
                        "planning",
                        "pilot",
                        "operational",
                        "completed",
                        "discontinued",
                        None,
                    ]
                },
            ),
        ]
        | UnsetType
    ) = UNSET
    tags: (
        Annotated[
            list[Annotated[str, Meta(pattern="^#?\\w{1,100}$")]] | None,
            Meta(
                description="Hashtags (a leading `#` is dropped; letters, digits and `_`, at most 100 each); duplicates are removed. Overrides the origin's value for our new project."
            ),
        ]
        | UnsetType
    ) = UNSET
    language: (
        Annotated[
            Annotated[str, Meta(pattern="^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")] | None,
            Meta(
                description="The BCP 47 language of the texts (`en`, `pt-BR`); null means `en`. Overrides the origin's value for our new project."
            ),
        ]
        | UnsetType
    ) = UNSET
    sdgs: (
        Annotated[
            list[Annotated[int, Meta(ge=1, le=17)]] | None,
            Meta(
                description="UN Sustainable Development Goals by number (sorted, deduplicated). Overrides the origin's value for our new project."
            ),
        ]
        | UnsetType
    ) = UNSET
    location: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "A place name, or a name with a point (both coordinates or neither); `null` clears it. Overrides the origin's value for our new project.",
                    "anyOf": [
                        {"type": "string"},
                        {"$ref": "#/components/schemas/Location"},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    start_date: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "An ISO 8601 date (`2026-05-01`, midnight UTC) or date-time; `null` or an empty string clears it. Overrides the origin's value for our new project.",
                    "anyOf": [
                        {"type": "string", "format": "date"},
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "const": ""},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    end_date: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "description": "Like `start_date`; must not be before it. Overrides the origin's value for our new project.",
                    "anyOf": [
                        {"type": "string", "format": "date"},
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "const": ""},
                        {"type": "null"},
                    ],
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    translations: (
        Annotated[
            Any,
            Meta(
                extra_json_schema={
                    "anyOf": [{"$ref": "#/components/schemas/TranslationsInput"}, {"type": "null"}],
                    "description": "Overrides the origin's value for our new project.",
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    featured: (
        Annotated[
            bool | None,
            Meta(
                description="Pin it on the city's page (node-only flag). Overrides the origin's value for our new project."
            ),
        ]
        | UnsetType
    ) = UNSET
    addresses: (
        Annotated[
            list[Annotated[str, Meta(extra_json_schema={"format": "uri"})]] | None,
            Meta(
                description="Ids (http(s) URLs) of the challenges it addresses (`cf:addresses`). Overrides the origin's value for our new project."
            ),
        ]
        | UnsetType
    ) = UNSET
    as_: (
        Annotated[
            Annotated[str, Meta(examples=["berlin"])],
            Meta(
                description="The handle of the local city to act as (default: the node's first city). The `as` query parameter does the same."
            ),
        ]
        | UnsetType
    ) = UNSET


class AdoptionCreated(Struct, kw_only=True):
    id: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The adoption's id."),
    ]
    project: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The id of our new project (based on the origin)."),
    ]
    state: Annotated[str, Meta(extra_json_schema={"enum": ["pending", "accepted"]})]


class _AdoptionProgress(Struct, kw_only=True, forbid_unknown_fields=True, rename={"as_": "as"}):
    """Progress sent to the origin as `Update{Adoption}`; fields left out stay."""

    status: (
        Annotated[
            str | None,
            Meta(
                extra_json_schema={
                    "enum": [
                        "considering",
                        "planned",
                        "piloting",
                        "operational",
                        "discontinued",
                        None,
                    ]
                }
            ),
        ]
        | UnsetType
    ) = UNSET
    as_: (
        Annotated[Annotated[str, Meta(examples=["berlin"])], Meta(description="Ignored.")]
        | UnsetType
    ) = UNSET


class _Adoption(Struct, kw_only=True):
    """"""

    id: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    project: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The adopted (origin) project."),
    ]
    local_project: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})] | None,
        Meta(description="The adopter's own project."),
    ]
    adopter: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})] | None,
        Meta(description="The adopting city."),
    ]
    status: Annotated[
        str,
        Meta(
            extra_json_schema={
                "enum": ["considering", "planned", "piloting", "operational", "discontinued"]
            }
        ),
    ]
    state: Annotated[
        str | None,
        Meta(
            description="Whether the origin accepted it.",
            extra_json_schema={"enum": ["pending", "accepted", "rejected", None]},
        ),
    ]
    published: Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
    updated: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    direction: (
        Annotated[
            str,
            Meta(
                description="In lists: made by us, or of one of our projects by another city.",
                extra_json_schema={"enum": ["made", "received"]},
            ),
        ]
        | UnsetType
    ) = UNSET


class AdoptionGraph(Struct, kw_only=True):
    """The adoptions around a project as far as this node knows them (breadth first, bounded)."""

    project: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    nodes: Annotated[
        Any,
        Meta(
            extra_json_schema={
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "uri"},
                        "title": {"type": ["string", "null"]},
                        "owner": {
                            "type": ["object", "null"],
                            "properties": {
                                "actor": {"type": "string", "format": "uri"},
                                "name": {"type": ["string", "null"]},
                                "account": {"type": ["string", "null"]},
                            },
                            "required": ["actor", "name", "account"],
                        },
                        "local": {"type": "boolean"},
                    },
                    "required": ["id", "title", "owner", "local"],
                },
            }
        ),
    ]
    edges: Annotated[
        Any,
        Meta(
            extra_json_schema={
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "from": {
                            "type": "string",
                            "format": "uri",
                            "description": "The adopting project.",
                        },
                        "to": {
                            "type": "string",
                            "format": "uri",
                            "description": "The project it is based on.",
                        },
                        "adoption": {"type": ["string", "null"], "format": "uri"},
                        "status": {"type": ["string", "null"]},
                        "adopter": {"type": ["string", "null"], "format": "uri"},
                    },
                    "required": ["from", "to", "adoption", "status", "adopter"],
                },
            }
        ),
    ]


class OfferCreate(Struct, kw_only=True, forbid_unknown_fields=True, rename={"as_": "as"}):
    challenge: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The id of a partner's challenge (not closed)."),
    ]
    project: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The id of one of our live projects."),
    ]
    content: Annotated[
        Annotated[str, Meta(min_length=1)],
        Meta(description="Why the project solves the challenge (plain text)."),
    ]
    as_: (
        Annotated[
            Annotated[str, Meta(examples=["berlin"])],
            Meta(
                description="The handle of the local city to act as (default: the node's first city). The `as` query parameter does the same."
            ),
        ]
        | UnsetType
    ) = UNSET


class OfferState(Struct, kw_only=True):
    id: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    state: Annotated[str, Meta(extra_json_schema={"enum": ["pending", "accepted", "rejected"]})]


class OfferAccept(Struct, kw_only=True):
    """`reason` is refused here (422)."""

    offer: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The id of a pending offer to one of our challenges."),
    ]
    solved: (
        Annotated[
            bool,
            Meta(
                description="The project solves the challenge: it becomes `solved` with the project in `cf:resolvedBy`."
            ),
        ]
        | UnsetType
    ) = UNSET


class OfferReject(Struct, kw_only=True):
    offer: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The id of a pending offer to one of our challenges."),
    ]
    reason: (
        Annotated[str | None, Meta(description="Sent to the offerer; optional.")] | UnsetType
    ) = UNSET
    solved: Annotated[bool, Meta(extra_json_schema={"const": False})] | UnsetType = UNSET


class Offer(Struct, kw_only=True):
    id: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    challenge: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    project: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The offered project."),
    ]
    offerer: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    content: Annotated[str, Meta(description="The rationale as HTML.")]
    rationale: Annotated[str, Meta(description="The rationale as plain text.")]
    state: Annotated[str, Meta(extra_json_schema={"enum": ["pending", "accepted", "rejected"]})]
    reason: Annotated[str | None, Meta(description="The owner's reason, when rejected.")]
    published: Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
    direction: (
        Annotated[
            str,
            Meta(
                description="In lists: sent by us, or made to one of our challenges.",
                extra_json_schema={"enum": ["sent", "received"]},
            ),
        ]
        | UnsetType
    ) = UNSET


class ReportCreate(Struct, kw_only=True):
    actor: Annotated[str, Meta(description="The remote actor: `handle@host` or an actor URL.")]
    content: Annotated[Annotated[str, Meta(min_length=1)], Meta(description="The reason.")]
    objects: (
        Annotated[
            Annotated[
                list[Annotated[str, Meta(extra_json_schema={"format": "uri"})]], Meta(max_length=50)
            ],
            Meta(description="Ids of the actor's objects (on the actor's host)."),
        ]
        | UnsetType
    ) = UNSET


class Report(Struct, kw_only=True):
    """Reports are anonymous: nothing names who reported."""

    id: int
    activity: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})] | None,
        Meta(description="The Flag activity."),
    ]
    direction: Annotated[str, Meta(extra_json_schema={"enum": ["received", "sent"]})]
    state: Annotated[str, Meta(extra_json_schema={"enum": ["open", "resolved"]})]
    origin_domain: str | None
    target_actor: Annotated[str, Meta(extra_json_schema={"format": "uri"})] | None
    objects: list[Annotated[str, Meta(extra_json_schema={"format": "uri"})]]
    content: str | None
    created_at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
    resolved_at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    resolved_by: str | None
    resolution_note: str | None


class ReportPage(Struct, kw_only=True):
    """Newest first."""

    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: list[Report]


class ReportResolve(Struct, kw_only=True):
    note: (
        Annotated[
            Annotated[str, Meta(max_length=2000)] | None,
            Meta(description="Kept with the report and audited."),
        ]
        | UnsetType
    ) = UNSET


class Key(Struct, kw_only=True):
    """A key of a local actor (public half only)."""

    key_id: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    actor: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    kind: Annotated[str, Meta(extra_json_schema={"enum": ["rsa", "ed25519"]})]
    created_at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
    retired_at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    expires_at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None


class KeyRotate(Struct, kw_only=True, rename={"as_": "as"}):
    grace_days: (
        Annotated[
            Annotated[float, Meta(ge=0)], Meta(description="How long the old keys still verify.")
        ]
        | UnsetType
    ) = UNSET
    as_: (
        Annotated[
            Annotated[str, Meta(examples=["berlin"])],
            Meta(
                description="The handle of the local city to act as (default: the node's first city). The `as` query parameter does the same."
            ),
        ]
        | UnsetType
    ) = UNSET


class KeyRotated(Struct, kw_only=True):
    actor: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    old: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The retired RSA key id."),
    ]
    new: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "uri"})],
        Meta(description="The new RSA key id."),
    ]


class Peer(Struct, kw_only=True):
    domain: Annotated[str, Meta(description="`host[:port]`.")]
    policy: Annotated[
        str | None, Meta(extra_json_schema={"enum": ["trusted", "allowed", "blocked", None]})
    ]
    note: str | None
    updated_by: str | None
    updated_at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    software: Annotated[str | None, Meta(description="From the peer's NodeInfo.")]
    followers: Annotated[int, Meta(description="Their actors following ours (accepted).")]
    following: Annotated[int, Meta(description="Our actors following theirs (accepted).")]
    last_success_at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    last_failure_at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    failing: Annotated[int, Meta(description="Deliveries retrying or dead.")]
    consecutive_failures: int
    circuit: Annotated[str, Meta(description="`closed`, or `open until <time>`.")]
    unavailable_since: Annotated[
        Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None,
        Meta(
            description="Set after days of failures: deliveries to the domain are held until it answers again."
        ),
    ]


class PeerPolicy(Struct, kw_only=True):
    policy: Annotated[str, Meta(extra_json_schema={"enum": ["trusted", "allowed", "blocked"]})]
    note: str | UnsetType | None = UNSET


class Federation(Struct, kw_only=True):
    mode: Annotated[str, Meta(extra_json_schema={"enum": ["open", "allowlist"]})]
    default: Annotated[
        str,
        Meta(
            description="The mode from the settings.",
            extra_json_schema={"enum": ["open", "allowlist"]},
        ),
    ]


class FederationSet(Struct, kw_only=True):
    mode: Annotated[str, Meta(extra_json_schema={"enum": ["open", "allowlist"]})]


class FederationChanged(Struct, kw_only=True):
    mode: Annotated[str, Meta(extra_json_schema={"enum": ["open", "allowlist"]})]
    previous: Annotated[str, Meta(extra_json_schema={"enum": ["open", "allowlist"]})]


class AuditEntry(Struct, kw_only=True):
    id: int
    at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
    who: Annotated[str, Meta(description="The token name (or CLI user) that acted.")]
    action: Annotated[str, Meta(description="e.g. `peer.block`, `keys.rotate`.")]
    target: str | None
    detail: Annotated[Any, Meta(extra_json_schema={"type": ["object", "null"]})]


class AuditPage(Struct, kw_only=True):
    """Newest first."""

    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: list[AuditEntry]


class Delivery(Struct, kw_only=True):
    id: int
    activity: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    type: Annotated[str, Meta(description="The activity type.")]
    inbox: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    domain: str
    state: Annotated[
        str,
        Meta(
            extra_json_schema={
                "enum": ["pending", "retrying", "dead", "done", "failed", "cancelled"]
            }
        ),
    ]
    attempts: int
    next_attempt_at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    last_status: Annotated[int | None, Meta(description="The last HTTP status.")]
    last_error: str | None
    created_at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None
    finished_at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None


class DeliveryPage(Struct, kw_only=True):
    state: Annotated[
        str | None, Meta(extra_json_schema={"enum": ["pending", "retrying", "dead", None]})
    ]
    total: Annotated[int, Meta(ge=0)]
    page: Annotated[int, Meta(ge=1)]
    items: list[Delivery]


class DeliverySummary(Struct, kw_only=True):
    """Delivery counts of one domain by state."""

    domain: str
    pending: int
    retrying: int
    dead: int
    done: int
    failed: int
    cancelled: int


class Retried(Struct, kw_only=True):
    retried: Annotated[int, Meta(description="How many were retried.")]


class Dropped(Struct, kw_only=True):
    dropped: Annotated[int, Meta(description="How many were dropped.")]


class FollowPage(Struct, kw_only=True):
    """Newest first."""

    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: list[FollowEntry]


class PeerPage(Struct, kw_only=True):
    """Every domain with a policy or traffic, in domain order."""

    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: list[Peer]


class KeyPage(Struct, kw_only=True):
    """Our actors' keys (public halves), oldest first."""

    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: list[Key]


class CommentPage(Struct, kw_only=True):
    """Comments on our threads in one moderation state, newest first."""

    state: Annotated[str, Meta(extra_json_schema={"enum": ["held", "published", "removed"]})]
    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: list[Comment]


class DeliverySummaryPage(Struct, kw_only=True):
    """Delivery counts per domain."""

    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: list[DeliverySummary]


class AdoptionPage(Struct, kw_only=True):
    """Adoptions we made and adoptions of our projects by others (each with its `direction`), newest first."""

    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: Annotated[
        Any,
        Meta(
            extra_json_schema={"type": "array", "items": {"$ref": "#/components/schemas/Adoption"}}
        ),
    ]


class OfferPage(Struct, kw_only=True):
    """Offers we sent and offers made to our challenges (each with its `direction`), newest first."""

    total: Annotated[Annotated[int, Meta(ge=0)], Meta(description="Items on all pages.")]
    page: Annotated[int, Meta(ge=1)]
    items: list[Offer]


# The schemas msgspec cannot express: a oneOf with a discriminator, maps with patterned keys.
RAW: dict[str, dict[str, Any]] = {
    "TranslationsInput": {
        "type": "object",
        "description": 'Texts in other languages, by BCP 47 tag: `{"de": '
        '{"title": "...", "teaser": "...", "description": '
        '"..."}}`. Replaces all translations when given.',
        "propertyNames": {"pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"},
        "additionalProperties": {
            "type": "object",
            "properties": {
                "title": {
                    "type": ["string", "null"],
                    "maxLength": 300,
                    "description": "Translated title.",
                },
                "teaser": {
                    "type": ["string", "null"],
                    "maxLength": 500,
                    "description": "Translated teaser.",
                },
                "description": {
                    "type": ["string", "null"],
                    "maxLength": 100000,
                    "description": "Translated description (Markdown).",
                },
            },
        },
    },
    "Translations": {
        "type": "object",
        "propertyNames": {"pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"},
        "additionalProperties": {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "teaser": {"type": "string"},
                "description": {"type": "string"},
            },
        },
    },
    "TimelineItem": {
        "description": "A partner's project or challenge, with its author.",
        "allOf": [
            {
                "oneOf": [
                    {"$ref": "#/components/schemas/Project"},
                    {"$ref": "#/components/schemas/Challenge"},
                ],
                "discriminator": {
                    "propertyName": "type",
                    "mapping": {
                        "project": "#/components/schemas/Project",
                        "challenge": "#/components/schemas/Challenge",
                    },
                },
            },
            {
                "type": "object",
                "properties": {
                    "author": {"$ref": "#/components/schemas/ActorRef"},
                    "boosted_by": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ActorRef"},
                        "description": "Followed cities "
                        "that boosted this "
                        "partner object "
                        "(empty when it is "
                        "in the timeline as "
                        "their own).",
                    },
                },
                "required": ["author", "boosted_by"],
            },
        ],
    },
    "DeadSelection": {
        "type": "object",
        "properties": {
            "ids": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1000,
                "items": {"type": "integer"},
                "description": "Delivery ids.",
            },
            "domain": {"type": "string", "description": "Every dead delivery to this domain."},
        },
        "description": "Give exactly one of `ids` and `domain`; only dead deliveries are touched.",
        "oneOf": [{"required": ["ids"]}, {"required": ["domain"]}],
    },
}

# What a struct's schema says about it as a whole, which msgspec has no place for.
STRUCT_EXTRA: dict[str, dict[str, Any]] = {
    "Error": {
        "examples": [
            {
                "error": "title: this field is required",
                "code": "required",
                "field": "title",
                "params": {},
            }
        ]
    },
    "FollowCreate": {"anyOf": [{"required": ["account"]}, {"required": ["actor"]}]},
}


class ProfileFieldInput(Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[
        Annotated[str, Meta(max_length=MAX_FIELD_CHARS)],
        Meta(description="The label, e.g. `Website`."),
    ]
    value: Annotated[
        Annotated[str, Meta(max_length=MAX_FIELD_CHARS)],
        Meta(
            description="Plain text; a value that is one http(s) URL is sent as a link and "
            'verified (`rel="me"`).'
        ),
    ]


class ProfileField(Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    value: str
    value_html: Annotated[
        str, Meta(description="The value as the `PropertyValue` we send carries it.")
    ]
    verified_at: (
        Annotated[
            str,
            Meta(
                extra_json_schema={"format": "date-time"},
                description='When the linked page last linked back with `rel="me"`; shown on '
                "our pages, never federated.",
            ),
        ]
        | None
    )


class ProfileImage(Struct, kw_only=True, forbid_unknown_fields=True):
    url: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    media_type: str
    alt_text: str | None
    width: int | None
    height: int | None


class Profile(Struct, kw_only=True, forbid_unknown_fields=True):
    handle: str
    display_name: str
    bio: Annotated[str, Meta(description="Markdown, as written.")]
    bio_html: Annotated[
        str, Meta(description="The bio rendered and sanitised: the actor's `summary`.")
    ]
    fields: Annotated[list[ProfileField], Meta(max_length=MAX_FIELDS)]
    avatar: ProfileImage | None
    header: ProfileImage | None


class ProfilePatch(Struct, kw_only=True, forbid_unknown_fields=True, rename={"as_": "as"}):
    display_name: Annotated[str, Meta(min_length=1, max_length=MAX_NAME_CHARS)] | UnsetType = UNSET
    bio: (
        Annotated[
            Annotated[str, Meta(max_length=MAX_BIO_CHARS)],
            Meta(description='Markdown; `""` clears it.'),
        ]
        | UnsetType
    ) = UNSET
    fields: (
        Annotated[
            list[ProfileFieldInput],
            Meta(max_length=MAX_FIELDS, description="Replaces the whole list; `[]` clears it."),
        ]
        | UnsetType
    ) = UNSET
    as_: (
        Annotated[str, Meta(description="The local city (default: the node's first).")] | UnsetType
    ) = UNSET


class ProfileImageUpload(Struct, kw_only=True):
    file: Annotated[
        str,
        Meta(
            extra_json_schema={"contentMediaType": "application/octet-stream"},
            description="JPEG, PNG, WebP, GIF or AVIF; the type comes from the content.",
        ),
    ]
    alt_text: Annotated[str, Meta(max_length=MAX_ALT_CHARS)] | UnsetType = UNSET


_AS = Annotated[
    Annotated[str, Meta(examples=["berlin"])],
    Meta(
        description="The handle of the local city to act as (default: the node's first city). "
        "The `as` query parameter does the same."
    ),
]
_URI = Annotated[str, Meta(extra_json_schema={"format": "uri"})]
_FOCAL = Annotated[list[Annotated[float, Meta(ge=-1, le=1)]], Meta(min_length=2, max_length=2)]


class MediaUpload(Struct, kw_only=True):
    """One file, sent as `multipart/form-data`. Its type comes from its content, never from its name: JPEG, PNG, WebP, GIF (and AVIF where supported) become a picture, re-encoded without metadata (EXIF and GPS are dropped) in a few sizes with a blurhash; PDF, ODT, ODS, CSV and plain text are stored as they are. SVG, HTML and anything else are refused (415); a file that claims a type it is not (422), a decompression bomb or a file over the `[media]` limits (413) and an upload over the city's quota (413) too, and then nothing is stored."""

    file: Annotated[
        str,
        Meta(
            extra_json_schema={"contentMediaType": "application/octet-stream"},
            description="The file.",
        ),
    ]
    alt_text: (
        Annotated[
            Annotated[str, Meta(max_length=MAX_ALT_CHARS)],
            Meta(
                description="What the picture shows, for people who cannot see it: required for "
                "pictures (sent as the attachment's `name`)."
            ),
        ]
        | UnsetType
    ) = UNSET
    focal_point: (
        Annotated[
            str,
            Meta(
                pattern=r"^-?[0-9.]+,-?[0-9.]+$",
                examples=["0,0.5"],
                description="`x,y`, each from -1 to 1 (Mastodon's convention): the part kept "
                "when the picture is cropped.",
            ),
        ]
        | UnsetType
    ) = UNSET
    description: (
        Annotated[str, Meta(description="A document's title (shown instead of its file name).")]
        | UnsetType
    ) = UNSET


class _MediaShown(Struct, kw_only=True):
    id: int
    kind: Literal["image", "document"]
    media_type: Annotated[str, Meta(description="Of `url`: what federation gets.")]
    url: Annotated[
        _URI,
        Meta(
            description="The largest rendition (pictures) or the file (documents), served at "
            "`/media/{sha256}` with a year-long immutable cache header."
        ),
    ]
    preview_url: Annotated[_URI, Meta(description="A smaller rendition for pages.")]
    alt_text: str | None
    filename: str | None
    width: int | None
    height: int | None
    blurhash: str | None
    focal_point: _FOCAL | None
    size: Annotated[int, Meta(description="Bytes of all its renditions: what the quota counts.")]


class Media(_MediaShown, kw_only=True):
    """An upload and where it is served."""

    attached_to: list[_URI]


class ShownMedia(_MediaShown, kw_only=True):
    """A media item of an object, in the order it is sent (pictures, cover first, then documents)."""

    role: Literal["cover", "gallery", "attachment"]


class MediaList(Struct, kw_only=True):
    total: Annotated[int, Meta(ge=0)]
    page: Annotated[int, Meta(ge=1)]
    items: list[ShownMedia]


class MediaAttach(Struct, kw_only=True, forbid_unknown_fields=True, rename={"as_": "as"}):
    media: Annotated[int, Meta(description="The upload's id.")]
    role: (
        Annotated[
            Literal["cover", "gallery", "attachment"],
            Meta(
                description="Pictures: `cover` (one; the previous cover joins the gallery) or "
                "`gallery` (default); documents: `attachment`. At most 4 pictures (Mastodon shows "
                "four) and 8 documents."
            ),
        ]
        | UnsetType
    ) = UNSET
    as_: _AS | UnsetType = UNSET


class MediaOrder(Struct, kw_only=True, forbid_unknown_fields=True, rename={"as_": "as"}):
    order: Annotated[
        list[int],
        Meta(
            description="Every media id of the object, once, in the new order (pictures are "
            "still sent before documents)."
        ),
    ]
    as_: _AS | UnsetType = UNSET


class MediaPatch(Struct, kw_only=True, forbid_unknown_fields=True, rename={"as_": "as"}):
    alt_text: Annotated[str, Meta(min_length=1, max_length=MAX_ALT_CHARS)]
    as_: _AS | UnsetType = UNSET
