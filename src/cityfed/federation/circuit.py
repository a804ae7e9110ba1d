"""The per-domain circuit breaker of the delivery worker (§3 Outbound): a state machine.

A domain's circuit is in one of three states (``CircuitState``):

* **closed**: rows are sent. ``CIRCUIT_THRESHOLD`` consecutive 5xx/network failures open it.
* **open**: rows are held, not sent and not charged an attempt, for 60 s, doubling per further
  failure up to 1 h (``circuit_open_seconds``). An open circuit's rows are not even leased.
* **half-open**: the open time is over but the failures are still on record: rows are sent as
  probes; the first answer closes the circuit, the first failure opens it again.

What a worker does with a row follows from the state as one typed ``Decision``: **send**, **hold**
(open circuit, or a domain marked unavailable) or **drop** (the domain is blocked: the row is
cancelled, §7). ``TRANSITIONS`` declares which state changes exist; ``Breaker`` is one domain's
circuit as a worker sees it while sending, started from the peers row at lease time.

The state lives in the ``peers`` row (``consecutive_failures`` and ``circuit_open_until``), so
every worker process shares it; the worker counts what it sees of each domain in a
``HostWindow`` and, with each batch of recorded outcomes, writes what was seen since the last
write (``take_report``) with ``update_circuits``.

Over days the same row tracks availability, as Mastodon's ``DeliveryFailureTracker`` does (it
counts the days with failures and marks the domain an ``UnavailableDomain`` after 7; one success
clears it): ``failing_since`` is the first failure since the domain last answered, and once the
failures span ``delivery_unavailable_days`` the domain is marked unavailable. Unlike Mastodon,
which drops deliveries to an unavailable domain, its rows are held: they are not leased (so no
attempt is charged) until the domain answers again (``federation/availability.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.federation.retry import HostState
from cityfed.models.db import dialect_name
from cityfed.models.tables import Peer
from cityfed.models.types import UTCDateTime

log = logging.getLogger("cityfed.delivery")

CIRCUIT_THRESHOLD = 5
CIRCUIT_BASE_SECONDS = 60.0
CIRCUIT_MAX_SECONDS = 3600.0


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class Decision(StrEnum):
    """What to do with a row for a domain."""

    SEND = "send"
    HOLD = "hold"  # not now, uncharged: the circuit is open or the domain unavailable
    DROP = "drop"  # never: the domain is blocked, the row is cancelled


# Every state change there is, and what causes it ("up": the host answered, "down": a 5xx,
# timeout or network error; "expired": the open time is over). A closed circuit stays closed on
# a failure until the threshold is reached (``Breaker.observe``).
TRANSITIONS: dict[tuple[CircuitState, str], frozenset[CircuitState]] = {
    (CircuitState.CLOSED, "up"): frozenset({CircuitState.CLOSED}),
    (CircuitState.CLOSED, "down"): frozenset({CircuitState.CLOSED, CircuitState.OPEN}),
    (CircuitState.OPEN, "expired"): frozenset({CircuitState.HALF_OPEN}),
    # Answers to requests already in flight when the circuit opened (a domain has several
    # slots): an answer closes it, a failure keeps it open.
    (CircuitState.OPEN, "up"): frozenset({CircuitState.CLOSED}),
    (CircuitState.OPEN, "down"): frozenset({CircuitState.OPEN}),
    (CircuitState.HALF_OPEN, "up"): frozenset({CircuitState.CLOSED}),
    (CircuitState.HALF_OPEN, "down"): frozenset({CircuitState.OPEN}),
}


def circuit_open_seconds(failures: int) -> float | None:
    """How long a domain is left alone after ``failures`` consecutive failures (None: not open)."""
    if failures < CIRCUIT_THRESHOLD:
        return None
    return min(
        CIRCUIT_BASE_SECONDS * 2.0 ** min(failures - CIRCUIT_THRESHOLD, 30), CIRCUIT_MAX_SECONDS
    )


def state_of(
    failures: int, open_until: datetime | None, now: datetime, *, unavailable: bool = False
) -> CircuitState:
    """A domain's circuit as its peers row records it, at ``now``."""
    if unavailable or (open_until is not None and open_until > now):
        return CircuitState.OPEN
    return CircuitState.HALF_OPEN if failures >= CIRCUIT_THRESHOLD else CircuitState.CLOSED


