"""Project and Challenge (§4): a city's projects and the problems it wants solved.

Both are CityObjects (see ``city_object``); this module adds each type's phases and its own
``cf:`` properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from cityfed.activitypub.vocab.city_object import CityObject
from cityfed.activitypub.vocab.common import (
    format_datetime,
    id_of,
    ids_of,
    parse_datetime,
    text_of,
    texts_of,
)

PROJECT_PHASES = ("idea", "planning", "pilot", "operational", "completed", "discontinued")
CHALLENGE_PHASES = ("open", "evaluating", "solved", "closed")


@dataclass(kw_only=True)
class Project(CityObject):
    """A city's project (§4): what it does, how far it is, and where others can reuse it."""

    PHASES: ClassVar[tuple[str, ...]] = PROJECT_PHASES
    CF_TYPE: ClassVar[str] = "cf:Project"
    OWN_KEYS: ClassVar[frozenset[str]] = frozenset(
        {
            "cf:contact",
            "cf:license",
            "cf:repository",
            "cf:publiccode",
            "cf:budget",
            "cf:partners",
            "cf:outcomes",
            "cf:lessonsLearned",
            "cf:isBasedOn",
            "cf:addresses",
            "cf:adoptions",
        }
    )

    phase: str = "idea"
    contact: str | None = None
    license: str | None = None  # SPDX identifier
    repository: str | None = None
    publiccode: str | None = None  # URL of a publiccode.yml
    budget: str | None = None
    partners: list[str] = field(default_factory=list)
    outcomes: str | None = None
    lessons_learned: str | None = None
    is_based_on: str | None = None  # the project this one adopts
    addresses: list[str] = field(default_factory=list)  # challenge ids
    adoptions: str | None = None  # collection id

    def _write_own(self, doc: dict[str, Any]) -> None:
        optional = {
            "cf:contact": self.contact,
            "cf:license": self.license,
            "cf:repository": self.repository,
            "cf:publiccode": self.publiccode,
            "cf:budget": self.budget,
        }
        doc.update({key: value for key, value in optional.items() if value is not None})
        if self.partners:
            doc["cf:partners"] = list(self.partners)
        if self.outcomes is not None:
            doc["cf:outcomes"] = self.outcomes
        if self.lessons_learned is not None:
            doc["cf:lessonsLearned"] = self.lessons_learned
        if self.is_based_on:
            doc["cf:isBasedOn"] = self.is_based_on
        if self.addresses:
            doc["cf:addresses"] = list(self.addresses)
        if self.adoptions:
            doc["cf:adoptions"] = self.adoptions

    @classmethod
    def _read_own(cls, doc: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "contact": text_of(doc.get("cf:contact")),
            "license": text_of(doc.get("cf:license")),
            "repository": text_of(doc.get("cf:repository")),
            "publiccode": text_of(doc.get("cf:publiccode")),
            "budget": text_of(doc.get("cf:budget")),
            "partners": texts_of(doc.get("cf:partners")),
            "outcomes": text_of(doc.get("cf:outcomes")),
            "lessons_learned": text_of(doc.get("cf:lessonsLearned")),
            "is_based_on": id_of(doc.get("cf:isBasedOn")),
            "addresses": ids_of(doc.get("cf:addresses")),
            "adoptions": id_of(doc.get("cf:adoptions")),
        }


@dataclass(kw_only=True)
class Challenge(CityObject):
    """A problem a city wants solved (§4); partner cities answer with SolutionOffers."""

    PHASES: ClassVar[tuple[str, ...]] = CHALLENGE_PHASES
    CF_TYPE: ClassVar[str] = "cf:Challenge"
    OWN_KEYS: ClassVar[frozenset[str]] = frozenset(
        {
            "cf:deadline",
            "cf:requirements",
            "cf:solutions",
            "cf:resolvedBy",
        }
    )

    phase: str = "open"
    deadline: datetime | None = None
    requirements: str | None = None
    solutions: str | None = None  # collection of accepted offers
    resolved_by: list[str] = field(default_factory=list)

    def _datetime_fields(self) -> tuple[str, ...]:
        return (*super()._datetime_fields(), "deadline")

    def _card_lines(self) -> list[str]:
        if self.deadline is None:
            return []
        return [f"<p>Deadline: {self.deadline.date().isoformat()}</p>"]

    def _write_own(self, doc: dict[str, Any]) -> None:
        if self.deadline:
            doc["cf:deadline"] = format_datetime(self.deadline)
        if self.requirements is not None:
            doc["cf:requirements"] = self.requirements
        if self.solutions:
            doc["cf:solutions"] = self.solutions
        if self.resolved_by:
            doc["cf:resolvedBy"] = list(self.resolved_by)

    @classmethod
    def _read_own(cls, doc: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "deadline": parse_datetime(doc.get("cf:deadline"), "cf:deadline"),
            "requirements": text_of(doc.get("cf:requirements")),
            "solutions": id_of(doc.get("cf:solutions")),
            "resolved_by": ids_of(doc.get("cf:resolvedBy")),
        }
