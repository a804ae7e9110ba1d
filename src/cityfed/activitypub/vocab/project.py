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
from cityfed.schemas.fields import FieldSpec
from cityfed.schemas.objects import (
    CHALLENGE_PHASES,
    CHALLENGE_SPECS,
    PROJECT_PHASES,
    PROJECT_SPECS,
    ChallengeFields,
    ProjectFields,
)

__all__ = ["CHALLENGE_PHASES", "PROJECT_PHASES", "Challenge", "Project"]


def write_fields(obj: object, group: tuple[FieldSpec, ...], doc: dict[str, Any]) -> None:
    """The declared plain fields of ``obj`` as their ``cf:`` terms (unset ones left out)."""
    for spec in group:
        value = getattr(obj, spec.name)
        if spec.kind == "lines":
            if value:
                doc[spec.term] = list(value)
        elif value is not None:
            doc[spec.term] = value


def read_fields(group: tuple[FieldSpec, ...], doc: Mapping[str, Any]) -> dict[str, Any]:
    """The declared plain fields read back from their ``cf:`` terms."""
    return {
        spec.name: (texts_of if spec.kind == "lines" else text_of)(doc.get(spec.term))
        for spec in group
    }


@dataclass(kw_only=True)
class Project(CityObject, ProjectFields):
    """A city's project (§4): what it does, how far it is, and where others can reuse it."""

    PHASES: ClassVar[tuple[str, ...]] = PROJECT_PHASES
    CF_TYPE: ClassVar[str] = "cf:Project"
    OWN_KEYS: ClassVar[frozenset[str]] = frozenset(
        {
            *(spec.term for spec in PROJECT_SPECS),
            "cf:isBasedOn",
            "cf:addresses",
            "cf:adoptions",
        }
    )

    phase: str = "idea"
    # contact, license, repository, ... : declared in ``schemas.objects.ProjectFields``
    is_based_on: str | None = None  # the project this one adopts
    addresses: list[str] = field(default_factory=list)  # challenge ids
    adoptions: str | None = None  # collection id

    def _write_own(self, doc: dict[str, Any]) -> None:
        write_fields(self, PROJECT_SPECS, doc)
        if self.is_based_on:
            doc["cf:isBasedOn"] = self.is_based_on
        if self.addresses:
            doc["cf:addresses"] = list(self.addresses)
        if self.adoptions:
            doc["cf:adoptions"] = self.adoptions

    @classmethod
    def _read_own(cls, doc: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **read_fields(PROJECT_SPECS, doc),
            "is_based_on": id_of(doc.get("cf:isBasedOn")),
            "addresses": ids_of(doc.get("cf:addresses")),
            "adoptions": id_of(doc.get("cf:adoptions")),
        }


@dataclass(kw_only=True)
class Challenge(CityObject, ChallengeFields):
    """A problem a city wants solved (§4); partner cities answer with SolutionOffers."""

    PHASES: ClassVar[tuple[str, ...]] = CHALLENGE_PHASES
    CF_TYPE: ClassVar[str] = "cf:Challenge"
    OWN_KEYS: ClassVar[frozenset[str]] = frozenset(
        {
            "cf:deadline",
            *(spec.term for spec in CHALLENGE_SPECS),
            "cf:solutions",
            "cf:resolvedBy",
        }
    )

    phase: str = "open"
    deadline: datetime | None = None
    # requirements: declared in ``schemas.objects.ChallengeFields``
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
        write_fields(self, CHALLENGE_SPECS, doc)
        if self.solutions:
            doc["cf:solutions"] = self.solutions
        if self.resolved_by:
            doc["cf:resolvedBy"] = list(self.resolved_by)

    @classmethod
    def _read_own(cls, doc: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "deadline": parse_datetime(doc.get("cf:deadline"), "cf:deadline"),
            **read_fields(CHALLENGE_SPECS, doc),
            "solutions": id_of(doc.get("cf:solutions")),
            "resolved_by": ids_of(doc.get("cf:resolvedBy")),
        }
