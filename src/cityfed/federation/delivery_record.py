"""Recording delivery outcomes in batches, and one summary log line per activity (§3, §10.3).

Finished deliveries collect here while others are still being sent; ``flush`` writes them in one
transaction: successes as one ``UPDATE ... WHERE id IN (...)`` per (lease, status), every other
outcome row by row (executemany), 410s of personal inboxes counted (their follows end only when
410s span ``delivery_gone_days``), and what each domain did since the last flush written to its
circuit breaker and availability. An
outcome is written only by the holder of the row's lease (``locked_until`` must still be the
value it leased): if the lease expired and another worker took the row, that worker's outcome
is the current one.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.federation.circuit import HostReport, HostWindow, update_circuits
from cityfed.federation.delivery_send import Result
from cityfed.federation.notify import notify
from cityfed.models import availability as availability_queries
from cityfed.models import follows as follow_queries
from cityfed.models.notifications import Kind
from cityfed.models.states import DeliveryState
from cityfed.models.tables import Delivery
from cityfed.models.types import UTCDateTime, utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.delivery")

# A declarative class's table is a Table; SQLAlchemy types ``__table__`` as any FromClause.
_TABLE = cast(Table, Delivery.__table__)

_UPDATE_ONE = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("_id"),
        _TABLE.c.locked_until == bindparam("_lease", type_=UTCDateTime()),
    )
    .values(
        state=bindparam("_state"),
        attempts=bindparam("_attempts"),
        next_attempt_at=bindparam("_next", type_=UTCDateTime()),
        locked_until=None,
        finished_at=bindparam("_finished", type_=UTCDateTime()),
        last_status=bindparam("_status"),
        last_error=bindparam("_error"),
    )
)

_UPDATE_DONE = (
    update(_TABLE)
    .where(
        _TABLE.c.id.in_(bindparam("_ids", expanding=True)),
        _TABLE.c.locked_until == bindparam("_lease", type_=UTCDateTime()),
    )
    .values(
        state=DeliveryState.DONE,
        locked_until=None,
        finished_at=bindparam("_finished", type_=UTCDateTime()),
        last_status=bindparam("_status"),
        last_error=None,
    )
)

_KINDS = ("retry", "failed", "dead", "held back")


async def _notify_given_up(session: AsyncSession, results: list[Result]) -> None:
    """Staff hear of deliveries given up (dead-lettered), once per partner domain and batch."""
    given_up = Counter(r.job.domain for r in results if r.state in ("failed", "dead"))
    for domain, count in sorted(given_up.items()):
        await notify(
            session,
            Kind.DEAD_LETTER,
            f"{count} deliver{'y' if count == 1 else 'ies'} to {domain} given up",
        )


class Recorder:
    """Finished deliveries waiting to be written, and the domains they touched."""

    def __init__(self, node: Node, clock: Callable[[], datetime] = utcnow) -> None:
        self.node = node
        self.clock = clock
        settings = node.settings
        self.unavailable_after = timedelta(days=settings.delivery_unavailable_days)
        self.gone_after = timedelta(days=settings.delivery_gone_days)
        # Inboxes leased with a 410 on record (from the lease): a success there forgets it.
        self.gone: dict[str, datetime] = {}
        self.names: dict[int, str] = {}  # activity id -> ap_id, for the summary lines
        self.delivered: Counter[int] = Counter()  # per activity, since the worker started
        self._results: list[Result] = []
        self._hosts: dict[str, HostWindow] = {}
        self._since: float | None = None

    def __len__(self) -> int:
        return len(self._results)

    def age(self) -> float:
        """Seconds the oldest unwritten outcome has waited."""
        return 0.0 if self._since is None else time.monotonic() - self._since

    def add(self, result: Result, host: HostWindow) -> None:
        if self._since is None:
            self._since = time.monotonic()
        self._results.append(result)
        if host.dirty:
            self._hosts[result.job.domain] = host

    async def flush(self) -> None:
        """Write what has collected (and take it: a failed write leaves those rows leased)."""
        results, self._results, self._since = self._results, [], None
        hosts, self._hosts = self._hosts, {}
        # Taken now, before any await: answers arriving meanwhile go into the next report.
        reports: dict[str, HostReport] = {}
        for domain, host in hosts.items():
            report = host.take_report()
            if report is not None:
                reports[domain] = report
        if not results and not reports:
            return
        now = self.clock()
        answered = {r.job.inbox for r in results if r.state == "done" and r.job.inbox in self.gone}
        async with self.node.db.transaction() as session:
            lost = await _write(session, results, now)
            await availability_queries.forget_gone(session, answered)
            for inbox in sorted({result.job.inbox for result in results if result.gone}):
                await self._gone(session, inbox, now)
            await update_circuits(session, reports, now, self.unavailable_after)
            await _notify_given_up(session, results)
        for inbox in answered:
            self.gone.pop(inbox, None)
        self._summarise(results, lost)

    async def _gone(self, session: AsyncSession, inbox: str, now: datetime) -> None:
        """A 410: its follows end only when 410s have come for ``gone_after`` (§3 Outbound).

        One answer proves little (a reverse proxy in front of a restarting server can give it);
        410s over days, never a success in between, mean the actor is gone.
        """
        first = await availability_queries.record_gone(session, inbox, now)
        self.gone[inbox] = first
        if now - first < self.gone_after:
            log.info(
                "inbox %s answered 410 (first on %s): its follows stay until 410s span %s",
                inbox,
                first.isoformat(timespec="seconds"),
                self.gone_after,
            )
            return
        removed = await follow_queries.drop_follows_of_inbox(session, inbox)
        if removed is None:
            return  # a shared inbox: nothing certain about any actor
        await availability_queries.forget_gone(session, [inbox])
        self.gone.pop(inbox, None)
        log.warning(
            "inbox %s has answered 410 since %s: removed %d follow(s) of its actor",
            inbox,
            first.isoformat(timespec="seconds"),
            removed,
        )

    def _summarise(self, results: list[Result], lost: int) -> None:
        """One INFO line per activity: how many of its deliveries this flush recorded."""
        by_activity: dict[int, Counter[str]] = defaultdict(Counter)
        for result in results:
            kind = "held back" if result.held_back else result.state
            by_activity[result.job.activity_id][kind] += 1
        for activity_id, kinds in sorted(by_activity.items()):
            self.delivered[activity_id] += kinds["done"]
            others = "".join(f", {kinds[kind]} {kind}" for kind in _KINDS if kinds[kind])
            log.info(
                "activity %d (%s): delivered to %d inbox(es), %d so far%s",
                activity_id,
                self.names.get(activity_id, "?"),
                kinds["done"],
                self.delivered[activity_id],
                others,
            )
        if lost:
            log.warning(
                "%d delivered row(s) not recorded: their lease had expired and was taken over",
                lost,
            )


async def _write(session: AsyncSession, results: list[Result], now: datetime) -> int:
    """Write the outcomes; returns how many successes found their lease gone."""
    done: dict[tuple[datetime, int | None], list[int]] = defaultdict(list)
    others = []
    for result in results:
        if result.state == "done" and not result.held_back:
            done[(result.job.lease, result.status)].append(result.job.id)
        else:
            others.append(result.params())
    lost = 0
    for (lease, status), ids in done.items():
        written = await session.execute(
            _UPDATE_DONE, {"_ids": ids, "_lease": lease, "_finished": now, "_status": status}
        )
        lost += len(ids) - max(written.rowcount or 0, 0)  # type: ignore[attr-defined]
    if others:
        await session.execute(_UPDATE_ONE, others)
    return lost
