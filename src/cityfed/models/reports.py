"""Queries on reports (Flags): the admin queue of received ones and the record of those we sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.states import REPORT_GRAPH, ReportState
from cityfed.models.tables import Report

DIRECTIONS = ("received", "sent")
STATES = (ReportState.OPEN, ReportState.RESOLVED, "all")


def in_state(state: ReportState) -> ColumnElement[bool]:
    """A report's state is not a column: it is open until ``resolved_at`` is set."""
    if state == ReportState.OPEN:
        return Report.resolved_at.is_(None)
    return Report.resolved_at.is_not(None)


async def by_id(session: AsyncSession, report_id: int) -> Report | None:
    return await session.get(Report, report_id)


async def by_activity(session: AsyncSession, activity_ap_id: str) -> Report | None:
    return await session.scalar(select(Report).where(Report.activity_ap_id == activity_ap_id))


def _listing(direction: str | None, state: str) -> Select[Report]:
    query = select(Report)
    if direction is not None:
        query = query.where(Report.direction == direction)
    if state in tuple(ReportState):
        query = query.where(in_state(ReportState(state)))
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


async def resolve(
    session: AsyncSession, report_id: int, now: datetime, who: str, note: str | None
) -> bool:
    """Mark an open report resolved; False if it was resolved already. A conditional UPDATE, not
    read-then-write: two admins resolving at once must not both succeed (and both be audited)
    on either database."""
    result = await session.execute(
        update(Report)
        .where(
            Report.id == report_id,
            *(in_state(s) for s in REPORT_GRAPH.sources(ReportState.RESOLVED, [ReportState.OPEN])),
        )
        .values(resolved_at=now, resolved_by=who, resolution_note=note)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
