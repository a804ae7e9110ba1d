"""Adoption and SolutionOffer (§4): how cities reuse each other's projects and answer challenges.

An **Adoption** is a public ``["Note", "cf:Adoption"]`` on the adopter's host: ``object`` is the
adopted project, ``cf:localProject`` the adopter's own project (which carries ``cf:isBasedOn``),
``cf:status`` how far the adoption is. Its ``content`` is a one-line card a Mastodon user can read
("City of Berlin is piloting City of Hamburg's Heat-risk map"); ``adoption_card`` writes it.

A **SolutionOffer** (``cf:SolutionOffer``) names a project (``cf:solution``) that answers a
challenge (``cf:challenge``), with a rationale in ``content``. It travels inside an ``Offer`` to
the challenge's owner only, so it is not Note-typed: it is not meant for timelines.

Like ``project.py``: ``to_ap`` writes plain JSON in our default context, ``from_ap`` reads any
valid JSON-LD spelling (pyld only for unfamiliar contexts), ``from_plain`` our own shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any, ClassVar, Self

from cityfed.activitypub.jsonld import PUBLIC, default_context
from cityfed.activitypub.sanitize import text_to_html
from cityfed.activitypub.vocab.common import (
    format_datetime,
    has_type,
    id_of,
    parse_datetime,
    read_as_default,
    require_aware,
    text_of,
    types_of,
)
from cityfed.activitypub.vocab.project import read_fields, write_fields
from cityfed.schemas.objects import ADOPTION_SPECS, ADOPTION_STATUSES, AdoptionFields

__all__ = ["ADOPTION_STATUSES", "Adoption", "SolutionOffer", "adoption_card", "rationale_html"]

# How the card says each status: "City of Berlin <verb> City of Hamburg's Heat-risk map".
_STATUS_VERBS = {
    "considering": "is considering adopting",
    "planned": "plans to adopt",
    "piloting": "is piloting",
    "operational": "is running",
    "discontinued": "has discontinued its adoption of",
}


def _required_id(doc: Mapping[str, Any], key: str, name: str) -> str:
    found = id_of(doc.get(key))
    if found is None:
        raise ValueError(f"{name}: missing")
    return found


def _check_ids(obj: Any, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name}: required")


def adoption_card(
    *,
    adopter_name: str,
    status: str,
    origin_name: str,
    project_name: str,
    project_url: str,
    local_project_url: str | None = None,
) -> str:
    """The Mastodon-readable card of an Adoption: only markup Mastodon keeps (p, a)."""
    verb = _STATUS_VERBS.get(status, f"({status})")
    link = escape(project_url, quote=True)
    parts = [
        f"<p>{escape(adopter_name)} {escape(verb)} {escape(origin_name)}'s "
        f'<a href="{link}">{escape(project_name)}</a></p>'
    ]
    if local_project_url:
        local = escape(local_project_url, quote=True)
        parts.append(f'<p>Our project: <a href="{local}">{escape(local_project_url)}</a></p>')
    return "".join(parts)


def rationale_html(text: str) -> str:
    """A plain-text rationale as the HTML ``content`` of a SolutionOffer (escaped, in <p>s)."""
    return text_to_html(text)


@dataclass(kw_only=True)
class Adoption(AdoptionFields):
    """A city adopts another city's project (§5 Adopt); ``project`` is the adopted one."""

    CF_TYPE: ClassVar[str] = "cf:Adoption"
    STATUSES: ClassVar[tuple[str, ...]] = ADOPTION_STATUSES

    id: str
    attributed_to: str  # the adopting city
    project: str  # the adopted project (``object``)
    local_project: str  # the adopter's own project, which has cf:isBasedOn = project
    adopter: str = ""  # the adopting city (cf:adopter); defaults to attributed_to
    status: str = "considering"
    content: str = ""  # the card (see ``adoption_card``)
    # outcomes, lessons learned: declared in ``schemas.objects.AdoptionFields``
    url: str | None = None
    published: datetime | None = None
    updated: datetime | None = None

    def __post_init__(self) -> None:
        _check_ids(self, ("id", "attributed_to", "project", "local_project"))
        self.adopter = self.adopter or self.attributed_to
        if self.status not in self.STATUSES:
            raise ValueError(f"status: {self.status!r} is not one of {', '.join(self.STATUSES)}")
        self.published = require_aware(self.published, "published")
        self.updated = require_aware(self.updated, "updated")

    def to_ap(self, *, followers: str | None = None, origin: str | None = None) -> dict[str, Any]:
        """The ActivityPub object, addressed to Public with the adopter's ``followers`` and the
        adopted project's owner (``origin``) in ``cc``."""
        doc: dict[str, Any] = {
            "@context": default_context(),
            "id": self.id,
            "type": ["Note", self.CF_TYPE],
            "attributedTo": self.attributed_to,
            "object": self.project,
            "cf:adopter": self.adopter,
            "cf:localProject": self.local_project,
            "cf:status": self.status,
            "content": self.content,
        }
        if self.url:
            doc["url"] = self.url
        write_fields(self, ADOPTION_SPECS, doc)
        if self.published:
            doc["published"] = format_datetime(self.published)
        if self.updated:
            doc["updated"] = format_datetime(self.updated)
        doc["to"] = [PUBLIC]
        cc = [item for item in (followers, origin) if item]
        if cc:
            doc["cc"] = cc
        return doc

    @classmethod
    def from_ap(cls, doc: Mapping[str, Any] | list[Any], *, context: Any = None) -> Self:
        """Read an Adoption from any valid JSON-LD shape; ValueError when invalid."""
        return cls.from_plain(read_as_default(doc, context=context))

    @classmethod
    def from_plain(cls, doc: Mapping[str, Any]) -> Self:
        if not has_type(doc, cls.CF_TYPE):
            raise ValueError(f"type: {types_of(doc)!r} does not include {cls.CF_TYPE}")
        return cls(
            id=_required_id(doc, "id" if "id" in doc else "@id", "id"),
            attributed_to=_required_id(doc, "attributedTo", "attributedTo"),
            project=_required_id(doc, "object", "object"),
            local_project=_required_id(doc, "cf:localProject", "cf:localProject"),
            adopter=id_of(doc.get("cf:adopter")) or "",
            status=text_of(doc.get("cf:status")) or "considering",
            content=text_of(doc.get("content")) or "",
            **read_fields(ADOPTION_SPECS, doc),
            url=id_of(doc.get("url")),
            published=parse_datetime(doc.get("published"), "published"),
            updated=parse_datetime(doc.get("updated"), "updated"),
        )


