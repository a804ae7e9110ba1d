"""The fields of each object kind, declared once (see the package docstring).

The groups are ``kw_only`` dataclasses: ``activitypub.vocab``'s Project, Challenge and Adoption
inherit them, so a field declared here is an attribute there, typed, with its ``cf:`` term,
label and limit in one line. The shared fields of a city object (title, teaser, description,
phase, tags, ...) have their own structure and rules; their limits are declared here too.

A new optional text field on projects is one line in ``ProjectFields`` (plus a migration, where
a table needs a column, and the template that shows it): the API, its OpenAPI schema, the staff
form, the ``cf:`` context, the ActivityPub document and the JSON export follow from that line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cityfed.schemas.fields import N_, FieldSpec, licence, lines, specs, text, url

PROJECT_PHASES = ("idea", "planning", "pilot", "operational", "completed", "discontinued")
CHALLENGE_PHASES = ("open", "evaluating", "solved", "closed")
ADOPTION_STATUSES = ("considering", "planned", "piloting", "operational", "discontinued")

KindName = Literal["project", "challenge"]

# The texts every city object has (not in a group: they carry language maps and their own rules).
COMMON_LIMITS = {"title": 300, "teaser": 500, "description": 100_000}
# The city-object fields of the API besides the groups below, in the order the API lists them.
COMMON_FIELDS = (
    "title",
    "teaser",
    "description",
    "phase",
    "tags",
    "language",
    "sdgs",
    "location",
    "start_date",
    "end_date",
    "translations",
    "featured",
)


@dataclass(kw_only=True)
class ProjectFields:
    """A project's own plain fields (``cf:`` terms), after the ones every city object has."""

    # In the order of the open-data CSV columns.
    license: str | None = licence(
        "cf:license",
        N_("License"),
        "An SPDX license identifier or expression (`cf:license`).",
    )
    repository: str | None = url(
        "cf:repository", N_("Source code repository"), "The source repository, an http(s) URL."
    )
    publiccode: str | None = url(
        "cf:publiccode", N_("publiccode.yml address"), "The URL of the project's publiccode.yml."
    )
    contact: str | None = text(
        "cf:contact", N_("Contact"), "How to reach the team (`cf:contact`).", limit=500
    )
    budget: str | None = text(
        "cf:budget", N_("Budget"), "Free text, e.g. `EUR 120,000 (2025)`.", limit=200
    )
    partners: list[str] = lines(  # noqa: RUF009 (a dataclass field, see schemas.fields)
        "cf:partners", N_("Partners"), "Partner organisations; blank entries are dropped."
    )
    outcomes: str | None = text(
        "cf:outcomes",
        N_("Outcomes"),
        "What the project achieved (Markdown).",
        limit=20_000,
        markdown=True,
        rows=4,
    )
    lessons_learned: str | None = text(
        "cf:lessonsLearned",
        N_("Lessons learned"),
        "What others should know (Markdown).",
        limit=20_000,
        markdown=True,
        rows=4,
    )


@dataclass(kw_only=True)
class ChallengeFields:
    """A challenge's own plain fields (its ``cf:deadline`` is a date, declared in the vocab)."""

    requirements: str | None = text(
        "cf:requirements",
        N_("Requirements"),
        "What a solution must meet (Markdown).",
        limit=20_000,
        markdown=True,
        rows=4,
    )


@dataclass(kw_only=True)
class AdoptionFields:
    """What an adopting city reports back: how it went (the status is declared in the vocab)."""

    outcomes: str | None = text(
        "cf:outcomes",
        N_("Outcomes"),
        "What the adoption achieved (Markdown).",
        limit=20_000,
        markdown=True,
    )
    lessons_learned: str | None = text(
        "cf:lessonsLearned",
        N_("Lessons learned"),
        "What the origin should hear back (Markdown).",
        limit=20_000,
        markdown=True,
    )


PROJECT_SPECS: tuple[FieldSpec, ...] = specs(ProjectFields)
CHALLENGE_SPECS: tuple[FieldSpec, ...] = specs(ChallengeFields)
ADOPTION_SPECS: tuple[FieldSpec, ...] = specs(AdoptionFields)
OWN: dict[str, tuple[FieldSpec, ...]] = {"project": PROJECT_SPECS, "challenge": CHALLENGE_SPECS}
GROUPS: dict[str, tuple[FieldSpec, ...]] = {**OWN, "adoption": ADOPTION_SPECS}

# Comments, offers and reports: one text each (``content``; an offer's rejection has a reason),
# limited for the API, the forms and the OpenAPI document alike.
COMMENT_MAX_LENGTH = 5000
OFFER_MAX_CONTENT = 5000
OFFER_MAX_REASON = 2000
REPORT_MAX_CONTENT = 2000


def markdown_fields(kind: str) -> tuple[str, ...]:
    """The Markdown texts of a kind (``project``, ``challenge``, ``adoption``)."""
    return tuple(spec.name for spec in GROUPS[kind] if spec.markdown)
