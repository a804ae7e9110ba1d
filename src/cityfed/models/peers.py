"""Queries on peers (§7): the blocked-domain filter, the admin's overview, audit and deliveries.

The filters are SQL subqueries on ``peers`` rather than lists from the in-memory policy view, so a
page served by one process hides what another process just blocked, without waiting for a reload.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, String, Table, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cityfed.models.db import dialect_name
from cityfed.models.states import DeliveryState, FollowState, PeerPolicy
from cityfed.models.tables import Activity, Actor, AuditEntry, Delivery, Follow, Peer

# A declarative class's table is a Table; SQLAlchemy types ``__table__`` as any FromClause.
_PEERS = cast(Table, Peer.__table__)

FAILING_STATES = (DeliveryState.RETRY, DeliveryState.DEAD)
# Delivery states as the admin API and CLI name them: "retrying" reads better than "retry".
_D = DeliveryState
STATE_NAMES: dict[str, str] = {
    state: "retrying" if state == _D.RETRY else state.value
    for state in (_D.PENDING, _D.RETRY, _D.DEAD, _D.DONE, _D.FAILED, _D.CANCELLED)
}
QUEUE_STATES: dict[str, str] = {STATE_NAMES[s]: s for s in (_D.PENDING, _D.RETRY, _D.DEAD)}


# --- hiding blocked domains ---------------------------------------------------------------------


def covered_by(domain: ColumnElement[str] | Any, peer: ColumnElement[str] | Any) -> Any:
    """``domain`` is the peer domain ``peer`` or one of its subdomains (same port), as
    ``policy.covering`` says in Python: ``a.evil.example`` and ``evil.example`` by ``evil.example``.

    Domains hold no ``%`` or ``\\``; a ``_`` (allowed in labels) is escaped so LIKE takes it as is.
    """
    escaped = func.replace(peer, "_", "\\_", type_=String)
    return or_(domain == peer, domain.like(literal("%.", String).concat(escaped), escape="\\"))


def domain_blocked(domain: ColumnElement[str] | Any) -> ColumnElement[bool]:
    """``domain`` is blocked: a block covers it, and no policy on a more specific domain does."""
    block, other = aliased(Peer), aliased(Peer)
    overridden = (
        select(other.domain)
        .where(
            other.policy.is_not(None),
            other.policy != "blocked",
            covered_by(domain, other.domain),
            func.length(other.domain) > func.length(block.domain),
        )
        .correlate_except(other)  # to both the block and ``domain``'s table, two levels up
        .exists()
    )
    return (
        select(block.domain)
        .where(block.policy == "blocked", covered_by(domain, block.domain), ~overridden)
        .exists()
    )


def domain_not_blocked(domain: ColumnElement[str] | Any) -> ColumnElement[bool]:
    """For queries that join ``actors``: ``Actor.domain`` is not a blocked one."""
    return ~domain_blocked(domain)


def actor_not_blocked(actor_id: ColumnElement[int] | Any) -> ColumnElement[bool]:
    """For queries on ``objects`` without a join: the author is not on a blocked domain."""
    blocked_actors = select(Actor.id).where(Actor.local.is_(False), domain_blocked(Actor.domain))
    return actor_id.not_in(blocked_actors)


# --- one peer -----------------------------------------------------------------------------------


async def lock(session: AsyncSession, domain: str) -> Peer:
    """The peers row of ``domain``, created if missing, locked for this transaction.

    Created with an insert that ignores conflicts: the delivery worker creates rows for its
    circuit breaker at any moment, and neither side may fail because the other was first.
    """
    dialect = dialect_name(session)
    if dialect == "postgresql":
        insert: Any = postgresql.insert(_PEERS)
    elif dialect == "sqlite":
        insert = sqlite.insert(_PEERS)
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported database {dialect}")
    await session.execute(
        insert.values(domain=domain, consecutive_failures=0).on_conflict_do_nothing(
            index_elements=["domain"]
        )
    )
    peer = await session.scalar(
        select(Peer)
        .where(Peer.domain == domain)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert peer is not None
    return peer


# --- the admin's overview -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerSummary:
    """What the admin sees of one known domain."""

    domain: str
    policy: str | None = None
    note: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None
    software: str | None = None
    followers: int = 0  # their actors following ours (accepted)
    following: int = 0  # our actors following theirs (accepted)
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    failing: int = 0  # deliveries in retry or dead
    consecutive_failures: int = 0
    circuit_open_until: datetime | None = None
    # Failing for days: deliveries held until it answers again (federation/availability.py).
    unavailable_since: datetime | None = None

    def circuit(self, now: datetime) -> str:
        """``closed``, or ``open until <time>`` while the delivery worker leaves the domain be."""
        if self.circuit_open_until is None or self.circuit_open_until <= now:
            return "closed"
        return f"open until {self.circuit_open_until.isoformat(timespec='seconds')}"

    def to_json(self, now: datetime) -> dict[str, Any]:
        """The admin API's (and ``cityfed peers list --json``'s) view of the peer."""
        return {
            "domain": self.domain,
            "policy": self.policy,
            "note": self.note,
            "updated_by": self.updated_by,
            "updated_at": _iso(self.updated_at),
            "software": self.software,
            "followers": self.followers,
            "following": self.following,
            "last_success_at": _iso(self.last_success_at),
            "last_failure_at": _iso(self.last_failure_at),
            "failing": self.failing,
            "consecutive_failures": self.consecutive_failures,
            "circuit": self.circuit(now),
            "unavailable_since": _iso(self.unavailable_since),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def _counts(session: AsyncSession, query: Select[str, int]) -> dict[str, int]:
    return {domain: count for domain, count in (await session.execute(query)).all()}


async def overview(session: AsyncSession, domain: str | None = None) -> list[PeerSummary]:
    """Every known domain (a peers row or a remote actor we stored), sorted; or just ``domain``.

    A handful of grouped queries merged here, instead of one query per domain.
    """
    remote = aliased(Actor)
    peers_q = select(Peer)
    actors_q = select(Actor.domain).where(Actor.local.is_(False)).distinct()
    followers_q = (
        select(remote.domain, func.count())
        .join(Follow, Follow.follower_id == remote.id)
        .where(remote.local.is_(False), Follow.state == FollowState.ACCEPTED)
        .group_by(remote.domain)
    )
    following_q = (
        select(remote.domain, func.count())
        .join(Follow, Follow.followee_id == remote.id)
        .where(remote.local.is_(False), Follow.state == FollowState.ACCEPTED)
        .group_by(remote.domain)
    )
    failing_q = (
        select(Delivery.domain, func.count())
        .where(Delivery.state.in_(FAILING_STATES))
        .group_by(Delivery.domain)
    )
    if domain is not None:
        peers_q = peers_q.where(Peer.domain == domain)
        actors_q = actors_q.where(Actor.domain == domain)
        followers_q = followers_q.where(remote.domain == domain)
        following_q = following_q.where(remote.domain == domain)
        failing_q = failing_q.where(Delivery.domain == domain)
    peers = {peer.domain: peer for peer in await session.scalars(peers_q)}
    domains = set(peers) | set(await session.scalars(actors_q))
    followers = await _counts(session, followers_q)
    following = await _counts(session, following_q)
    failing = await _counts(session, failing_q)
    result = []
    for name in sorted(domains):
        peer = peers.get(name)
        fields: dict[str, Any] = {}
        if peer is not None:
            fields = {
                "policy": peer.policy,
                "note": peer.note,
                "updated_by": peer.updated_by,
                "updated_at": peer.updated_at,
                "software": peer.software,
                "last_success_at": peer.last_success_at,
                "last_failure_at": peer.last_failure_at,
                "consecutive_failures": peer.consecutive_failures or 0,
                "circuit_open_until": peer.circuit_open_until,
                "unavailable_since": peer.unavailable_since,
            }
        result.append(
            PeerSummary(
                domain=name,
                followers=followers.get(name, 0),
                following=following.get(name, 0),
                failing=failing.get(name, 0),
                **fields,
            )
        )
    return result


# --- the audit log ------------------------------------------------------------------------------


async def audit_page(
    session: AsyncSession, *, offset: int, limit: int
) -> tuple[list[AuditEntry], int]:
    """One page of the audit log, newest first, and the number of entries in all."""
    rows = await session.scalars(
        select(AuditEntry)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset(offset)
        .limit(limit)
    )
    total = await session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return list(rows), total


# --- the delivery queue -------------------------------------------------------------------------


async def deliveries(
    session: AsyncSession,
    states: Sequence[str],
    *,
    domain: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[tuple[Delivery, Activity]], int]:
    """Deliveries in ``states`` (oldest due first) with their activity, and how many in all."""
    where: list[ColumnElement[bool]] = [Delivery.state.in_(states)]
    if domain is not None:
        where.append(Delivery.domain == domain)
    rows = await session.execute(
        select(Delivery, Activity)
        .join(Activity, Activity.id == Delivery.activity_id)
        .where(*where)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .offset(offset)
        .limit(limit)
    )
    total = await session.scalar(select(func.count()).select_from(Delivery).where(*where)) or 0
    return [(delivery, activity) for delivery, activity in rows.all()], total


async def delivery_summary(session: AsyncSession) -> dict[str, dict[str, int]]:
    """Per domain, how many deliveries are in each state."""
    rows = await session.execute(
        select(Delivery.domain, Delivery.state, func.count()).group_by(
            Delivery.domain, Delivery.state
        )
    )
    summary: dict[str, dict[str, int]] = {}
    for domain, state, count in rows.all():
        summary.setdefault(domain, {})[state] = count
    return dict(sorted(summary.items()))


async def blocked_among(session: AsyncSession, domains: set[str]) -> set[str]:
    """The domains among ``domains`` with a block of their own (exact domain, no parents)."""
    rows = await session.scalars(
        select(Peer.domain).where(Peer.domain.in_(domains), Peer.policy == PeerPolicy.BLOCKED)
    )
    return set(rows)
