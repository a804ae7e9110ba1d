"""Queries behind the Mastodon client API's reading (issue 17): statuses, accounts, threads, tags.

A "status" is a live project or challenge, or a published comment (``Note``); nothing by a
blocked domain's actor is shown. Listings page by key, as Mastodon's do: a ``Cursor`` is what a
status id decodes to (mastodon/ids.py: the millisecond it was published in and its row id modulo
2**16), so ``max_id``/``since_id``/``min_id`` select by the same order the ids sort in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.peers import actor_not_blocked, domain_not_blocked
from cityfed.models.states import FollowState
from cityfed.models.tables import Actor, Follow, MediaLink, Object

CITY_TYPES = ("Project", "Challenge")
STATUS_TYPES = (*CITY_TYPES, "Note")
SEQUENCE_MODULUS = 1 << 16
MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a listing: the start of a millisecond and a row id modulo 2**16."""

    at: datetime
    sequence: int


@dataclass(frozen=True, slots=True)
class Window:
    """Mastodon's paging parameters, decoded. ``max`` and ``since`` bound a newest-first page;
    ``min`` asks for the page just above it (the oldest ones newer than ``min``)."""

    max: Cursor | None = None
    since: Cursor | None = None
    min: Cursor | None = None


def _before(cursor: Cursor) -> ColumnElement[bool]:
    """Rows whose status id is smaller than the cursor's."""
    return or_(
        Object.published < cursor.at,
        and_(
            Object.published < cursor.at + MILLISECOND,
            Object.published >= cursor.at,
            Object.id % SEQUENCE_MODULUS < cursor.sequence,
        ),
    )


def _after(cursor: Cursor) -> ColumnElement[bool]:
    """Rows whose status id is greater than the cursor's."""
    return or_(
        Object.published >= cursor.at + MILLISECOND,
        and_(
            Object.published >= cursor.at,
            Object.published < cursor.at + MILLISECOND,
            Object.id % SEQUENCE_MODULUS > cursor.sequence,
        ),
    )


def _shown() -> tuple[ColumnElement[bool], ...]:
    return (
        Object.type.in_(STATUS_TYPES),
        Object.deleted_at.is_(None),
        # Comments: only published ones; projects and challenges have no state.
        or_(Object.state.is_(None), Object.state == "published"),
        actor_not_blocked(Object.actor_id),
    )


@dataclass(frozen=True, slots=True)
class Listing:
    """What a listing selects, beside its window."""

    local_only: bool = True
    actor_id: int | None = None
    city_objects_only: bool = False
    exclude_replies: bool = False
    pinned: bool = False
    only_media: bool = False
    tag: str | None = None


def _select(listing: Listing) -> Select[Object]:
    query = select(Object).where(*_shown())
    if listing.local_only:
        query = query.where(Object.local.is_(True))
    if listing.actor_id is not None:
        query = query.where(Object.actor_id == listing.actor_id)
    if listing.city_objects_only:
        query = query.where(Object.type.in_(CITY_TYPES))
    if listing.exclude_replies:
        query = query.where(Object.in_reply_to.is_(None))
    if listing.pinned:
        query = query.where(Object.featured.is_(True))
    if listing.only_media:
        # Our uploads are linked in media_links; partners' media arrive in the document's
        # ``attachment`` (objects carry no other attachments).
        query = query.where(
            or_(
                Object.id.in_(select(MediaLink.object_id)),
                cast(Object.document, Text).contains('"attachment"'),
            )
        )
    if listing.tag is not None and listing.tag.isascii():
        # Tags live in the JSON document, whose operators differ between SQLite and PostgreSQL:
        # a portable text match finds the candidates, ``tagged`` decides exactly (the serialiser
        # may escape non-ASCII names, so those are decided in Python alone).
        query = query.where(
            cast(Object.document, Text).icontains(f'"#{listing.tag}"', autoescape=True)
        )
    return query


def tagged(document: dict[str, Any], tag: str) -> bool:
    """Does a stored document carry hashtag ``tag`` (case-insensitively, as Mastodon matches)?"""
    wanted = tag.casefold()
    items = document.get("tag")
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, dict) and item.get("type") == "Hashtag":
            name = item.get("name")
            if isinstance(name, str) and name.removeprefix("#").casefold() == wanted:
                return True
    return False


