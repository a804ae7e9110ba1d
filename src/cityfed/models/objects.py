"""Queries on ActivityStreams objects: our projects and challenges, and partners' copies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.activitypub.vocab import Challenge, Project
from cityfed.activitypub.vocab.city_object import title_of
from cityfed.models.peers import actor_not_blocked, domain_not_blocked
from cityfed.models.states import CommentState, FollowState
from cityfed.models.tables import Actor, Follow, Object, Reaction

CITY_TYPES = ("Project", "Challenge")


async def by_id(session: AsyncSession, object_id: int) -> Object | None:
    return await session.get(Object, object_id)


async def by_ap_id(session: AsyncSession, ap_id: str) -> Object | None:
    return await session.scalar(select(Object).where(Object.ap_id == ap_id))


def _local_listing(
    actor_id: int, types: Sequence[str], featured: bool | None = None
) -> Select[Object]:
    query = select(Object).where(
        Object.actor_id == actor_id,
        Object.local.is_(True),
        Object.type.in_(types),
        Object.deleted_at.is_(None),
    )
    return query if featured is None else query.where(Object.featured.is_(featured))


async def local_objects(
    session: AsyncSession,
    actor_id: int,
    types: Sequence[str] = CITY_TYPES,
    *,
    offset: int = 0,
    limit: int | None = 20,
    featured: bool | None = None,
) -> list[Object]:
    """An actor's live projects/challenges, newest first (for pages, feeds and exports); only
    the featured ones or only the others when ``featured`` says so."""
    query = _local_listing(actor_id, types, featured).order_by(
        Object.published.desc(), Object.id.desc()
    )
    if limit is not None:
        query = query.offset(offset).limit(limit)
    return list(await session.scalars(query))


async def count_local_objects(
    session: AsyncSession,
    actor_id: int,
    types: Sequence[str] = CITY_TYPES,
    *,
    featured: bool | None = None,
) -> int:
    query = _local_listing(actor_id, types, featured).with_only_columns(func.count())
    return await session.scalar(query) or 0


async def featured(session: AsyncSession, actor_id: int) -> list[Object]:
    query = _local_listing(actor_id, CITY_TYPES).where(Object.featured.is_(True))
    return list(await session.scalars(query.order_by(Object.published.desc()).limit(20)))


def _timeline(local_actor_id: int, types: Sequence[str]) -> Select[Object, Actor]:
    """Objects by actors this local actor follows (accepted), or boosted by one of them, that are
    still live and not from a blocked domain (a block removes the follows, but copies received
    before it stay stored)."""
    followed = select(Follow.followee_id).where(
        Follow.follower_id == local_actor_id, Follow.state == FollowState.ACCEPTED
    )
    # A partner's object boosted (Announce) by a followed city shows too, as a boost.
    boosted = select(Reaction.object_id).where(
        Reaction.kind == "announce", Reaction.actor_id.in_(followed)
    )
    return (
        select(Object, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(
            Object.local.is_(False),
            Object.type.in_(types),
            Object.deleted_at.is_(None),
            or_(Object.actor_id.in_(followed), Object.id.in_(boosted)),
            domain_not_blocked(Actor.domain),
        )
    )


async def timeline(
    session: AsyncSession,
    local_actor_id: int,
    types: Sequence[str] = CITY_TYPES,
    *,
    offset: int = 0,
    limit: int = 20,
) -> list[tuple[Object, Actor]]:
    """Projects and challenges received from followed cities, newest first.

    One narrow query per type, merged here: each walks ``ix_objects_listing`` (local, type,
    published) newest first and stops after ``offset + limit`` rows, where a single query with
    ``type IN (...)`` has SQLite sort every matching row, documents and all (bench/README.md).
    """
    keys: list[tuple[datetime, int]] = []
    for kind in dict.fromkeys(types):
        rows = await session.execute(
            _timeline(local_actor_id, (kind,))
            .with_only_columns(Object.published, Object.id)
            .order_by(Object.published.desc(), Object.id.desc())
            .limit(offset + limit)
        )
        keys.extend((published, object_id) for published, object_id in rows)
    keys.sort(reverse=True)
    ids = [object_id for _, object_id in keys[offset : offset + limit]]
    if not ids:
        return []
    joined = await session.execute(
        select(Object, Actor).join(Actor, Actor.id == Object.actor_id).where(Object.id.in_(ids))
    )
    found = {obj.id: (obj, actor) for obj, actor in joined}
    return [found[object_id] for object_id in ids if object_id in found]


async def count_timeline(
    session: AsyncSession, local_actor_id: int, types: Sequence[str] = CITY_TYPES
) -> int:
    query = _timeline(local_actor_id, types).with_only_columns(func.count(Object.id))
    return await session.scalar(query) or 0


# --- cooperation: adoptions and solution offers (rows pointing at a project or challenge) -------


def _targeting(
    type_name: str, target: str, state: str | None, hide_blocked: bool
) -> Select[Object]:
    query = select(Object).where(
        Object.type == type_name, Object.target == target, Object.deleted_at.is_(None)
    )
    if hide_blocked:
        query = query.where(actor_not_blocked(Object.actor_id))
    return query if state is None else query.where(Object.state == state)


async def targeting(
    session: AsyncSession,
    type_name: str,
    target: str,
    *,
    state: str | None = None,
    offset: int = 0,
    limit: int | None = None,
    hide_blocked: bool = False,
) -> list[Object]:
    """Live Adoptions/SolutionOffers about ``target`` (a project or challenge id), oldest first;
    ``hide_blocked`` leaves out those by blocked domains' actors (for what we show)."""
    query = _targeting(type_name, target, state, hide_blocked).order_by(Object.published, Object.id)
    if limit is not None:
        query = query.offset(offset).limit(limit)
    return list(await session.scalars(query))