@dataclass(kw_only=True)
class SolutionOffer:
    """A city offers one of its projects as the solution to another city's challenge (§5)."""

    CF_TYPE: ClassVar[str] = "cf:SolutionOffer"

    id: str
    attributed_to: str  # the offering city
    solution: str  # the offered project
    challenge: str
    content: str = ""  # the rationale as HTML (see ``rationale_html``)
    published: datetime | None = None

    def __post_init__(self) -> None:
        _check_ids(self, ("id", "attributed_to", "solution", "challenge"))
        self.published = require_aware(self.published, "published")

    def to_ap(self, *, owner: str | None = None) -> dict[str, Any]:
        """The object, addressed to the challenge's ``owner`` only (an offer is not public)."""
        doc: dict[str, Any] = {
            "@context": default_context(),
            "id": self.id,
            "type": self.CF_TYPE,
            "attributedTo": self.attributed_to,
            "cf:solution": self.solution,
            "cf:challenge": self.challenge,
            "content": self.content,
        }
        if self.published:
            doc["published"] = format_datetime(self.published)
        if owner:
            doc["to"] = [owner]
        return doc

    @classmethod
    def from_ap(cls, doc: Mapping[str, Any] | list[Any], *, context: Any = None) -> Self:
        """Read a SolutionOffer from any valid JSON-LD shape; ValueError when invalid."""
        return cls.from_plain(read_as_default(doc, context=context))

    @classmethod
    def from_plain(cls, doc: Mapping[str, Any]) -> Self:
        if not has_type(doc, cls.CF_TYPE):
            raise ValueError(f"type: {types_of(doc)!r} does not include {cls.CF_TYPE}")
        return cls(
            id=_required_id(doc, "id" if "id" in doc else "@id", "id"),
            attributed_to=_required_id(doc, "attributedTo", "attributedTo"),
            solution=_required_id(doc, "cf:solution", "cf:solution"),
            challenge=_required_id(doc, "cf:challenge", "cf:challenge"),
            content=text_of(doc.get("content")) or "",
            published=parse_datetime(doc.get("published"), "published"),
        )
