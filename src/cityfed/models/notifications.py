"""What happened to a local city: the one home of staff notifications (issue 18.5).

Two halves, both read here:

- Stored notifications (``record`` and below): the federation handlers write one row per staff
  member, in the same transaction as the change that causes it (an offer, a comment, a follow,
  ...), honouring each member's preferences; a member who wants e-mail at once gets a row in the
  mail queue in that same transaction (the mailer, federation/mailer.py, sends it). The staff
  pages read, count and mark these rows.
- ``events``, for Mastodon's notifications endpoint: each kind of event is a row we keep anyway
  (a comment on one of our objects, a follow, a reaction, an adoption, a solution offer, a
  received report); ``events`` reads the newest of each kind before a point in time and merges
  them. Each event has a stable id built like a status id: its time in milliseconds, then its
  kind and row id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.db import dialect_name
from cityfed.models.peers import actor_not_blocked
from cityfed.models.states import FollowState
from cityfed.models.tables import (
    Actor,
    Follow,
    Mail,
    Notification,
    NotificationPreference,
    Object,
    Reaction,
    Report,
    StaffUser,
)
from cityfed.models.types import utcnow

KIND_BITS = 3
ROW_BITS = 13
ROW_MASK = (1 << ROW_BITS) - 1


class EventKind(IntEnum):
    COMMENT = 0
    FOLLOW = 1
    FOLLOW_REQUEST = 2
    LIKE = 3
    BOOST = 4
    ADOPTION = 5
    OFFER = 6
    REPORT = 7


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    at: datetime
    row_id: int
    actor: Actor | None  # who did it (None for an anonymous report)
    obj: Object | None = None  # the comment, adoption or offer; ours for a like or boost
    report: Report | None = None

    @property
    def id(self) -> int:
        millis = int(self.at.timestamp() * 1000)
        return (
            (millis << (KIND_BITS + ROW_BITS)) | (self.kind << ROW_BITS) | (self.row_id & ROW_MASK)
        )


def time_of(event_id: int) -> datetime:
    """The start of the millisecond an event id was made from (for paging)."""
    return datetime.fromtimestamp((event_id >> (KIND_BITS + ROW_BITS)) / 1000, UTC)


def _ours(local_actor_id: int) -> Select[str]:
    return select(Object.ap_id).where(Object.actor_id == local_actor_id, Object.local.is_(True))


async def _objects(
    session: AsyncSession,
    kind: EventKind,
    query: Select[Object, Actor],
    cutoff: datetime | None,
    limit: int,
) -> list[Event]:
    """Partners' objects about ours (comments, adoptions, offers), newest received first."""
    query = query.join(Actor, Actor.id == Object.actor_id).where(
        Object.deleted_at.is_(None),
        Object.local.is_(False),
        actor_not_blocked(Object.actor_id),
    )
    if cutoff is not None:
        query = query.where(Object.received_at < cutoff)
    rows = await session.execute(query.order_by(Object.received_at.desc()).limit(limit))
    return [Event(kind, obj.received_at, obj.id, actor, obj) for obj, actor in rows]


async def _follows(
    session: AsyncSession,
    local_actor_id: int,
    kind: EventKind,
    state: str,
    cutoff: datetime | None,
    limit: int,
) -> list[Event]:
    query = (
        select(Follow, Actor)
        .join(Actor, Actor.id == Follow.follower_id)
        .where(
            Follow.followee_id == local_actor_id,
            Follow.state == state,
            actor_not_blocked(Follow.follower_id),
        )
    )
    if cutoff is not None:
        query = query.where(Follow.created_at < cutoff)
    rows = await session.execute(query.order_by(Follow.created_at.desc()).limit(limit))
    return [Event(kind, row.created_at, row.id, actor) for row, actor in rows]


async def _reactions(
    session: AsyncSession,
    local_actor_id: int,
    kind: EventKind,
    reaction: str,
    cutoff: datetime | None,
    limit: int,
) -> list[Event]:
    """Partners' likes or boosts of our objects."""
    query = (
        select(Reaction, Actor, Object)
        .join(Actor, Actor.id == Reaction.actor_id)
        .join(Object, Object.id == Reaction.object_id)
        .where(
            Reaction.kind == reaction,
            Object.actor_id == local_actor_id,
            Object.local.is_(True),
            Reaction.actor_id != local_actor_id,
            actor_not_blocked(Reaction.actor_id),
        )
    )
    if cutoff is not None:
        query = query.where(Reaction.created_at < cutoff)
    rows = await session.execute(query.order_by(Reaction.created_at.desc()).limit(limit))
    return [Event(kind, row.created_at, row.id, actor, obj) for row, actor, obj in rows]


