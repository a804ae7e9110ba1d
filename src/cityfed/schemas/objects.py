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

from cityfed.schemas.fields import FieldSpec, licence, lines, specs, text, url

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

    contact: str | None = text("cf:contact", "Contact", limit=500)
    license: str | None = licence("cf:license", "License (SPDX)")
    repository: str | None = url("cf:repository", "Source code repository")
    publiccode: str | None = url("cf:publiccode", "publiccode.yml URL")
    budget: str | None = text("cf:budget", "Budget", limit=200)
    partners: list[str] = lines("cf:partners", "Partners")  # noqa: RUF009 (a field(), see fields)
    outcomes: str | None = text("cf:outcomes", "Outcomes", limit=20_000, markdown=True, rows=4)
    lessons_learned: str | None = text(
        "cf:lessonsLearned", "Lessons learned", limit=20_000, markdown=True, rows=4
    )


@dataclass(kw_only=True)
class ChallengeFields:
    """A challenge's own plain fields (its ``cf:deadline`` is a date, declared in the vocab)."""

    requirements: str | None = text(
        "cf:requirements", "Requirements", limit=20_000, markdown=True, rows=4
    )


@dataclass(kw_only=True)
class AdoptionFields:
    """What an adopting city reports back: how it went (the status is declared in the vocab)."""

    outcomes: str | None = text("cf:outcomes", "Outcomes", limit=20_000, markdown=True)
    lessons_learned: str | None = text(
        "cf:lessonsLearned", "Lessons learned", limit=20_000, markdown=True
    )


@dataclass(kw_only=True)
class CityProfileFields:
    """The plain texts of a city's profile (its actor) that staff edit."""

    contact: str | None = text("cf:contact", "Contact", limit=500)


PROJECT: tuple[FieldSpec, ...] = specs(ProjectFields)
CHALLENGE: tuple[FieldSpec, ...] = specs(ChallengeFields)
ADOPTION: tuple[FieldSpec, ...] = specs(AdoptionFields)
OWN: dict[str, tuple[FieldSpec, ...]] = {"project": PROJECT, "challenge": CHALLENGE}

# Comments and offers: one text each, limits shared by the API, the forms and the inbox.
COMMENT_MAX_LENGTH = 5000
OFFER_MAX_CONTENT = 5000
OFFER_MAX_REASON = 2000


def markdown_fields(kind: str) -> tuple[str, ...]:
    """The Markdown texts of a kind (``project``, ``challenge``, ``adoption``)."""
    group = {"adoption": ADOPTION, **OWN}[kind]
    return tuple(spec.name for spec in group if spec.markdown)
