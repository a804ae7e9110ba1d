"""Adoptions of a project as its page shows them: which city took it up, how far it got and what
it learned."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from cityfed.activitypub.vocab.cooperation import Adoption
from cityfed.models.tables import Actor, Object
from cityfed.schemas.objects import markdown_fields
from cityfed.web.cities import City, city
from cityfed.web.markdown import render_markdown
from cityfed.web.references import Reference, reference


@dataclass(frozen=True)
class AdoptionView:
    """One city's adoption of a project: how far it got and what it learned."""

    adopter: City
    status: str
    project: Reference  # the adopter's own project (which is based on the adopted one)
    texts: Mapping[str, Markup]  # its Markdown fields (``schemas.objects.AdoptionFields``)
    published: datetime
    updated: datetime | None

    @property
    def last_updated(self) -> datetime:
        return self.updated or self.published


def adoption_view(
    row: Object, adopter: Actor, titles: Mapping[str, str] | None = None
) -> AdoptionView | None:
    """None for a stored document that no longer reads as an Adoption (then it is not shown)."""
    try:
        adoption = Adoption.from_plain(row.document)
    except ValueError:
        return None
    who = city(adopter)
    project = reference(adoption.local_project, titles or {}, fallback=f"{who.name}'s project")
    return AdoptionView(
        adopter=who,
        status=adoption.status,
        project=Reference(project.url, project.label, who),
        # Under the adoption's <h4> labels: a "#" heading in the text becomes an <h5>.
        texts={
            name: Markup(render_markdown(getattr(adoption, name), heading_offset=4))
            for name in markdown_fields("adoption")
        },
        published=row.published,
        updated=row.updated,
    )


def adoption_views(
    rows: Iterable[tuple[Object, Actor]], titles: Mapping[str, str] | None = None
) -> list[AdoptionView]:
    views = (adoption_view(row, adopter, titles) for row, adopter in rows)
    return [view for view in views if view is not None]
