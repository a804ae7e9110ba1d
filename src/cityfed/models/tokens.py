"""API bearer tokens: created once (the secret is shown a single time), stored only as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.tables import ApiToken
from cityfed.models.types import utcnow

SCOPES = ("admin", "editor")
PREFIX = "cf_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_token(session: AsyncSession, name: str, scope: str) -> str:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    secret = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, scope=scope, token_hash=_hash(secret)))
    await session.flush()
    return secret


async def authenticate(session: AsyncSession, secret: str) -> ApiToken | None:
    """The live token for ``secret``, or None. The hash is looked up by index, then compared in
    constant time so the comparison itself leaks nothing about stored hashes."""
    digest = _hash(secret)
    token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or token.revoked_at is not None:
        return None
    if not hmac.compare_digest(token.token_hash, digest):
        return None
    return token


async def touch(session: AsyncSession, token_id: int) -> None:
    token = await session.get(ApiToken, token_id)
    if token is not None:
        token.last_used_at = utcnow()
