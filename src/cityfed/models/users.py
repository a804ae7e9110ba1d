"""Queries on staff accounts, their browser sessions and the API tokens they manage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.tables import ApiToken, StaffSession, StaffUser

ROLES = ("admin", "editor")


async def by_email(session: AsyncSession, email: str) -> StaffUser | None:
    return await session.scalar(select(StaffUser).where(StaffUser.email == email))


async def all_users(session: AsyncSession) -> list[StaffUser]:
    return list(await session.scalars(select(StaffUser).order_by(StaffUser.email)))


async def count_admins(session: AsyncSession) -> int:
    query = select(func.count()).select_from(StaffUser).where(StaffUser.role == "admin")
    return await session.scalar(query) or 0


async def live_session(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[StaffSession, StaffUser] | None:
    """The unexpired session with this token hash and its user."""
    row = (
        await session.execute(
            select(StaffSession, StaffUser)
            .join(StaffUser, StaffUser.id == StaffSession.user_id)
            .where(StaffSession.token_hash == token_hash, StaffSession.expires_at > now)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def purge_expired_sessions(session: AsyncSession, now: datetime) -> None:
    await session.execute(
        delete(StaffSession)
        .where(StaffSession.expires_at <= now)
        .execution_options(synchronize_session=False)
    )


async def end_sessions_of(session: AsyncSession, user_id: int, *, keep: int | None = None) -> int:
    """Sign ``user_id`` out everywhere (but in the session ``keep``); how many sessions ended."""
    query = delete(StaffSession).where(StaffSession.user_id == user_id)
    if keep is not None:
        query = query.where(StaffSession.id != keep)
    result = await session.execute(query.execution_options(synchronize_session=False))
    return result.rowcount or 0  # type: ignore[attr-defined]


async def api_tokens(session: AsyncSession) -> list[ApiToken]:
    """Every API token (live first, then revoked), newest first within each group."""
    rows = await session.scalars(select(ApiToken).order_by(ApiToken.id.desc()))
    tokens = list(rows)
    return [t for t in tokens if t.revoked_at is None] + [
        t for t in tokens if t.revoked_at is not None
    ]
