"""What happened to a local city, newest first: the events behind Mastodon's notifications.

Nothing is stored for notifications: each kind of event is a row we keep anyway (a comment on
one of our objects, a follow, a reaction, an adoption, a solution offer, a received report), and
``events`` reads the newest of each kind before a point in time and merges them. Each event has
a stable id built like a status id: its time in milliseconds, then its kind and row id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.peers import actor_not_blocked
from cityfed.models.tables import Actor, Follow, Object, Reaction, Report

KIND_BITS = 3
ROW_BITS = 13
ROW_MASK = (1 << ROW_BITS) - 1


class EventKind(IntEnum):
    COMMENT = 0
    FOLLOW = 1
    FOLLOW_REQUEST = 2
    LIKE = 3
    BOOST = 4
    ADOPTION = 5
    OFFER = 6
    REPORT = 7


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    at: datetime
    row_id: int
    actor: Actor | None  # who did it (None for an anonymous report)
    obj: Object | None = None  # the comment, adoption or offer; ours for a like or boost
    report: Report | None = None

    @property
    def id(self) -> int:
        millis = int(self.at.timestamp() * 1000)
        return (
            (millis << (KIND_BITS + ROW_BITS)) | (self.kind << ROW_BITS) | (self.row_id & ROW_MASK)
        )


def time_of(event_id: int) -> datetime:
    """The start of the millisecond an event id was made from (for paging)."""
    return datetime.fromtimestamp((event_id >> (KIND_BITS + ROW_BITS)) / 1000, UTC)


def _ours(local_actor_id: int) -> Select[str]:
    return select(Object.ap_id).where(Object.actor_id == local_actor_id, Object.local.is_(True))


async def _objects(
    session: AsyncSession,
    kind: EventKind,
    query: Select[Object, Actor],
    cutoff: datetime | None,
    limit: int,
) -> list[Event]:
    """Partners' objects about ours (comments, adoptions, offers), newest received first."""
    query = query.join(Actor, Actor.id == Object.actor_id).where(
        Object.deleted_at.is_(None),
        Object.local.is_(False),
        actor_not_blocked(Object.actor_id),
    )
    if cutoff is not None:
        query = query.where(Object.received_at < cutoff)
    rows = await session.execute(query.order_by(Object.received_at.desc()).limit(limit))
    return [Event(kind, obj.received_at, obj.id, actor, obj) for obj, actor in rows]


async def _follows(
    session: AsyncSession,
    local_actor_id: int,
    kind: EventKind,
    state: str,
    cutoff: datetime | None,
    limit: int,
) -> list[Event]:
    query = (
        select(Follow, Actor)
        .join(Actor, Actor.id == Follow.follower_id)
        .where(
            Follow.followee_id == local_actor_id,
            Follow.state == state,
            actor_not_blocked(Follow.follower_id),
        )
    )
    if cutoff is not None:
        query = query.where(Follow.created_at < cutoff)
    rows = await session.execute(query.order_by(Follow.created_at.desc()).limit(limit))
    return [Event(kind, row.created_at, row.id, actor) for row, actor in rows]


async def _reactions(
    session: AsyncSession,
    local_actor_id: int,
    kind: EventKind,
    reaction: str,
    cutoff: datetime | None,
    limit: int,
) -> list[Event]:
    """Partners' likes or boosts of our objects."""
    query = (
        select(Reaction, Actor, Object)
        .join(Actor, Actor.id == Reaction.actor_id)
        .join(Object, Object.id == Reaction.object_id)
        .where(
            Reaction.kind == reaction,
            Object.actor_id == local_actor_id,
            Object.local.is_(True),
            Reaction.actor_id != local_actor_id,
            actor_not_blocked(Reaction.actor_id),
        )
    )
    if cutoff is not None:
        query = query.where(Reaction.created_at < cutoff)
    rows = await session.execute(query.order_by(Reaction.created_at.desc()).limit(limit))
    return [Event(kind, row.created_at, row.id, actor, obj) for row, actor, obj in rows]


async def _reports(session: AsyncSession, cutoff: datetime | None, limit: int) -> list[Event]:
    query = select(Report).where(Report.direction == "received")
    if cutoff is not None:
        query = query.where(Report.created_at < cutoff)
    rows = await session.scalars(query.order_by(Report.created_at.desc()).limit(limit))
    return [Event(EventKind.REPORT, r.created_at, r.id, None, report=r) for r in rows]


async def events(
    session: AsyncSession,
    local_actor_id: int,
    *,
    kinds: Sequence[EventKind],
    before: datetime | None,
    limit: int,
) -> list[Event]:
    """Up to ``limit`` of each asked kind at or before ``before`` (the caller merges, pages and
    trims by id); blocked domains' actors left out."""
    cutoff = before + timedelta(milliseconds=1) if before is not None else None
    wanted = set(kinds)
    ours = _ours(local_actor_id)
    about_ours = {
        EventKind.COMMENT: select(Object, Actor).where(
            Object.type == "Note", Object.in_reply_to.in_(ours), Object.state == "published"
        ),
        EventKind.ADOPTION: select(Object, Actor).where(
            Object.type == "Adoption", Object.target.in_(ours)
        ),
        EventKind.OFFER: select(Object, Actor).where(
            Object.type == "SolutionOffer", Object.target.in_(ours)
        ),
    }
    found: list[Event] = []
    for kind, query in about_ours.items():
        if kind in wanted:
            found += await _objects(session, kind, query, cutoff, limit)
    for kind, state in ((EventKind.FOLLOW, "accepted"), (EventKind.FOLLOW_REQUEST, "pending")):
        if kind in wanted:
            found += await _follows(session, local_actor_id, kind, state, cutoff, limit)
    for kind, reaction in ((EventKind.LIKE, "like"), (EventKind.BOOST, "announce")):
        if kind in wanted:
            found += await _reactions(session, local_actor_id, kind, reaction, cutoff, limit)
    if EventKind.REPORT in wanted:
        found += await _reports(session, cutoff, limit)
    return found
