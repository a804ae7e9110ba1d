"""What the staff pages read, shaped for them: the filtered partner timeline and the challenges a
project may address. The questions themselves are asked in models/ (writes go through actions/).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cityfed.actions.project_fields import CityObject
from cityfed.actions.projects import load
from cityfed.activitypub.vocab.city_object import title_of
from cityfed.models import objects as object_queries
from cityfed.models.tables import Actor, Object

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("cityfed.web.staff")

TYPES = {"project": ("Project",), "challenge": ("Challenge",), "": ("Project", "Challenge")}
# Tags, goals and phases live inside the JSON documents, whose operators differ between SQLite
# and PostgreSQL; a filtered timeline looks at this many newest items and filters in Python.
FILTER_WINDOW = 1000


@dataclass(frozen=True)
class TimelineFilter:
    kind: str = ""
    tag: str = ""
    sdg: int | None = None
    phase: str = ""

    @property
    def narrows(self) -> bool:
        return bool(self.tag or self.sdg or self.phase)

    def matches(self, item: CityObject) -> bool:
        if self.tag and self.tag.casefold() not in {t.casefold() for t in item.tags}:
            return False
        if self.sdg and self.sdg not in item.sdgs:
            return False
        return not self.phase or item.phase == self.phase


@dataclass(frozen=True)
class Entry:
    row: Object
    item: CityObject
    author: Actor


def _readable(rows: list[tuple[Object, Actor]]) -> list[Entry]:
    entries = []
    for row, author in rows:
        try:
            entries.append(Entry(row, load(row), author))
        except ValueError as exc:  # stored before a vocabulary change: skip, never fail the page
            log.warning("cannot show %s: %s", row.ap_id, exc)
    return entries


async def timeline(
    session: AsyncSession, actor_id: int, wanted: TimelineFilter, *, offset: int, limit: int
) -> tuple[list[Entry], int]:
    """Projects and challenges of the cities we follow, newest first: a page and the total."""
    types = TYPES.get(wanted.kind, TYPES[""])
    if not wanted.narrows:
        rows = await object_queries.timeline(session, actor_id, types, offset=offset, limit=limit)
        total = await object_queries.count_timeline(session, actor_id, types)
        return _readable(rows), total
    rows = await object_queries.timeline(session, actor_id, types, limit=FILTER_WINDOW)
    matching = [entry for entry in _readable(rows) if wanted.matches(entry.item)]
    return matching[offset : offset + limit], len(matching)


@dataclass(frozen=True)
class KnownChallenge:
    """A challenge a project can say it addresses: ours or a partner's copy."""

    ap_id: str
    title: str
    city: str


KNOWN_CHALLENGES = 200


async def known_challenges(session: AsyncSession) -> list[KnownChallenge]:
    """The live challenges this node holds (ours and those of cities we follow, none from a
    blocked domain), newest first: the choices of a project's "Challenges it addresses"."""
    found = []
    for ap_id, document, author in await object_queries.known_challenges(
        session, limit=KNOWN_CHALLENGES
    ):
        found.append(
            KnownChallenge(ap_id, title_of(document) or ap_id, author.name or author.handle)
        )
    return found
