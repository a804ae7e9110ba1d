"""Storing what we learn about remote actors and their keys."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.activitypub.actor import RemoteActor
from cityfed.models.db import dialect_name
from cityfed.models.tables import Actor, Key
from cityfed.models.types import utcnow


async def upsert(session: AsyncSession, remote: RemoteActor, document: dict[str, Any]) -> Actor:
    """Insert or refresh a remote actor and replace its key set with the one it publishes now."""
    # Two requests from a peer we have not seen before may both get here at once: insert with
    # ON CONFLICT DO NOTHING, then read the row, instead of check-then-insert.
    insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    await session.execute(
        insert(Actor)
        .values(
            ap_id=remote.id,
            local=False,
            type=remote.type,
            handle=remote.handle,
            domain=remote.domain,
            inbox=remote.inbox,
            created_at=utcnow(),
            updated_at=utcnow(),
            manually_approves_followers=False,
            moderate_comments=False,
        )
        .on_conflict_do_nothing(index_elements=["ap_id"])
    )
    actor = await session.scalar(
        select(Actor).where(Actor.ap_id == remote.id).execution_options(populate_existing=True)
    )
    assert actor is not None
    if actor.local:
        raise ValueError(f"{remote.id} is one of our own actors")
    actor.type = remote.type
    actor.handle = remote.handle
    actor.domain = remote.domain
    actor.name = remote.name
    actor.summary = remote.summary
    actor.url = remote.url
    actor.icon_url = remote.icon_url
    actor.header_url = remote.header_url
    actor.inbox = remote.inbox
    actor.shared_inbox = remote.shared_inbox
    actor.outbox = remote.outbox
    actor.followers_url = remote.followers
    actor.following_url = remote.following
    actor.manually_approves_followers = remote.manually_approves_followers
    actor.document = document
    actor.fetched_at = utcnow()
    await session.flush()

    published = {key.key_id: key for key in remote.public_keys if key.owner == remote.id}
    # A key the actor no longer lists is no longer vouched for: stragglers signed with it will
    # trigger one refetch and then fail, which is what the owner asked for by rotating.
    await session.execute(
        delete(Key).where(
            Key.actor_id == actor.id, Key.kind == "rsa", Key.key_id.not_in(list(published) or [""])
        )
    )
    for key_id, info in published.items():
        await session.execute(
            insert(Key)
            .values(
                actor_id=actor.id,
                key_id=key_id,
                kind="rsa",
                public_pem=info.pem,
                expires_at=info.expires,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["key_id"])
        )
        row = await session.scalar(
            select(Key).where(Key.key_id == key_id).execution_options(populate_existing=True)
        )
        if row is not None and row.actor_id == actor.id:
            row.public_pem = info.pem
            row.expires_at = info.expires
    await session.flush()
    return actor


async def rsa_key_ids(session: AsyncSession, actor_id: int) -> set[str]:
    """The ids of the RSA keys we hold for an actor (to tell a rotation from a plain update)."""
    rows = await session.scalars(
        select(Key.key_id).where(Key.actor_id == actor_id, Key.kind == "rsa")
    )
    return set(rows)
