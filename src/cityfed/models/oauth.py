"""Queries on OAuth 2 client apps, authorization codes, access tokens and read markers.

Secrets are looked up by their SHA-256 hash (an indexed column); callers hash first
(actions/oauth.py), so no function here ever sees a secret in the clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.tables import Marker, OAuthApp, OAuthCode, OAuthToken, StaffUser
from cityfed.models.types import utcnow


@dataclass(frozen=True, slots=True)
class Grant:
    """A token with the app it was issued to and the staff member it acts for (None for an
    app's own client-credentials token)."""

    token: OAuthToken
    app: OAuthApp
    user: StaffUser | None


async def app_by_client_id(session: AsyncSession, client_id: str) -> OAuthApp | None:
    return await session.scalar(select(OAuthApp).where(OAuthApp.client_id == client_id))


async def code_by_hash(session: AsyncSession, code_hash: str) -> OAuthCode | None:
    return await session.scalar(select(OAuthCode).where(OAuthCode.code_hash == code_hash))


async def grant_by_hash(session: AsyncSession, token_hash: str) -> Grant | None:
    """The token with this hash (live or revoked), its app and its user."""
    row = (
        await session.execute(
            select(OAuthToken, OAuthApp, StaffUser)
            .join(OAuthApp, OAuthApp.id == OAuthToken.app_id)
            .outerjoin(StaffUser, StaffUser.id == OAuthToken.user_id)
            .where(OAuthToken.token_hash == token_hash)
        )
    ).first()
    return Grant(row[0], row[1], row[2]) if row is not None else None


async def purge_codes(session: AsyncSession, expired_before: datetime) -> int:
    """Forget authorization codes that expired before this time (used or not)."""
    result = await session.execute(
        delete(OAuthCode)
        .where(OAuthCode.expires_at < expired_before)
        .execution_options(synchronize_session=False)
    )
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]


async def revoke_tokens_of_code(session: AsyncSession, code_id: int) -> int:
    """Revoke what a code gave (it was presented twice: someone else may hold it)."""
    result = await session.execute(
        update(OAuthToken)
        .where(OAuthToken.code_id == code_id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]


async def grants(session: AsyncSession, *, user_id: int | None = None) -> list[Grant]:
    """Tokens issued to staff members (one member's when ``user_id`` is given) and apps' own
    tokens (only in the full list), live first, newest first within each group."""
    query = (
        select(OAuthToken, OAuthApp, StaffUser)
        .join(OAuthApp, OAuthApp.id == OAuthToken.app_id)
        .outerjoin(StaffUser, StaffUser.id == OAuthToken.user_id)
        .order_by(OAuthToken.id.desc())
    )
    if user_id is not None:
        query = query.where(OAuthToken.user_id == user_id)
    found = [Grant(token, app, user) for token, app, user in await session.execute(query)]
    return [g for g in found if g.token.revoked_at is None] + [
        g for g in found if g.token.revoked_at is not None
    ]


async def touch(session: AsyncSession, token_id: int, now: datetime) -> None:
    await session.execute(
        update(OAuthToken)
        .where(OAuthToken.id == token_id)
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


async def token_by_id(session: AsyncSession, token_id: int) -> OAuthToken | None:
    return await session.get(OAuthToken, token_id)


async def markers(session: AsyncSession, user_id: int, timelines: list[str]) -> list[Marker]:
    query = select(Marker).where(Marker.user_id == user_id)
    if timelines:
        query = query.where(Marker.timeline.in_(timelines))
    return list(await session.scalars(query.order_by(Marker.timeline)))


async def marker(session: AsyncSession, user_id: int, timeline: str) -> Marker | None:
    return await session.scalar(
        select(Marker).where(Marker.user_id == user_id, Marker.timeline == timeline)
    )