async def _reports(session: AsyncSession, cutoff: datetime | None, limit: int) -> list[Event]:
    query = select(Report).where(Report.direction == "received")
    if cutoff is not None:
        query = query.where(Report.created_at < cutoff)
    rows = await session.scalars(query.order_by(Report.created_at.desc()).limit(limit))
    return [Event(EventKind.REPORT, r.created_at, r.id, None, report=r) for r in rows]


async def events(
    session: AsyncSession,
    local_actor_id: int,
    *,
    kinds: Sequence[EventKind],
    before: datetime | None,
    limit: int,
) -> list[Event]:
    """Up to ``limit`` of each asked kind at or before ``before`` (the caller merges, pages and
    trims by id); blocked domains' actors left out."""
    cutoff = before + timedelta(milliseconds=1) if before is not None else None
    wanted = set(kinds)
    ours = _ours(local_actor_id)
    about_ours = {
        EventKind.COMMENT: select(Object, Actor).where(
            Object.type == "Note", Object.in_reply_to.in_(ours), Object.state == "published"
        ),
        EventKind.ADOPTION: select(Object, Actor).where(
            Object.type == "Adoption", Object.target.in_(ours)
        ),
        EventKind.OFFER: select(Object, Actor).where(
            Object.type == "SolutionOffer", Object.target.in_(ours)
        ),
    }
    found: list[Event] = []
    for kind, query in about_ours.items():
        if kind in wanted:
            found += await _objects(session, kind, query, cutoff, limit)
    for kind, state in (
        (EventKind.FOLLOW, FollowState.ACCEPTED),
        (EventKind.FOLLOW_REQUEST, FollowState.PENDING),
    ):
        if kind in wanted:
            found += await _follows(session, local_actor_id, kind, state, cutoff, limit)
    for kind, reaction in ((EventKind.LIKE, "like"), (EventKind.BOOST, "announce")):
        if kind in wanted:
            found += await _reactions(session, local_actor_id, kind, reaction, cutoff, limit)
    if EventKind.REPORT in wanted:
        found += await _reports(session, cutoff, limit)
    return found


# --- stored notifications -----------------------------------------------------------------------


class Kind(StrEnum):
    """The events a staff member can be notified of (and can mute one by one)."""

    COMMENT = "comment"  # a comment or reply on one of our items
    MENTION = "mention"
    FOLLOW = "follow"
    FOLLOW_REQUEST = "follow_request"
    ADOPTION = "adoption"  # a partner adopted one of our projects
    ADOPTION_UPDATE = "adoption_update"  # ... and changed its status
    OFFER = "offer"  # a solution offer on one of our challenges
    OFFER_ANSWER = "offer_answer"  # a partner accepted or rejected our offer
    REPORT = "report"
    KEY_ROTATION = "key_rotation"
    DEAD_LETTER = "dead_letter"  # deliveries to a partner given up
    LIKE = "like"
    BOOST = "boost"


class EmailMode(StrEnum):
    OFF = "off"
    IMMEDIATE = "immediate"
    DIGEST = "digest"


DIGEST_EVERY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Preferences:
    muted: frozenset[Kind]
    email: EmailMode


def _preferences(row: NotificationPreference | None) -> Preferences:
    if row is None:
        return Preferences(frozenset(), EmailMode.IMMEDIATE)
    muted = frozenset(Kind(k) for k in row.muted.split(",") if k in Kind.__members__.values())
    return Preferences(muted, EmailMode(row.email))


async def preferences(session: AsyncSession, user_id: int) -> Preferences:
    return _preferences(await session.get(NotificationPreference, user_id))


async def set_preferences(
    session: AsyncSession, user_id: int, *, muted: Sequence[Kind], email: EmailMode
) -> None:
    row = await session.get(NotificationPreference, user_id)
    if row is None:
        row = NotificationPreference(user_id=user_id, last_digest_at=utcnow())
        session.add(row)
    row.muted = ",".join(sorted(set(muted)))
    row.email = email


