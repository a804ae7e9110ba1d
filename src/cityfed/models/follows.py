"""Queries on follow relationships."""

from __future__ import annotations

from sqlalchemy import Select, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.states import FollowState
from cityfed.models.tables import Actor, Follow


async def count_followers(
    session: AsyncSession, actor_id: int, state: FollowState = FollowState.ACCEPTED
) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Follow)
            .where(Follow.followee_id == actor_id, Follow.state == state)
        )
        or 0
    )


async def count_following(
    session: AsyncSession, actor_id: int, state: FollowState = FollowState.ACCEPTED
) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Follow)
            .where(Follow.follower_id == actor_id, Follow.state == state)
        )
        or 0
    )


async def follower_ids(session: AsyncSession, actor_id: int, offset: int, limit: int) -> list[str]:
    rows = await session.scalars(
        select(Actor.ap_id)
        .join(Follow, Follow.follower_id == Actor.id)
        .where(Follow.followee_id == actor_id, Follow.state == FollowState.ACCEPTED)
        .order_by(Follow.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


async def following_ids(session: AsyncSession, actor_id: int, offset: int, limit: int) -> list[str]:
    rows = await session.scalars(
        select(Actor.ap_id)
        .join(Follow, Follow.followee_id == Actor.id)
        .where(Follow.follower_id == actor_id, Follow.state == FollowState.ACCEPTED)
        .order_by(Follow.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


async def is_followed(session: AsyncSession, followee_id: int) -> bool:
    """Does anyone (here: one of our cities) follow this actor, accepted?"""
    row = await session.scalar(
        select(Follow.id)
        .where(Follow.followee_id == followee_id, Follow.state == FollowState.ACCEPTED)
        .limit(1)
    )
    return row is not None


async def find(session: AsyncSession, follower_id: int, followee_id: int) -> Follow | None:
    return await session.scalar(
        select(Follow).where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
    )


async def by_activity(session: AsyncSession, activity_ap_id: str) -> Follow | None:
    return await session.scalar(select(Follow).where(Follow.activity_ap_id == activity_ap_id))


async def follower_inboxes(session: AsyncSession, actor_id: int) -> list[str]:
    """One inbox per follower, the shared inbox preferred: the targets of a public activity."""
    rows = await session.execute(
        select(func.coalesce(Actor.shared_inbox, Actor.inbox))
        .join(Follow, Follow.follower_id == Actor.id)
        .where(
            Follow.followee_id == actor_id,
            Follow.state == FollowState.ACCEPTED,
            Actor.local.is_(False),
        )
    )
    return sorted({row[0] for row in rows if row[0]})


async def drop_follows_of_inbox(session: AsyncSession, inbox: str) -> int | None:
    """Remove every follow, both ways, of the remote actor whose personal inbox is ``inbox``.

    None when ``inbox`` is a shared inbox: its being gone says nothing certain about any actor.
    """
    shared = await session.scalar(select(exists().where(Actor.shared_inbox == inbox)))
    if shared:
        return None
    actor_ids = list(
        await session.scalars(select(Actor.id).where(Actor.inbox == inbox, Actor.local.is_(False)))
    )
    if not actor_ids:
        return 0
    result = await session.execute(
        delete(Follow)
        .where(or_(Follow.follower_id.in_(actor_ids), Follow.followee_id.in_(actor_ids)))
        .execution_options(synchronize_session=False)
    )
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]


def _listing(me: int, following: bool, state: str | None) -> Select[Actor, Follow]:
    mine, theirs = (
        (Follow.follower_id, Follow.followee_id)
        if following
        else (Follow.followee_id, Follow.follower_id)
    )
    query = select(Actor, Follow).join(Follow, theirs == Actor.id).where(mine == me)
    return query if state is None else query.where(Follow.state == state)


async def listing(
    session: AsyncSession,
    me: int,
    *,
    following: bool,
    state: FollowState | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[tuple[Actor, Follow]]:
    """Whom actor ``me`` follows (``following``) or who follows it, with the follow, newest
    first: in ``state``, or in every state."""
    query = _listing(me, following, state).order_by(Follow.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [(actor, follow) for actor, follow in (await session.execute(query)).all()]


async def count_listing(
    session: AsyncSession, me: int, *, following: bool, state: FollowState | None = None
) -> int:
    query = _listing(me, following, state).subquery()
    return await session.scalar(select(func.count()).select_from(query)) or 0


async def drop_follows_of_actor(session: AsyncSession, actor_id: int) -> None:
    """Forget every follow from or to ``actor_id`` (it deleted itself)."""
    await session.execute(
        delete(Follow).where(or_(Follow.follower_id == actor_id, Follow.followee_id == actor_id))
    )


async def following_of(
    session: AsyncSession, follower_id: int, followee_ap_id: str
) -> Follow | None:
    """``follower_id``'s follow of the actor ``followee_ap_id`` (in any state)."""
    return await session.scalar(
        select(Follow)
        .join(Actor, Actor.id == Follow.followee_id)
        .where(Follow.follower_id == follower_id, Actor.ap_id == followee_ap_id)
    )


async def follower_of(
    session: AsyncSession, followee_id: int, follower_ap_id: str
) -> Follow | None:
    """The actor ``follower_ap_id``'s follow of ``followee_id`` (in any state)."""
    return await session.scalar(
        select(Follow)
        .join(Actor, Actor.id == Follow.follower_id)
        .where(Follow.followee_id == followee_id, Actor.ap_id == follower_ap_id)
    )


async def count_unanswered(session: AsyncSession) -> int:
    """Follows on this node, ours or others', that are pending or rejected."""
    query = select(func.count()).select_from(Follow).where(Follow.state != FollowState.ACCEPTED)
    return await session.scalar(query) or 0