def decide(state: CircuitState, *, blocked: bool = False) -> Decision:
    """The one rule from state to decision: blocked drops, open holds, anything else sends."""
    if blocked:
        return Decision.DROP
    return Decision.HOLD if state is CircuitState.OPEN else Decision.SEND


@dataclass
class Breaker:
    """One domain's circuit while a worker sends to it.

    Started at lease time from the peers row: a domain leased at all is not open (open ones are
    not leased), so it starts closed, or half-open when its failures are still on record (the
    circuit just expired: its rows go out as probes).
    """

    failures: int  # consecutive failures: as recorded at lease time, counted on while sending
    state: CircuitState = CircuitState.CLOSED

    @classmethod
    def at_lease(cls, failures: int) -> Breaker:
        leased = CircuitState.HALF_OPEN if failures >= CIRCUIT_THRESHOLD else CircuitState.CLOSED
        return cls(failures, leased)

    def decide(self) -> Decision:
        return decide(self.state)

    def observe(self, answer: HostState | None) -> None:
        if answer is None:
            return  # nothing was sent
        if answer == "up":
            self.failures, after = 0, CircuitState.CLOSED
        else:
            self.failures += 1
            opens = self.state is CircuitState.HALF_OPEN or self.failures >= CIRCUIT_THRESHOLD
            after = CircuitState.OPEN if opens else self.state
        if after is not self.state:
            assert after in TRANSITIONS.get((self.state, answer), ()), (self.state, answer, after)
        self.state = after


@dataclass(frozen=True, slots=True)
class HostReport:
    """What one domain did since its last report: written into its peers row."""

    saw_up: bool
    downs: int  # failures after the last success of the report (all of them without one)
    last_success_at: datetime | None
    last_failure_at: datetime | None
    first_down_at: datetime | None = None  # the first failure after the last success


@dataclass
class HostWindow:
    """One domain as the worker sees it: its concurrency slots, its circuit (``breaker``, which
    decides while rows are being sent) and the answers not yet written to the peers row (the
    report fields, so outcomes recorded in several batches are counted once)."""

    semaphore: asyncio.Semaphore
    breaker: Breaker = field(default_factory=lambda: Breaker(0))
    saw_up: bool = False
    downs: int = 0
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    first_down_at: datetime | None = None

    @classmethod
    def leased(cls, semaphore: asyncio.Semaphore, failures: int) -> HostWindow:
        return cls(semaphore, Breaker.at_lease(failures))

    @property
    def dirty(self) -> bool:
        return self.saw_up or bool(self.downs)

    def observe(self, state: HostState | None, at: datetime) -> None:
        self.breaker.observe(state)
        if state == "up":
            self.saw_up, self.downs = True, 0
            self.last_success_at = at
            self.first_down_at = None
        elif state == "down":
            if not self.downs:
                self.first_down_at = at
            self.downs += 1
            self.last_failure_at = at

    def take_report(self) -> HostReport | None:
        """What was seen since the last report (None: nothing), and start a new one.

        Synchronous on purpose: answers that arrive while the report is being written belong to
        the next one, never to both.
        """
        if not self.dirty:
            return None
        report = HostReport(
            self.saw_up, self.downs, self.last_success_at, self.last_failure_at, self.first_down_at
        )
        self.saw_up, self.downs = False, 0
        self.last_success_at = self.last_failure_at = self.first_down_at = None
        return report


# A declarative class's table is a Table; SQLAlchemy types ``__table__`` as any FromClause.
_PEERS = cast(Table, Peer.__table__)

_UPDATE_PEER = (
    update(_PEERS)
    .where(_PEERS.c.domain == bindparam("_domain"))
    .values(
        consecutive_failures=bindparam("_failures"),
        circuit_open_until=bindparam("_open_until", type_=UTCDateTime()),
        last_success_at=bindparam("_success", type_=UTCDateTime()),
        last_failure_at=bindparam("_failure", type_=UTCDateTime()),
        failing_since=bindparam("_failing", type_=UTCDateTime()),
        unavailable_since=bindparam("_unavailable", type_=UTCDateTime()),
    )
)


