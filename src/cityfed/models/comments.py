"""Questions about comments (Notes): a thread, and the moderation queue.

Each is asked by several faces (the public pages, the staff pages, the REST API, soon the Mastodon
API); they ask here, so they cannot disagree about what a reader or a moderator may see.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.peers import domain_not_blocked
from cityfed.models.states import CommentState
from cityfed.models.tables import Actor, Object


def _thread(target: Object) -> Select[Object, Actor]:
    root = target.context or target.ap_id
    return (
        select(Object, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(
            # ``context`` names the thread's root; ``in_reply_to`` also finds direct replies
            # stored without one.
            or_(Object.context == root, Object.in_reply_to == target.ap_id),
            Object.type == "Note",
            Object.state == CommentState.PUBLISHED,
            Object.deleted_at.is_(None),
            domain_not_blocked(Actor.domain),
        )
    )


async def thread(
    session: AsyncSession, target: Object, *, offset: int = 0, limit: int | None = None
) -> list[tuple[Object, Actor]]:
    """The comments in ``target``'s thread (its root's, if ``target`` is itself a comment) and
    the direct replies to it, with their authors, oldest first: only the published and live ones
    (held, removed and deleted comments are not for readers), none by a blocked domain's actor."""
    query = _thread(target).order_by(Object.published, Object.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [(row, author) for row, author in (await session.execute(query)).all()]


async def count_thread(session: AsyncSession, target: Object) -> int:
    return await _count(session, _thread(target))


def _held(state: CommentState) -> Select[Object, Actor]:
    return (
        select(Object, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(
            Object.type == "Note",
            Object.local.is_(False),
            Object.state == state,
            Object.deleted_at.is_(None),
            # A blocked domain's comments can be neither read nor approved (actions/moderation.py
            # refuses), so no moderator is shown them either.
            domain_not_blocked(Actor.domain),
        )
    )


async def held_comments(
    session: AsyncSession,
    state: CommentState = CommentState.HELD,
    *,
    offset: int = 0,
    limit: int = 200,
) -> list[tuple[Object, Actor]]:
    """Comments from other cities in moderation state ``state``, newest first, with their
    authors: the moderation queue of the staff pages and of ``GET /admin/comments``."""
    query = _held(state).order_by(Object.published.desc(), Object.id).offset(offset).limit(limit)
    return [(row, author) for row, author in (await session.execute(query)).all()]


async def count_held_comments(
    session: AsyncSession, state: CommentState = CommentState.HELD
) -> int:
    return await _count(session, _held(state))


async def _count(session: AsyncSession, query: Select[*tuple[Any, ...]]) -> int:
    return await session.scalar(select(func.count()).select_from(query.subquery())) or 0
