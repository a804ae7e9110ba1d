"""Read-only queries the pages need that models/ does not offer (yet).

Candidates for models/objects.py; they live here so the web work did not have to touch models/.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.actions.projects import load
from cityfed.models.objects import CITY_TYPES
from cityfed.models.tables import Actor, Object


async def actor_by_id(session: AsyncSession, actor_id: int) -> Actor | None:
    return await session.get(Actor, actor_id)


async def actors_by_id(session: AsyncSession, actor_ids: Iterable[int]) -> dict[int, Actor]:
    ids = set(actor_ids)
    if not ids:
        return {}
    rows = await session.scalars(select(Actor).where(Actor.id.in_(ids)))
    return {actor.id: actor for actor in rows}


async def titles(session: AsyncSession, ap_ids: Iterable[str]) -> dict[str, str]:
    """The ``name`` of each live object we hold among ``ap_ids`` (ours or a partner's copy),
    so "based on" and "addresses" links can show a title instead of a bare URL."""
    ids = {ap_id for ap_id in ap_ids if ap_id}
    if not ids:
        return {}
    rows = await session.execute(
        select(Object.ap_id, Object.document).where(
            Object.ap_id.in_(ids), Object.deleted_at.is_(None)
        )
    )
    found: dict[str, str] = {}
    for ap_id, document in rows:
        name = document.get("name") if isinstance(document, dict) else None
        if isinstance(name, str) and name:
            found[ap_id] = name
    return found


async def tagged_local_objects(
    session: AsyncSession, tag: str, *, offset: int, limit: int
) -> tuple[list[Object], int]:
    """This node's live projects and challenges carrying hashtag ``tag`` (case-insensitive, as
    Mastodon matches hashtags), newest first: one page of them and how many there are in all.

    Tags live inside the JSON document and JSON operators differ between SQLite and
    PostgreSQL, so SQL narrows the candidates with a portable text match on the serialised
    document and Python decides exactly. The text match only for ASCII tags: the JSON
    serialiser may escape other characters (``\\u00fc``), and a missed candidate would be
    a wrong answer while an extra one costs only a parse. A tags table would make this one
    indexed query; worth it once nodes hold thousands of objects.
    """
    query = select(Object).where(
        Object.local.is_(True), Object.type.in_(CITY_TYPES), Object.deleted_at.is_(None)
    )
    if tag.isascii():
        query = query.where(cast(Object.document, Text).icontains(f'"#{tag}"', autoescape=True))
    query = query.order_by(Object.published.desc(), Object.id.desc())
    wanted = tag.casefold()
    matching = [
        row
        for row in await session.scalars(query)
        if any(t.casefold() == wanted for t in load(row).tags)
    ]
    return matching[offset : offset + limit], len(matching)
