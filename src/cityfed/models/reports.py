"""Queries on reports (Flags): the admin queue of received ones and the record of those we sent."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.tables import Report

DIRECTIONS = ("received", "sent")
STATES = ("open", "resolved", "all")


async def by_id(session: AsyncSession, report_id: int) -> Report | None:
    return await session.get(Report, report_id)


async def by_activity(session: AsyncSession, activity_ap_id: str) -> Report | None:
    return await session.scalar(select(Report).where(Report.activity_ap_id == activity_ap_id))


def _listing(direction: str | None, state: str) -> Select[Report]:
    query = select(Report)
    if direction is not None:
        query = query.where(Report.direction == direction)
    if state == "open":
        query = query.where(Report.resolved_at.is_(None))
    elif state == "resolved":
        query = query.where(Report.resolved_at.is_not(None))
    return query


async def page(
    session: AsyncSession,
    *,
    direction: str | None,
    state: str,
    offset: int,
    limit: int,
) -> list[Report]:
    """Reports newest first; ``direction`` None means both, ``state`` open|resolved|all."""
    query = _listing(direction, state).order_by(Report.created_at.desc(), Report.id.desc())
    return list(await session.scalars(query.offset(offset).limit(limit)))


async def count(session: AsyncSession, *, direction: str | None, state: str) -> int:
    listing = _listing(direction, state).subquery()
    return await session.scalar(select(func.count()).select_from(listing)) or 0
