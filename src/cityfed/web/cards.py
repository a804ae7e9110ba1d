"""Projects and challenges as entries of a list (a profile, a kind's list, a hashtag page)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from cityfed.actions.projects import kind_of, load
from cityfed.models.tables import Actor, Object
from cityfed.web.cities import profile_url
from cityfed.web.filters import KIND_LABELS


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
