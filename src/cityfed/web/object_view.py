"""The object page's main part: one project or challenge with its texts rendered, translations,
SDGs, and the objects it links to."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from markupsafe import Markup

from cityfed.actions.project_fields import CityObject
from cityfed.actions.projects import kind_of
from cityfed.activitypub.vocab import Challenge, Project
from cityfed.models.tables import Actor, Object
from cityfed.schemas.objects import markdown_fields
from cityfed.web.cities import profile_url
from cityfed.web.filters import KIND_LABELS, SDG_NAMES, language_name, sdg_url, web_url
from cityfed.web.markdown import render_markdown
from cityfed.web.references import Reference, reference

_SPDX_ID = re.compile(r"[A-Za-z0-9.+-]+")
_EMAIL = re.compile(r"[^@\s<>\"':/]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class Translation:
    lang: str
    language: str
    title: str
    teaser: str
    description: Markup


@dataclass(frozen=True)
class ObjectView:
    item: CityObject
    kind: str
    author_name: str
    author_url: str | None
    description: Markup
    # The kind's Markdown fields (``cityfed.schemas``), rendered: outcomes, requirements, ...
    texts: Mapping[str, Markup]
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
    owners: Mapping[str, Actor] | None = None,
) -> ObjectView:
    """The page of ``row`` (whose vocabulary object is ``item``); ``titles`` and ``owners`` name
    the objects it links to and their cities, where known."""
    titles = titles or {}
    based_on: Reference | None = None
    addresses: list[Reference] = []
    resolved_by: list[Reference] = []
    kind = kind_of(row)
    texts = {
        name: Markup(render_markdown(getattr(item, name, None)))
        for name in markdown_fields("project" if isinstance(item, Project) else "challenge")
    }
    if isinstance(item, Project):
        based_on = reference(item.is_based_on, titles, owners) if item.is_based_on else None
        addresses = [reference(ap_id, titles, owners) for ap_id in item.addresses]
    elif isinstance(item, Challenge):
        resolved_by = [reference(ap_id, titles, owners) for ap_id in item.resolved_by]
    return ObjectView(
        item=item,
        kind=kind,
        author_name=(author.name or author.handle) if author else item.attributed_to,
        author_url=profile_url(author) if author else web_url(item.attributed_to),
        description=Markup(render_markdown(item.description)),
        texts=texts,
        translations=_translations(item),
        sdgs=[(goal, SDG_NAMES[goal], sdg_url(goal)) for goal in item.sdgs],
        based_on=based_on,
        addresses=addresses,
        resolved_by=resolved_by,
        featured=row.featured,
    )