async def record(
    session: AsyncSession,
    kind: Kind,
    summary: str,
    *,
    subject: str,
    actor_id: int | None = None,
    object_id: int | None = None,
    report_id: int | None = None,
    link: str | None = None,
) -> int:
    """Notify every staff member who has not muted ``kind``; queue the mail of those who want it
    at once. Part of the caller's transaction. How many were notified."""
    rows = await session.execute(
        select(StaffUser, NotificationPreference).outerjoin(
            NotificationPreference, NotificationPreference.user_id == StaffUser.id
        )
    )
    now = utcnow()
    count = 0
    for user, pref_row in rows:
        prefs = _preferences(pref_row)
        if kind in prefs.muted:
            continue
        count += 1
        immediate = prefs.email is EmailMode.IMMEDIATE
        session.add(
            Notification(
                user_id=user.id,
                kind=kind,
                actor_id=actor_id,
                object_id=object_id,
                report_id=report_id,
                summary=summary,
                link=link,
                created_at=now,
                # Only a digest reader's rows wait for the digest.
                digested_at=None if prefs.email is EmailMode.DIGEST else now,
            )
        )
        if immediate:
            body = summary + (f"\n\n{link}\n" if link else "\n")
            session.add(Mail(recipient=user.email, subject=subject, body=body, next_attempt_at=now))
    return count


async def unread_count(session: AsyncSession, user_id: int) -> int:
    query = select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return int(await session.scalar(query) or 0)


async def of_user(
    session: AsyncSession,
    user_id: int,
    *,
    limit: int,
    before_id: int | None = None,
    unread_only: bool = False,
) -> list[tuple[Notification, Actor | None]]:
    """A staff member's notifications, newest first, with who did it."""
    query = (
        select(Notification, Actor)
        .outerjoin(Actor, Actor.id == Notification.actor_id)
        .where(Notification.user_id == user_id)
    )
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = await session.execute(query.order_by(Notification.id.desc()).limit(limit))
    return [(note, actor) for note, actor in rows]


async def mark_read(session: AsyncSession, user_id: int, ids: Sequence[int] | None = None) -> int:
    """Mark one or more (``ids``) or all of a staff member's unread notifications read."""
    query = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    result = await session.execute(
        query.values(read_at=utcnow()).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def queue_digests(session: AsyncSession, now: datetime, base_url: str) -> int:
    """For each digest reader whose last digest is a day old: one mail listing what came since
    (nothing when nothing came). How many mails were queued."""
    readers = await session.execute(
        select(StaffUser, NotificationPreference)
        .join(NotificationPreference, NotificationPreference.user_id == StaffUser.id)
        .where(NotificationPreference.email == EmailMode.DIGEST)
    )
    queued = 0
    for user, prefs in readers:
        if prefs.last_digest_at is not None and prefs.last_digest_at > now - DIGEST_EVERY:
            continue
        pending = list(
            await session.scalars(
                select(Notification)
                .where(Notification.user_id == user.id, Notification.digested_at.is_(None))
                .order_by(Notification.id)
            )
        )
        prefs.last_digest_at = now
        if not pending:
            continue
        lines = [f"- {n.summary}" + (f"\n  {n.link}" if n.link else "") for n in pending]
        body = "\n".join([*lines, "", f"{base_url}/staff/notifications", ""])
        subject = f"{len(pending)} notification(s) from the last day"
        session.add(Mail(recipient=user.email, subject=subject, body=body, next_attempt_at=now))
        await session.execute(
            update(Notification)
            .where(Notification.id.in_([n.id for n in pending]))
            .values(digested_at=now)
            .execution_options(synchronize_session=False)
        )
        queued += 1
    return queued


# --- the mail queue -----------------------------------------------------------------------------


async def lease_mails(
    session: AsyncSession, now: datetime, *, limit: int, lease_for: timedelta
) -> list[Mail]:
    """Due mails, pushed ``lease_for`` into the future so no other worker takes them meanwhile
    (the send result sets the real next time)."""
    query = (
        select(Mail)
        .where(Mail.state == "pending", Mail.next_attempt_at <= now)
        .order_by(Mail.next_attempt_at, Mail.id)
        .limit(limit)
    )
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    mails = list(await session.scalars(query))
    for mail in mails:
        mail.next_attempt_at = now + lease_for
        mail.attempts += 1
    return mails


async def mail_sent(session: AsyncSession, mail_id: int) -> None:
    await session.execute(
        update(Mail).where(Mail.id == mail_id).values(state="sent", sent_at=utcnow())
    )


async def mail_failed(
    session: AsyncSession, mail_id: int, error: str, *, retry_at: datetime | None
) -> None:
    """Try again at ``retry_at``, or give up (``None``: out of attempts or refused for good)."""
    values: dict[str, object] = {"last_error": error[:2000]}
    if retry_at is None:
        values["state"] = "failed"
    else:
        values["next_attempt_at"] = retry_at
    await session.execute(update(Mail).where(Mail.id == mail_id).values(**values))


async def mails(session: AsyncSession, *, state: str | None = None) -> list[Mail]:
    query = select(Mail).order_by(Mail.id)
    if state is not None:
        query = query.where(Mail.state == state)
    return list(await session.scalars(query))
