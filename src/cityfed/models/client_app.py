"""Queries the Mastodon client API asks on behalf of a signed-in staff member (issue 17.5):
a status by its id, the account rows behind ids, follow states both ways, our reactions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.tables import Actor, Follow, Object, Reaction


async def object_by_status_key(
    session: AsyncSession, published: datetime, row_remainder: int, modulus: int
) -> Object | None:
    """The live object published in the millisecond starting at ``published`` whose row id is
    ``row_remainder`` modulo ``modulus`` (what a status id encodes, mastodon/ids.py)."""
    rows = await session.scalars(
        select(Object).where(
            Object.published >= published,
            Object.published < published + timedelta(milliseconds=1),
            Object.deleted_at.is_(None),
        )
    )
    return next((row for row in rows if row.id % modulus == row_remainder), None)


async def objects_by_ap_ids(session: AsyncSession, ap_ids: Sequence[str]) -> dict[str, Object]:
    if not ap_ids:
        return {}
    rows = await session.scalars(select(Object).where(Object.ap_id.in_(list(set(ap_ids)))))
    return {row.ap_id: row for row in rows}


async def actors_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Actor]:
    if not ids:
        return {}
    rows = await session.scalars(select(Actor).where(Actor.id.in_(list(set(ids)))))
    return {row.id: row for row in rows}


async def follow_states(
    session: AsyncSession, local_actor_id: int, other_ids: Sequence[int]
) -> tuple[dict[int, str], dict[int, str]]:
    """(our follow's state towards each other actor, their follow's state towards us)."""
    if not other_ids:
        return {}, {}
    ids = list(set(other_ids))
    ours = await session.execute(
        select(Follow.followee_id, Follow.state).where(
            Follow.follower_id == local_actor_id, Follow.followee_id.in_(ids)
        )
    )
    theirs = await session.execute(
        select(Follow.follower_id, Follow.state).where(
            Follow.followee_id == local_actor_id, Follow.follower_id.in_(ids)
        )
    )
    return {row[0]: row[1] for row in ours}, {row[0]: row[1] for row in theirs}


async def reactions_by(
    session: AsyncSession, actor_id: int, object_ids: Sequence[int]
) -> set[tuple[int, str]]:
    """(object id, kind) of this actor's reactions to these objects."""
    if not object_ids:
        return set()
    rows = await session.execute(
        select(Reaction.object_id, Reaction.kind).where(
            Reaction.actor_id == actor_id, Reaction.object_id.in_(list(set(object_ids)))
        )
    )
    return {(object_id, kind) for object_id, kind in rows}
