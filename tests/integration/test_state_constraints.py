"""The schema refuses a state its kind does not have (CHECK constraints of migration 0011), and
the migration keeps every row, also those that reference a rebuilt table on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from cityfed.models import migrate
from cityfed.models.db import open_database
from cityfed.models.tables import Actor, Follow, Object, Reaction
from tests.rig import database_url


async def test_migration_keeps_rows_and_checks_refuse_unknown_states(tmp_path: Path) -> None:
    async with database_url(tmp_path, "states", reuse=False) as url:
        db = open_database(url)
        try:
            await migrate.upgrade(db, "0010")
            async with db.transaction() as session:
                city = Actor(ap_id="https://b.example/a", type="Organization", handle="b")
                city.domain = "b.example"
                session.add(city)
                await session.flush()
                note = Object(
                    ap_id="https://b.example/n",
                    type="Note",
                    actor_id=city.id,
                    document={},
                    state="held",
                )
                session.add(note)
                await session.flush()
                session.add(
                    Reaction(
                        kind="like",
                        activity_ap_id="https://b.example/l",
                        actor_id=city.id,
                        object_id=note.id,
                    )
                )
            await migrate.upgrade(db)
            async with db.session() as session:
                # Rebuilding ``objects`` on SQLite must not cascade to the reactions.
                assert await session.scalar(select(func.count()).select_from(Reaction)) == 1
                assert await session.scalar(select(Object.state)) == "held"

            with pytest.raises(IntegrityError):
                async with db.transaction() as session:
                    # An offer's state on a comment.
                    await session.execute(update(Object).values(state="accepted"))
            async with db.transaction() as session:
                session.add(
                    Follow(
                        follower_id=city.id,
                        followee_id=city.id,
                        activity_ap_id="https://b.example/f",
                        state="accepted",
                    )
                )
            with pytest.raises(IntegrityError):
                async with db.transaction() as session:
                    await session.execute(update(Follow).values(state="maybe"))
            async with db.session() as session:
                assert await session.scalar(select(Follow.state)) == "accepted"
        finally:
            await db.dispose()
