"""Read-only queries the pages need that models/ does not offer (yet).

Candidates for models/objects.py; they live here so the web work did not have to touch models/.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.actions.projects import load
from cityfed.activitypub.vocab.city_object import title_of
from cityfed.activitypub.vocab.common import id_of
from cityfed.models import objects as object_queries
from cityfed.models.objects import CITY_TYPES
from cityfed.models.peers import actor_not_blocked, domain_not_blocked
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
    """The title (``cf:title``, or ``name`` from older nodes) of each live object we hold among
    ``ap_ids`` (ours or a partner's copy), so "based on" and "addresses" links can show a title
    instead of a bare URL."""
    ids = {ap_id for ap_id in ap_ids if ap_id}
    if not ids:
        return {}
    rows = await session.execute(
        select(Object.ap_id, Object.document).where(
            Object.ap_id.in_(ids),
            Object.deleted_at.is_(None),
            # A blocked domain's words do not appear on our pages, not even as a link text.
            actor_not_blocked(Object.actor_id),
        )
    )
    found: dict[str, str] = {}
    for ap_id, document in rows:
        name = title_of(document)
        if name:
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


async def sdg_local_objects(session: AsyncSession, goal: int, *, limit: int) -> list[Object]:
    """This node's live projects and challenges that name Sustainable Development Goal ``goal``,
    newest first. As with hashtags, SQL narrows to documents naming an SDG at all and Python
    decides exactly (the goal is a tag object inside the JSON document)."""
    query = (
        select(Object)
        .where(
            Object.local.is_(True),
            Object.type.in_(CITY_TYPES),
            Object.deleted_at.is_(None),
            cast(Object.document, Text).icontains("SDG", autoescape=True),
        )
        .order_by(Object.published.desc(), Object.id.desc())
    )
    found: list[Object] = []
    for row in await session.scalars(query):
        if goal in load(row).sdgs:
            found.append(row)
            if len(found) == limit:
                break
    return found


# --- what partners did with an object: its discussion, adoptions and solutions ------------------


async def owners(session: AsyncSession, ap_ids: Iterable[str]) -> dict[str, Actor]:
    """The author of each live object we hold among ``ap_ids``, so a link to a partner's project
    can say whose it is ("Heat-risk map by City of Hamburg"). Blocked domains' actors are left
    out, as in ``titles``: their names do not appear on our pages either."""
    ids = {ap_id for ap_id in ap_ids if ap_id}
    if not ids:
        return {}
    rows = await session.execute(
        select(Object.ap_id, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(Object.ap_id.in_(ids), Object.deleted_at.is_(None), domain_not_blocked(Actor.domain))
    )
    return {ap_id: actor for ap_id, actor in rows.all()}


async def thread(session: AsyncSession, root: str, *, limit: int) -> list[tuple[Object, Actor]]:
    """The comments on ``root`` and on its comments, with their authors, oldest first: only the
    published and live ones (held, removed and deleted comments are not for the public), none
    by a blocked domain's actor. The same selection as the API's thread (api/comments.py)."""
    rows = await session.execute(
        select(Object, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(
            # ``context`` names the thread's root; ``in_reply_to`` also finds direct replies
            # stored without one.
            or_(Object.context == root, Object.in_reply_to == root),
            Object.type == "Note",
            Object.state == "published",
            Object.deleted_at.is_(None),
            domain_not_blocked(Actor.domain),
        )
        .order_by(Object.published, Object.id)
        .limit(limit)
    )
    return [(row, author) for row, author in rows.all()]


async def with_authors(session: AsyncSession, rows: Iterable[Object]) -> list[tuple[Object, Actor]]:
    """``rows`` paired with their authors (rows whose author is gone are dropped)."""
    rows = list(rows)
    authors = await actors_by_id(session, {row.actor_id for row in rows})
    return [(row, authors[row.actor_id]) for row in rows if row.actor_id in authors]


async def adoptions_of(
    session: AsyncSession, project_id: str, *, limit: int
) -> list[tuple[Object, Actor]]:
    """Who adopted ``project_id``: live Adoptions with their adopters, oldest first, none by a
    blocked domain and none the origin refused."""
    rows = await object_queries.targeting(
        session, "Adoption", project_id, limit=limit, hide_blocked=True
    )
    return await with_authors(session, (row for row in rows if row.state != "rejected"))


async def adoption_by(session: AsyncSession, actor_id: int, project_id: str) -> Object | None:
    """Our Adoption whose ``cf:localProject`` is ``project_id`` (one of ``actor_id``'s projects):
    how the adoption behind a "based on" project is going."""
    rows = await session.scalars(
        select(Object)
        .where(
            Object.type == "Adoption",
            Object.actor_id == actor_id,
            Object.local.is_(True),
            Object.deleted_at.is_(None),
        )
        .order_by(Object.published.desc(), Object.id.desc())
    )
    # The local project sits inside the JSON document; a city has few adoptions, so Python
    # picks it out rather than a dialect-specific JSON operator.
    for row in rows:
        if id_of(row.document.get("cf:localProject")) == project_id:
            return row
    return None


async def accepted_solutions(
    session: AsyncSession, challenge_id: str, *, limit: int
) -> list[tuple[Object, Actor]]:
    """The offers accepted for ``challenge_id``, with the offering cities, oldest first. Pending
    and rejected offers are between the two cities and never shown."""
    rows = await object_queries.targeting(
        session, "SolutionOffer", challenge_id, state="accepted", limit=limit, hide_blocked=True
    )
    return await with_authors(session, rows)


async def solved_by(session: AsyncSession, actor_id: int, project_id: str) -> list[Object]:
    """The accepted offers in which ``actor_id`` offered its project ``project_id``, oldest first
    (the project page names the challenges it was chosen for)."""
    rows = await session.scalars(
        select(Object)
        .where(
            Object.type == "SolutionOffer",
            Object.actor_id == actor_id,
            Object.local.is_(True),
            Object.state == "accepted",
            Object.deleted_at.is_(None),
        )
        .order_by(Object.published, Object.id)
    )
    return [row for row in rows if id_of(row.document.get("cf:solution")) == project_id]
