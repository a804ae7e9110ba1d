"""Migration 0010 on SQLite and PostgreSQL: the tables match the models, the website and contact
a city had become its first profile fields, and the migration goes down and up again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, select

from cityfed.models import migrate
from cityfed.models.db import open_database
from cityfed.models.tables import Actor, Base, ProfileField
from cityfed.models.types import utcnow
from tests.rig import database_url


def _modelled(name: str | None, kind: str, _parents: object) -> bool:
    """The search index (migration 0014) is written in SQL of its own, FTS5 virtual tables
    included, which no model declares: it is left out of the comparison."""
    return not (kind == "table" and name is not None and name.startswith("search_"))


def down_to_0009(connection: Any) -> None:
    config = migrate.alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "0009")


async def test_website_and_contact_become_fields(tmp_path: Path) -> None:
    async with database_url(tmp_path, "profile_migration", reuse=False) as url:
        db = open_database(url)
        try:
            await migrate.upgrade(db, "0009")
            async with db.write_engine.begin() as conn:
                values = dict(
                    local=True, domain="berlin.example", manually_approves_followers=False
                )
                for handle, website, contact in (
                    ("berlin", "https://berlin.example", "info@berlin.example"),
                    ("spandau", None, "  "),
                ):
                    await conn.execute(
                        insert(Actor.__table__).values(
                            ap_id=f"https://berlin.example/actors/{handle}",
                            type="Organization",
                            handle=handle,
                            website=website,
                            contact=contact,
                            moderate_comments=False,
                            created_at=utcnow(),
                            updated_at=utcnow(),
                            **values,
                        )
                    )
            await migrate.upgrade(db)
            async with db.session() as session:
                rows = (
                    await session.execute(
                        select(
                            Actor.handle,
                            ProfileField.position,
                            ProfileField.name,
                            ProfileField.value,
                        )
                        .join(Actor, Actor.id == ProfileField.actor_id)
                        .order_by(Actor.handle, ProfileField.position)
                    )
                ).all()
                leftovers = (await session.execute(select(Actor.website, Actor.contact))).all()
            assert [tuple(r) for r in rows] == [
                ("berlin", 0, "Website", "https://berlin.example"),
                ("berlin", 1, "Contact", "info@berlin.example"),
            ]
            assert all(r == (None, None) for r in leftovers)
            async with db.write_engine.connect() as conn:
                diff = await conn.run_sync(
                    lambda c: compare_metadata(
                        MigrationContext.configure(c, opts={"include_name": _modelled}),
                        Base.metadata,
                    )
                )
            assert diff == [], diff
            async with db.write_engine.connect() as conn:
                await conn.run_sync(down_to_0009)
                await conn.commit()
            await migrate.upgrade(db)
            assert await migrate.current_revision(db) == migrate.head_revision()
        finally:
            await db.dispose()
