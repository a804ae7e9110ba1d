"""Filling a benchmark node's database in bulk: followers on sink hosts, and stored objects.

Rows are written with core ``executemany`` inserts in large transactions (tens of thousands of
rows a second), never through the actions, which would take minutes and is not what is measured.
Documents are real ones: a project published through the API once, then cloned with fresh ids.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import insert, select

from cityfed.models.db import open_database
from cityfed.models.tables import Activity, Actor, Follow, Object
from cityfed.models.types import utcnow

CHUNK = 5000

PROJECT_FIELDS: dict[str, Any] = {
    "title": "Shared cargo bikes for neighbourhood logistics",
    "teaser": "40 cargo bikes at 12 stations, booked through the city app.",
    "description": (
        "## What\n\nA pilot of shared cargo bikes for residents and small businesses, booked "
        "through the city app and parked at 12 stations near markets and schools.\n\n## Results"
        "\n\n9,000 trips in the first three months; 60 % of bookings replaced a car trip.\n\n"
        "## Lessons\n\nInsurance, winter storage and maintenance contracts took longer than "
        "the bikes. Procurement templates and minutes are in the repository."
    ),
    "phase": "pilot",
    "tags": ["mobility", "cargobikes", "logistics"],
    "language": "en",
    "contact": "mobility@city.example",
    "license": "CC-BY-4.0",
    "repository": "https://code.example/city/cargo-bikes",
}


async def add_followers(database_url: str, handle: str, inboxes: list[str]) -> None:
    """Remote actors, one per personal inbox (``.../users/NAME/inbox``), following ``handle``."""
    db = open_database(database_url)
    now = utcnow()
    try:
        async with db.transaction() as session:
            followee = await session.scalar(
                select(Actor.id).where(Actor.local.is_(True), Actor.handle == handle)
            )
            assert followee is not None, f"no local actor {handle}"
            actors = []
            for inbox in inboxes:
                ap_id = inbox.rsplit("/inbox", 1)[0]
                domain = ap_id.split("/")[2]
                actors.append(
                    {
                        "ap_id": ap_id,
                        "local": False,
                        "type": "Person",
                        "handle": ap_id.rsplit("/", 1)[1],
                        "domain": domain,
                        "name": None,
                        "inbox": inbox,
                        "shared_inbox": None,
                        "manually_approves_followers": False,
                        "moderate_comments": False,
                        "fetched_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            for start in range(0, len(actors), CHUNK):
                await session.execute(insert(Actor), actors[start : start + CHUNK])
            ids = {
                ap_id: actor_id
                for actor_id, ap_id in await session.execute(
                    select(Actor.id, Actor.ap_id).where(Actor.local.is_(False))
                )
            }
            follows = [
                {
                    "follower_id": ids[row["ap_id"]],
                    "followee_id": followee,
                    "activity_ap_id": f"{row['ap_id']}#follows/{uuid.uuid4()}",
                    "state": "accepted",
                    "created_at": now,
                    "updated_at": now,
                }
                for row in actors
            ]
            for start in range(0, len(follows), CHUNK):
                await session.execute(insert(Follow), follows[start : start + CHUNK])
    finally:
        await db.dispose()


async def clone_objects(
    database_url: str, handle: str, *, local: int, remote: int, remote_authors: int
) -> dict[str, Any]:
    """``local`` copies of the node's one published project (each with its Create activity) and
    ``remote`` copies attributed to ``remote_authors`` followed cities (the timeline).

    SQLite only. The serialised template is copied with its ids replaced, byte for byte, and
    written with the driver's ``executemany``: building 100k documents through the ORM would
    take longer than every measurement of the read path together.
    """
    db = open_database(database_url)
    assert db.dialect == "sqlite", "clone_objects writes SQLite rows"
    dialect = db.write_engine.dialect
    stamp = Object.__table__.c.published.type.bind_processor(dialect) or (lambda value: value)
    now = utcnow()
    try:
        async with db.transaction() as session:
            actor = await session.scalar(
                select(Actor).where(Actor.local.is_(True), Actor.handle == handle)
            )
            assert actor is not None
            template = await session.scalar(
                select(Object).where(Object.actor_id == actor.id, Object.local.is_(True))
            )
            create = await session.scalar(
                select(Activity).where(Activity.actor_id == actor.id, Activity.type == "Create")
            )
            assert template is not None and create is not None, "publish one project first"
            old_id, old_activity = template.ap_id.encode(), create.ap_id.encode()
            document = orjson.dumps(template.document)
            body = bytes(create.body)
            base = template.ap_id.rsplit("/", 1)[0]
            activity_base = create.ap_id.rsplit("/", 1)[0]
            objects, activities, ids = [], [], []
            for index in range(local):
                ap_id = f"{base}/{uuid.uuid4()}"
                activity_id = f"{activity_base}/{uuid.uuid4()}"
                published = stamp(now - timedelta(minutes=local - index))
                doc = document.replace(old_id, ap_id.encode()).decode()
                objects.append((ap_id, template.type, actor.id, 1, doc, published, published))
                activities.append(
                    (
                        activity_id,
                        "Create",
                        actor.id,
                        ap_id,
                        1,
                        1,
                        body.replace(old_id, ap_id.encode()).replace(
                            old_activity, activity_id.encode()
                        ),
                        published,
                    )
                )
                ids.append(ap_id)
            authors = await _remote_cities(session, actor.id, remote_authors, now)
            own = actor.ap_id.encode()
            for index in range(remote):
                author_id, author_ap_id = authors[index % len(authors)]
                ap_id = f"{author_ap_id.rsplit('/actors/', 1)[0]}/projects/{uuid.uuid4()}"
                published = stamp(now - timedelta(minutes=remote - index))
                doc = document.replace(old_id, ap_id.encode()).replace(own, author_ap_id.encode())
                objects.append(
                    (ap_id, template.type, author_id, 0, doc.decode(), published, published)
                )
            connection = await session.connection()
            for start in range(0, len(objects), CHUNK):
                await connection.exec_driver_sql(
                    "INSERT INTO objects (ap_id, type, actor_id, local, document, published, "
                    "received_at, featured) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                    objects[start : start + CHUNK],
                )
            for start in range(0, len(activities), CHUNK):
                await connection.exec_driver_sql(
                    "INSERT INTO activities (ap_id, type, actor_id, object_ap_id, local, public, "
                    "body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    activities[start : start + CHUNK],
                )
    finally:
        await db.dispose()
    return {"local_ids": ids, "document_bytes": len(document), "create_bytes": len(body)}


async def _remote_cities(
    session: Any, follower_id: int, count: int, now: Any
) -> list[tuple[int, str]]:
    """``count`` remote cities that the local actor follows (accepted)."""
    rows = []
    for index in range(count):
        host = f"https://partner{index}.city.example"
        rows.append(
            {
                "ap_id": f"{host}/actors/partner{index}",
                "local": False,
                "type": "Organization",
                "handle": f"partner{index}",
                "domain": f"partner{index}.city.example",
                "name": f"Partner City {index}",
                "inbox": f"{host}/actors/partner{index}/inbox",
                "shared_inbox": f"{host}/inbox",
                "manually_approves_followers": False,
                "moderate_comments": False,
                "fetched_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
    await session.execute(insert(Actor), rows)
    found = list(
        await session.execute(
            select(Actor.id, Actor.ap_id).where(Actor.ap_id.in_([r["ap_id"] for r in rows]))
        )
    )
    await session.execute(
        insert(Follow),
        [
            {
                "follower_id": follower_id,
                "followee_id": actor_id,
                "activity_ap_id": f"{ap_id}#followed-by-bench",
                "state": "accepted",
                "created_at": now,
                "updated_at": now,
            }
            for actor_id, ap_id in found
        ],
    )
    return [(actor_id, ap_id) for actor_id, ap_id in found]
