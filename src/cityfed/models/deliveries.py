"""Questions the delivery worker's lease asks (federation/delivery_lease.py): which domains wait,
what each leased domain's peers row says, the activities to send, and the two ways a leased row
leaves the lease without being sent (cancelled for a blocked domain, handed back for later).

Rows are read as plain values: no ORM object crosses an HTTP call.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.peers import domain_not_blocked
from cityfed.models.policy import covering, policy_of
from cityfed.models.states import DELIVERY_GRAPH, DUE_STATES, DeliveryState, PeerPolicy
from cityfed.models.tables import Activity, Delivery, Peer

# Leased rows are due (pending or retry); the graph says both may be cancelled.
CANCELLABLE = DELIVERY_GRAPH.sources(DeliveryState.CANCELLED, DUE_STATES)


def not_waiting(now: datetime) -> ColumnElement[bool]:
    """For the lease: the delivery's domain has no open circuit and is not unavailable. Open
    circuits wait minutes; unavailable domains wait until they answer again
    (federation/availability.py). Neither is leased, so neither is charged attempts."""
    waiting = select(Peer.domain).where(
        or_(Peer.circuit_open_until > now, Peer.unavailable_since.is_not(None))
    )
    return Delivery.domain.not_in(waiting)


async def peer_states(session: AsyncSession, domains: set[str]) -> dict[str, tuple[bool, int]]:
    """(blocked, consecutive failures) of each domain that has a peers row or a blocked parent."""
    keys = {key for domain in domains for key in covering(domain)}
    result = await session.execute(
        select(Peer.domain, Peer.policy, Peer.consecutive_failures).where(Peer.domain.in_(keys))
    )
    rows = {domain: (policy, failures or 0) for domain, policy, failures in result}
    policies = {domain: policy for domain, (policy, _) in rows.items()}
    return {
        domain: (policy_of(policies, domain) == PeerPolicy.BLOCKED, rows.get(domain, (None, 0))[1])
        for domain in domains
        if any(key in rows for key in covering(domain))
    }


async def activity_keys(
    session: AsyncSession, activity_ids: Collection[int]
) -> dict[int, tuple[str, str | None]]:
    """The ap_id and explicit signing key (or None) of each activity still stored."""
    result = await session.execute(
        select(Activity.id, Activity.ap_id, Activity.signing_key_id).where(
            Activity.id.in_(activity_ids)
        )
    )
    return {activity_id: (ap_id, key_id) for activity_id, ap_id, key_id in result}


async def activity_bodies(session: AsyncSession, activity_ids: Collection[int]) -> dict[int, bytes]:
    """The stored bodies of these activities, exactly as serialised on the wire."""
    result = await session.execute(
        select(Activity.id, Activity.body).where(Activity.id.in_(activity_ids))
    )
    return {activity_id: bytes(raw) for activity_id, raw in result}


async def cancel_leased(
    session: AsyncSession, ids: Collection[int], now: datetime, reason: str
) -> None:
    """Cancel leased rows unsent and uncharged (their domain got blocked)."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.state.in_(CANCELLABLE))
        .values(
            state=DeliveryState.CANCELLED,
            locked_until=None,
            finished_at=now,
            attempts=Delivery.attempts - 1,
            last_error=reason,
        )
        .execution_options(synchronize_session=False)
    )


async def hand_back(
    session: AsyncSession, ids: Collection[int], now: datetime, delay: timedelta
) -> None:
    """Return leased rows unsent and uncharged, due again after ``delay``."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(locked_until=None, attempts=Delivery.attempts - 1, next_attempt_at=now + delay)
        .execution_options(synchronize_session=False)
    )


# --- the admin's hand on dead deliveries (actions/deliveries.py) --------------------------------


def _dead(ids: Sequence[int] | None, domain: str | None, new: DeliveryState) -> ColumnElement[bool]:
    """Dead rows by id, or all of a domain, that the graph lets become ``new``."""
    chosen = Delivery.id.in_(list(ids)) if ids is not None else Delivery.domain == domain
    return and_(chosen, Delivery.state.in_(DELIVERY_GRAPH.sources(new, [DeliveryState.DEAD])))


async def requeue_dead(
    session: AsyncSession, *, ids: Sequence[int] | None, domain: str | None, now: datetime
) -> int:
    """Dead deliveries become due now with a fresh attempt count, unless their domain is blocked:
    how many."""
    result = await session.execute(
        update(Delivery)
        .where(_dead(ids, domain, DeliveryState.PENDING), domain_not_blocked(Delivery.domain))
        .values(
            state=DeliveryState.PENDING,
            attempts=0,
            next_attempt_at=now,
            locked_until=None,
            finished_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def drop_dead(
    session: AsyncSession, *, ids: Sequence[int] | None, domain: str | None, now: datetime
) -> int:
    """Dead deliveries are given up for good (cancelled): how many."""
    result = await session.execute(
        update(Delivery)
        .where(_dead(ids, domain, DeliveryState.CANCELLED))
        .values(state=DeliveryState.CANCELLED, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def add(
    session: AsyncSession, activity_id: int, sender_id: int, targets: dict[str, str], now: datetime
) -> int:
    """Queue one delivery of an activity per inbox in ``targets`` (inbox → domain), due now, in
    ``targets``' order: how many."""
    rows = [
        {
            "activity_id": activity_id,
            "sender_id": sender_id,
            "inbox": inbox,
            "domain": domain,
            "state": DeliveryState.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for inbox, domain in targets.items()
    ]
    if rows:
        # One executemany instead of an ORM object per row: a fan-out may have thousands.
        await session.execute(insert(Delivery), rows)
    return len(rows)
