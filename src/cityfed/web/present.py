"""What the HTML templates and feeds show: plain view models built from rows, no I/O.

Keeping the shaping here (titles, dates, links, SDG names, language names, paging) leaves the
handlers thin and the templates free of logic that would need testing through HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from markupsafe import Markup

from cityfed.actions.project_fields import CityObject
from cityfed.actions.projects import kind_of, load
from cityfed.activitypub import collections as coll
from cityfed.activitypub.vocab import Challenge, Project
from cityfed.models.tables import Actor, Object
from cityfed.web.filters import SDG_NAMES, language_name, sdg_url, web_url
from cityfed.web.markdown import render_markdown

PAGE_SIZE = coll.PAGE_SIZE
_SPDX_ID = re.compile(r"[A-Za-z0-9.+-]+")
_EMAIL = re.compile(r"[^@\s<>\"':/]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
KIND_LABELS = {"project": "Project", "challenge": "Challenge"}


def profile_url(actor: Actor) -> str:
    return actor.url or actor.ap_id


# --- paging -------------------------------------------------------------------------------------


class BadPage(ValueError):
    pass


def page_number(raw: str | None) -> int:
    """``?page=`` → 1-based page number (1 when absent); BadPage when malformed."""
    try:
        return coll.parse_page_number(raw) or 1
    except ValueError:
        raise BadPage(raw) from None


@dataclass(frozen=True)
class Pager:
    number: int
    total: int
    path: str
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def beyond_end(self) -> bool:
        return self.number > self.pages

    def url(self, number: int) -> str:
        return self.path if number == 1 else f"{self.path}?{urlencode({'page': number})}"

    @property
    def prev_url(self) -> str | None:
        return self.url(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url(self.number + 1) if self.number < self.pages else None


# --- list entries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One project or challenge in a list."""

    kind: str
    url: str
    title: str
    teaser: str
    phase: str
    lang: str
    published: datetime | None
    tags: list[str]
    featured: bool = False
    author: str | None = None
    author_url: str | None = None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def card(row: Object, author: Actor | None = None) -> Card:
    item = load(row)
    return Card(
        kind=kind_of(row),
        url=item.url or item.id,
        title=item.name,
        teaser=item.teaser,
        phase=item.phase,
        lang=item.language,
        published=item.published or row.published,
        tags=list(item.tags),
        featured=row.featured,
        author=(author.name or author.handle) if author else None,
        author_url=profile_url(author) if author else None,
    )


def cards(rows: Iterable[Object], authors: Mapping[int, Actor] | None = None) -> list[Card]:
    return [card(row, (authors or {}).get(row.actor_id)) for row in rows]


# --- the object page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Translation:
    lang: str
    language: str
    title: str
    teaser: str
    description: Markup


@dataclass(frozen=True)
class Reference:
    """A link to another object, with its title when this node knows it."""

    url: str | None
    label: str


@dataclass(frozen=True)
class ObjectView:
    item: CityObject
    kind: str
    author_name: str
    author_url: str | None
    description: Markup
    outcomes: Markup
    lessons_learned: Markup
    requirements: Markup
    translations: list[Translation]
    sdgs: list[tuple[int, str, str]]
    based_on: Reference | None = None
    addresses: list[Reference] = field(default_factory=list)
    resolved_by: list[Reference] = field(default_factory=list)
    featured: bool = False

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def contact_href(self) -> str | None:
        """A mailto: link when the contact is just an e-mail address."""
        contact = getattr(self.item, "contact", None) or ""
        return f"mailto:{contact}" if _EMAIL.fullmatch(contact) else None

    @property
    def license_url(self) -> str | None:
        """The SPDX page of a single license id; an expression ("MIT OR Apache-2.0") has none."""
        license_id = getattr(self.item, "license", None) or ""
        return (
            f"https://spdx.org/licenses/{license_id}.html"
            if _SPDX_ID.fullmatch(license_id)
            else None
        )

    @property
    def osm_url(self) -> str | None:
        place = self.item.location
        if place is None or place.latitude is None or place.longitude is None:
            return None
        lat, lon = place.latitude, place.longitude
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"


def referenced_ids(item: CityObject) -> list[str]:
    ids: list[str] = []
    if isinstance(item, Project):
        ids += [item.is_based_on] if item.is_based_on else []
        ids += item.addresses
    elif isinstance(item, Challenge):
        ids += item.resolved_by
    return ids


def _reference(ap_id: str, titles: Mapping[str, str]) -> Reference:
    return Reference(url=web_url(ap_id), label=titles.get(ap_id) or ap_id)


def _translations(item: CityObject) -> list[Translation]:
    langs = sorted({*item.name_map, *item.teaser_map, *item.description_map})
    return [
        Translation(
            lang=lang,
            language=language_name(lang),
            title=item.name_map.get(lang, ""),
            teaser=item.teaser_map.get(lang, ""),
            # One level deeper than the main description: it sits under the language's <h3>.
            description=Markup(render_markdown(item.description_map.get(lang), heading_offset=3)),
        )
        for lang in langs
    ]


def object_view(
    row: Object,
    item: CityObject,
    author: Actor | None,
    titles: Mapping[str, str] | None = None,
) -> ObjectView:
    """The page of ``row`` (whose vocabulary object is ``item``); ``titles`` names the objects
    it links to, where known."""
    titles = titles or {}
    outcomes = lessons = requirements = ""
    based_on: Reference | None = None
    addresses: list[Reference] = []
    resolved_by: list[Reference] = []
    if isinstance(item, Project):
        outcomes = render_markdown(item.outcomes)
        lessons = render_markdown(item.lessons_learned)
        based_on = _reference(item.is_based_on, titles) if item.is_based_on else None
        addresses = [_reference(ap_id, titles) for ap_id in item.addresses]
    elif isinstance(item, Challenge):
        requirements = render_markdown(item.requirements)
        resolved_by = [_reference(ap_id, titles) for ap_id in item.resolved_by]
    return ObjectView(
        item=item,
        kind=kind_of(row),
        author_name=(author.name or author.handle) if author else item.attributed_to,
        author_url=profile_url(author) if author else web_url(item.attributed_to),
        description=Markup(render_markdown(item.description)),
        outcomes=Markup(outcomes),
        lessons_learned=Markup(lessons),
        requirements=Markup(requirements),
        translations=_translations(item),
        sdgs=[(goal, SDG_NAMES[goal], sdg_url(goal)) for goal in item.sdgs],
        based_on=based_on,
        addresses=addresses,
        resolved_by=resolved_by,
        featured=row.featured,
    )


# --- a city's links -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CityLinks:
    """Where a city's lists, feed and open data live (all under its actor id)."""

    base: str

    @classmethod
    def of(cls, actor: Actor) -> CityLinks:
        return cls(actor.ap_id)

    @property
    def projects(self) -> str:
        return f"{self.base}/projects"

    @property
    def challenges(self) -> str:
        return f"{self.base}/challenges"

    @property
    def feed(self) -> str:
        return f"{self.base}/feed.atom"

    @property
    def jsonld(self) -> str:
        return f"{self.base}/projects.jsonld"

    @property
    def csv(self) -> str:
        return f"{self.base}/projects.csv"