async def statuses(
    session: AsyncSession, listing: Listing, window: Window, *, limit: int
) -> list[Object]:
    """One page of a listing, newest first (also when ``window.min`` asks for the page above)."""
    query = _select(listing)
    if window.max is not None:
        query = query.where(_before(window.max))
    lower = window.min or window.since
    if lower is not None:
        query = query.where(_after(lower))
    if window.min is not None:
        order = (Object.published.asc(), Object.id.asc())
    else:
        order = (Object.published.desc(), Object.id.desc())
    query = query.order_by(*order)
    if listing.tag is None:
        rows = list(await session.scalars(query.limit(limit)))
    else:
        rows = await _tagged_page(session, query, listing.tag, limit)
    if window.min is not None:
        rows.reverse()
    return rows


async def _tagged_page(
    session: AsyncSession, query: Select[Object], tag: str, limit: int
) -> list[Object]:
    """Read candidates in batches until ``limit`` of them really carry the tag."""
    found: list[Object] = []
    offset = 0
    batch = max(limit * 2, 40)
    while len(found) < limit:
        rows = list(await session.scalars(query.offset(offset).limit(batch)))
        found.extend(row for row in rows if tagged(row.document, tag))
        if len(rows) < batch:
            break
        offset += batch
    return found[:limit]


async def status_at(session: AsyncSession, cursor: Cursor) -> Object | None:
    """The shown status whose id decodes to ``cursor``."""
    return await session.scalar(
        select(Object)
        .where(
            *_shown(),
            Object.published >= cursor.at,
            Object.published < cursor.at + MILLISECOND,
            Object.id % SEQUENCE_MODULUS == cursor.sequence,
        )
        .limit(1)
    )


async def by_row_id(session: AsyncSession, object_id: int) -> Object | None:
    """A stored object by row id, deleted or not (a streamed ``delete`` names a deleted one)."""
    return await session.get(Object, object_id)


async def shown_by_ap_ids(session: AsyncSession, ap_ids: Iterable[str]) -> dict[str, Object]:
    """The shown statuses among ``ap_ids`` (what replies point at), by AP id."""
    ids = {ap_id for ap_id in ap_ids if ap_id}
    if not ids:
        return {}
    rows = await session.scalars(select(Object).where(*_shown(), Object.ap_id.in_(ids)))
    return {row.ap_id: row for row in rows}


async def thread(session: AsyncSession, root: str, *, limit: int) -> list[Object]:
    """The published, live comments on ``root`` and on its comments, oldest first, none by a
    blocked domain's actor (the same selection as the thread on the pages)."""
    rows = await session.scalars(
        select(Object)
        .where(
            *_shown(),
            or_(Object.context == root, Object.in_reply_to == root),
            Object.type == "Note",
        )
        .order_by(Object.published, Object.id)
        .limit(limit)
    )
    return list(rows)


async def reply_counts(session: AsyncSession, ap_ids: Sequence[str]) -> dict[str, int]:
    """How many shown replies each of ``ap_ids`` has (zeros included)."""
    found = dict.fromkeys(ap_ids, 0)
    if not ap_ids:
        return found
    rows = await session.execute(
        select(Object.in_reply_to, func.count())
        .where(*_shown(), Object.in_reply_to.in_(list(found)))
        .group_by(Object.in_reply_to)
    )
    for ap_id, number in rows:
        if ap_id is not None:
            found[ap_id] = number
    return found


async def recent_tagged_city_objects(
    session: AsyncSession, since: datetime, *, limit: int = 1000
) -> list[Object]:
    """Live local projects and challenges published since ``since`` (for trending tags)."""
    rows = await session.scalars(
        select(Object)
        .where(
            *_shown(),
            Object.local.is_(True),
            Object.type.in_(CITY_TYPES),
            Object.published >= since,
        )
        .order_by(Object.published.desc())
        .limit(limit)
    )
    return list(rows)


async def search_city_objects(session: AsyncSession, text: str, *, limit: int) -> list[Object]:
    """Local projects and challenges whose document mentions ``text`` (title, teaser, card),
    newest first: a plain, portable text match, enough for a city's few hundred objects."""
    rows = await session.scalars(
        select(Object)
        .where(
            *_shown(),
            Object.local.is_(True),
            Object.type.in_(CITY_TYPES),
            cast(Object.document, Text).icontains(text, autoescape=True),
        )
        .order_by(Object.published.desc(), Object.id.desc())
        .limit(limit)
    )
    return list(rows)


# --- accounts -----------------------------------------------------------------------------------