async def update_circuits(
    session: AsyncSession,
    seen: dict[str, HostReport],
    now: datetime,
    unavailable_after: timedelta = timedelta(days=2),
) -> None:
    """Write what was seen of each domain into its peers row (the breaker's state)."""
    if not seen:
        return
    await _ensure_peers(session, seen.keys())
    # Locked in domain order, so two workers recording at once cannot deadlock, and re-read
    # under the lock, so failures counted by another worker meanwhile are not lost.
    current = await session.execute(
        select(
            Peer.domain,
            Peer.consecutive_failures,
            Peer.circuit_open_until,
            Peer.last_success_at,
            Peer.last_failure_at,
            Peer.failing_since,
            Peer.unavailable_since,
        )
        .where(Peer.domain.in_(seen.keys()))
        .order_by(Peer.domain)
        .with_for_update()
    )
    params = []
    for row in current:
        domain, failures, open_until, last_success, last_failure = row[:5]
        params.append(
            _circuit(
                domain, seen[domain], failures or 0, open_until, last_success, last_failure, now
            )
            | _availability(
                domain,
                seen[domain],
                row.failing_since,
                row.unavailable_since,
                now,
                unavailable_after,
            )
        )
    if params:
        await session.execute(_UPDATE_PEER, params)


def _circuit(
    domain: str,
    host: HostReport,
    failures: int,
    open_until: datetime | None,
    last_success: datetime | None,
    last_failure: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    new_failures = host.downs + (0 if host.saw_up else failures)
    seconds = circuit_open_seconds(new_failures)
    # Reaching the threshold opens (or keeps open, for longer) the circuit; an answer with no
    # failure after it closes it; failures below the threshold leave it closed.
    if seconds is not None:
        until = now + timedelta(seconds=seconds)
        if open_until is None or until > open_until:
            log.warning(
                "circuit for %s open until %s after %d consecutive failures",
                domain,
                until.isoformat(timespec="seconds"),
                new_failures,
            )
            open_until = until
    elif host.saw_up:
        if open_until is not None or failures:
            log.info("circuit for %s closed: the host answers again", domain)
        open_until = None
    return {
        "_domain": domain,
        "_failures": new_failures,
        "_open_until": open_until,
        "_success": host.last_success_at or last_success,
        "_failure": host.last_failure_at or last_failure,
    }


def _availability(
    domain: str,
    host: HostReport,
    failing_since: datetime | None,
    unavailable_since: datetime | None,
    now: datetime,
    unavailable_after: timedelta,
) -> dict[str, Any]:
    """Failing since when, and unavailable since when, after this report."""
    if host.saw_up:
        # It answered: whatever failed before is forgiven, failures after the answer count anew.
        if unavailable_since is not None:
            log.warning("domain %s is available again: it answered a delivery", domain)
        failing_since = host.first_down_at if host.downs else None
        unavailable_since = None
    elif host.downs:
        failing_since = failing_since or host.first_down_at or now
    last_failure = host.last_failure_at or now
    if (
        unavailable_since is None
        and failing_since is not None
        and host.downs
        and last_failure - failing_since >= unavailable_after
    ):
        unavailable_since = now
        log.warning(
            "domain %s marked unavailable: failing since %s; its deliveries are held until it "
            "answers again",
            domain,
            failing_since.isoformat(timespec="seconds"),
        )
    return {"_failing": failing_since, "_unavailable": unavailable_since}


async def _ensure_peers(session: AsyncSession, domains: Iterable[str]) -> None:
    """Create missing peers rows (policy None): the breaker's state lives there."""
    values = [{"domain": domain, "consecutive_failures": 0} for domain in sorted(domains)]
    dialect = dialect_name(session)
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(_PEERS)
    elif dialect == "sqlite":
        stmt = sqlite.insert(_PEERS)
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported database {dialect}")
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["domain"]), values)