async def count_targeting(
    session: AsyncSession,
    type_name: str,
    target: str,
    *,
    state: str | None = None,
    hide_blocked: bool = False,
) -> int:
    query = _targeting(type_name, target, state, hide_blocked).with_only_columns(
        func.count(Object.id)
    )
    return await session.scalar(query) or 0


async def by_activity(session: AsyncSession, activity_ap_id: str, type_name: str) -> Object | None:
    """The object an activity of ours brought (an Offer's SolutionOffer, a Create's Adoption)."""
    return await session.scalar(
        select(Object).where(Object.activity_ap_id == activity_ap_id, Object.type == type_name)
    )


async def made_by(session: AsyncSession, actor_id: int, type_name: str) -> list[Object]:
    """A local actor's own live Adoptions or SolutionOffers, newest first."""
    query = select(Object).where(
        Object.actor_id == actor_id,
        Object.local.is_(True),
        Object.type == type_name,
        Object.deleted_at.is_(None),
    )
    return list(await session.scalars(query.order_by(Object.published.desc(), Object.id.desc())))


async def received_by(session: AsyncSession, actor_id: int, type_name: str) -> list[Object]:
    """Live Adoptions/SolutionOffers by others about a local actor's objects, newest first."""
    mine = select(Object.ap_id).where(Object.actor_id == actor_id, Object.local.is_(True))
    query = select(Object).where(
        Object.type == type_name,
        Object.target.in_(mine),
        Object.actor_id != actor_id,
        Object.deleted_at.is_(None),
    )
    return list(await session.scalars(query.order_by(Object.published.desc(), Object.id.desc())))


def _replies_where(ap_id: str) -> tuple[Any, ...]:
    return (
        Object.in_reply_to == ap_id,
        Object.deleted_at.is_(None),
        Object.state == CommentState.PUBLISHED,
        actor_not_blocked(Object.actor_id),
    )


async def count_replies(session: AsyncSession, ap_id: str) -> int:
    """Published, live replies to an object (not from blocked domains)."""
    query = select(func.count()).select_from(Object).where(*_replies_where(ap_id))
    return await session.scalar(query) or 0


async def reply_ids(session: AsyncSession, ap_id: str, *, offset: int, limit: int) -> list[str]:
    """The ids of an object's published replies, oldest first."""
    rows = await session.scalars(
        select(Object.ap_id)
        .where(*_replies_where(ap_id))
        .order_by(Object.published, Object.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


# --- what the pages say about objects they link to ----------------------------------------------


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


async def with_author(session: AsyncSession, ap_id: str) -> tuple[Object, Actor] | None:
    """The object ``ap_id`` (live or deleted) and its author, unless a blocked domain's."""
    row = (
        await session.execute(
            select(Object, Actor)
            .join(Actor, Actor.id == Object.actor_id)
            .where(Object.ap_id == ap_id, domain_not_blocked(Actor.domain))
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def known_challenges(
    session: AsyncSession, *, limit: int
) -> list[tuple[str, dict[str, Any], Actor]]:
    """The live challenges this node holds (ours and partners' copies, none from a blocked
    domain), newest first: id, document and author."""
    rows = await session.execute(
        select(Object.ap_id, Object.document, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(
            Object.type == "Challenge",
            Object.deleted_at.is_(None),
            domain_not_blocked(Actor.domain),
        )
        .order_by(Object.published.desc(), Object.id.desc())
        .limit(limit)
    )
    return [(ap_id, document, author) for ap_id, document, author in rows.all()]


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
        if any(t.casefold() == wanted for t in _city_object(row).tags)
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
        if goal in _city_object(row).sdgs:
            found.append(row)
            if len(found) == limit:
                break
    return found


def _city_object(row: Object) -> Project | Challenge:
    return (Project if row.type == "Project" else Challenge).from_plain(row.document)


async def count_all_local(session: AsyncSession) -> int:
    """Every live object of ours, of any type (NodeInfo's ``localPosts``)."""
    query = select(func.count()).select_from(Object)
    return (
        await session.scalar(query.where(Object.local.is_(True), Object.deleted_at.is_(None))) or 0
    )


async def local_among(session: AsyncSession, ap_ids: Iterable[str]) -> list[Object]:
    """Our own objects (live or deleted) among ``ap_ids``."""
    query = select(Object).where(Object.ap_id.in_(set(ap_ids)), Object.local.is_(True))
    return list(await session.scalars(query))