def _account_shown() -> tuple[ColumnElement[bool], ...]:
    return (Actor.type != "Application", domain_not_blocked(Actor.domain))


async def account(session: AsyncSession, actor_id: int) -> Actor | None:
    """A city (ours or a partner) by row id, unless its domain is blocked."""
    return await session.scalar(select(Actor).where(Actor.id == actor_id, *_account_shown()))


async def account_by_acct(session: AsyncSession, handle: str, domain: str | None) -> Actor | None:
    """A city by ``handle`` (ours) or ``handle`` at ``domain``."""
    query = select(Actor).where(Actor.handle == handle, *_account_shown())
    query = (
        query.where(Actor.local.is_(True))
        if domain is None
        else query.where(Actor.domain == domain)
    )
    return await session.scalar(query.order_by(Actor.local.desc()).limit(1))


async def accounts_by_id(session: AsyncSession, actor_ids: Iterable[int]) -> dict[int, Actor]:
    ids = set(actor_ids)
    if not ids:
        return {}
    rows = await session.scalars(select(Actor).where(Actor.id.in_(ids)))
    return {row.id: row for row in rows}


async def accounts_by_ap_id(session: AsyncSession, ap_ids: Iterable[str]) -> dict[str, Actor]:
    ids = {ap_id for ap_id in ap_ids if ap_id}
    if not ids:
        return {}
    rows = await session.scalars(select(Actor).where(Actor.ap_id.in_(ids), *_account_shown()))
    return {row.ap_id: row for row in rows}


async def search_accounts(session: AsyncSession, text: str, *, limit: int) -> list[Actor]:
    """Cities whose handle, name or ``handle@domain`` contains ``text``; ours first."""
    handle, _, domain = text.removeprefix("@").partition("@")
    conditions = [
        Actor.handle.icontains(handle, autoescape=True),
        Actor.name.icontains(text, autoescape=True),
    ]
    query = select(Actor).where(*_account_shown(), or_(*conditions))
    if domain:
        query = query.where(Actor.domain.icontains(domain, autoescape=True))
    rows = await session.scalars(query.order_by(Actor.local.desc(), Actor.id).limit(limit))
    return list(rows)


@dataclass(frozen=True, slots=True)
class Stats:
    statuses: int
    followers: int
    following: int
    last_status_at: datetime | None


async def account_stats(session: AsyncSession, actor_id: int) -> Stats:
    """What an Account entity counts: shown statuses, accepted followers and followings."""
    statuses_row = (
        await session.execute(
            select(func.count(), func.max(Object.published)).where(
                *_shown(), Object.actor_id == actor_id
            )
        )
    ).one()
    followers = await session.scalar(
        select(func.count())
        .select_from(Follow)
        .where(Follow.followee_id == actor_id, Follow.state == FollowState.ACCEPTED)
    )
    following = await session.scalar(
        select(func.count())
        .select_from(Follow)
        .where(Follow.follower_id == actor_id, Follow.state == FollowState.ACCEPTED)
    )
    return Stats(
        statuses=statuses_row[0] or 0,
        followers=followers or 0,
        following=following or 0,
        last_status_at=statuses_row[1],
    )


async def count_local_posts(session: AsyncSession) -> int:
    """Live local objects: NodeInfo's ``localPosts``, and the instance's ``status_count``."""
    query = (
        select(func.count())
        .select_from(Object)
        .where(Object.local.is_(True), Object.deleted_at.is_(None))
    )
    return await session.scalar(query) or 0


async def count_known_domains(session: AsyncSession) -> int:
    """Other domains we know actors of (the instance's ``domain_count``)."""
    query = select(func.count(func.distinct(Actor.domain))).where(Actor.local.is_(False))
    return await session.scalar(query) or 0


async def local_languages(session: AsyncSession, *, limit: int = 200) -> list[str]:
    """The languages of the newest local projects and challenges, most used first."""
    rows = await session.scalars(
        select(Object.document)
        .where(*_shown(), Object.local.is_(True), Object.type.in_(CITY_TYPES))
        .order_by(Object.published.desc())
        .limit(limit)
    )
    counts: dict[str, int] = {}
    for document in rows:
        content_map = document.get("contentMap")
        if isinstance(content_map, dict) and content_map:
            lang = str(next(iter(content_map)))
            counts[lang] = counts.get(lang, 0) + 1
    return sorted(counts, key=lambda lang: -counts[lang])
