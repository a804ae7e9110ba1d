"""Read-only queries of the staff pages (writes go through actions/ only).

The thread and follow listings are the same selections the REST API makes (api/comments.py,
api/follows.py); they would move to models/ if a third face needed them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.actions.project_fields import CityObject
from cityfed.actions.projects import load
from cityfed.activitypub.vocab.city_object import title_of
from cityfed.models import objects as object_queries
from cityfed.models.peers import domain_not_blocked
from cityfed.models.tables import Actor, Follow, Key, Object

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


async def object_and_author(session: AsyncSession, ap_id: str) -> tuple[Object, Actor] | None:
    row = (
        await session.execute(
            select(Object, Actor)
            .join(Actor, Actor.id == Object.actor_id)
            .where(Object.ap_id == ap_id, domain_not_blocked(Actor.domain))
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def thread(session: AsyncSession, row: Object) -> list[tuple[Object, Actor]]:
    """The published comments of ``row``'s thread, oldest first (as ``GET API /comments``)."""
    root = row.context or row.ap_id
    rows = await session.execute(
        select(Object, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(
            or_(Object.context == root, Object.in_reply_to == row.ap_id),
            Object.type == "Note",
            Object.deleted_at.is_(None),
            Object.state == "published",
            domain_not_blocked(Actor.domain),
        )
        .order_by(Object.published, Object.id)
    )
    return [(note, author) for note, author in rows.all()]


async def targeting_with_authors(
    session: AsyncSession, type_name: str, target: str
) -> list[tuple[Object, Actor]]:
    """Adoptions or offers about ``target`` with who made them (blocked domains left out)."""
    rows = await object_queries.targeting(session, type_name, target, hide_blocked=True)
    authors = {
        actor.id: actor
        for actor in await session.scalars(
            select(Actor).where(Actor.id.in_({row.actor_id for row in rows}))
        )
    }
    return [(row, authors[row.actor_id]) for row in rows if row.actor_id in authors]


async def follows(session: AsyncSession, me: int, *, following: bool) -> list[tuple[Actor, Follow]]:
    """Whom we follow (``following``) or who follows us, with the state, newest first."""
    mine, theirs = (
        (Follow.follower_id, Follow.followee_id)
        if following
        else (Follow.followee_id, Follow.follower_id)
    )
    rows = await session.execute(
        select(Actor, Follow)
        .join(Follow, theirs == Actor.id)
        .where(mine == me)
        .order_by(Follow.id.desc())
    )
    return [(actor, follow) for actor, follow in rows.all()]


async def held_comments(session: AsyncSession, state: str) -> list[tuple[Object, Actor]]:
    """Comments from other cities in a moderation state (as ``GET API /admin/comments``)."""
    rows = await session.execute(
        select(Object, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(
            Object.type == "Note",
            Object.local.is_(False),
            Object.state == state,
            Object.deleted_at.is_(None),
        )
        .order_by(Object.published.desc())
        .limit(200)
    )
    return [(note, author) for note, author in rows.all()]


async def keys(session: AsyncSession) -> list[tuple[Key, Actor]]:
    rows = await session.execute(
        select(Key, Actor)
        .join(Actor, Actor.id == Key.actor_id)
        .where(Actor.local.is_(True))
        .order_by(Key.id)
    )
    return [(key, actor) for key, actor in rows.all()]


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
    rows = await session.execute(
        select(Object.ap_id, Object.document, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(
            Object.type == "Challenge",
            Object.deleted_at.is_(None),
            domain_not_blocked(Actor.domain),
        )
        .order_by(Object.published.desc(), Object.id.desc())
        .limit(KNOWN_CHALLENGES)
    )
    found = []
    for ap_id, document, author in rows.all():
        found.append(
            KnownChallenge(ap_id, title_of(document) or ap_id, author.name or author.handle)
        )
    return found
