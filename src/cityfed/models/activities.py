"""Questions about activities we sent or received: one by id, an actor's public outbox, and
which inboxes an activity is queued for already."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.tables import Activity, Delivery, Object


async def by_ap_id(session: AsyncSession, ap_id: str) -> Activity | None:
    return await session.scalar(select(Activity).where(Activity.ap_id == ap_id))


async def is_known(session: AsyncSession, ap_id: str) -> bool:
    return await session.scalar(select(Activity.id).where(Activity.ap_id == ap_id)) is not None


def _outbox(actor_id: int) -> tuple[ColumnElement[bool], ...]:
    """An actor's public Creates whose object is still live: its outbox (deleted posts leave)."""
    live = exists().where(
        Object.ap_id == Activity.object_ap_id,
        Object.actor_id == actor_id,
        Object.deleted_at.is_(None),
    )
    return (
        Activity.actor_id == actor_id,
        Activity.local.is_(True),
        Activity.public.is_(True),
        Activity.type == "Create",
        live,
    )


async def count_outbox(session: AsyncSession, actor_id: int) -> int:
    query = select(func.count()).select_from(Activity).where(*_outbox(actor_id))
    return await session.scalar(query) or 0


async def outbox_bodies(
    session: AsyncSession, actor_id: int, *, offset: int, limit: int
) -> list[bytes]:
    """The bodies of one page of the outbox, newest first, as sent."""
    bodies = await session.scalars(
        select(Activity.body)
        .where(*_outbox(actor_id))
        .order_by(Activity.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(bodies)


async def queued_inboxes(session: AsyncSession, activity_id: int) -> set[str]:
    """The inboxes an activity has deliveries for (in any state)."""
    return set(
        await session.scalars(select(Delivery.inbox).where(Delivery.activity_id == activity_id))
    )


async def answers_to(session: AsyncSession, activity_ap_ids: list[str]) -> list[Activity]:
    """The Accepts and Rejects (sent or received and kept) of these activities, oldest first."""
    found = await session.scalars(
        select(Activity)
        .where(Activity.object_ap_id.in_(activity_ap_ids), Activity.type.in_(("Accept", "Reject")))
        .order_by(Activity.id)
    )
    return list(found)
