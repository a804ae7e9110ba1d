"""Per-sender limits at the inbox door (§3 Inbound, issue 14 item 8): rate and backlog.

One peer must not fill our disk or memory: every sender domain has two token buckets, one for
requests and one for bytes (a sustained rate and a burst), and a quota of bytes stored but not
yet processed. Beyond any of them the inbox answers 429 with ``Retry-After``; senders retry later
(Mastodon, GoToSocial and Fedify all honour it), so nothing is lost.

This is the inbox's hot path, so it costs no query: the buckets are a dict lookup and a little
arithmetic. The backlog is an estimate per process: what the database said at the last look plus
what this process accepted since. The database is asked again (one grouped query, at most every
``BACKLOG_RECHECK`` seconds) only when a sender's estimate reaches its quota, to learn how much
the workers have processed meanwhile.

``check`` (before the signature is verified) only asks whether the domain the activity claims was
refused a moment ago and must still wait, so a flooding sender costs no RSA verification while a
forger cannot drain anyone's budget; ``take`` (after verification) charges the domain whose key
signed.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from cityfed.config import Settings
from cityfed.models import queue as queue_queries
from cityfed.models.db import Database

BACKLOG_RECHECK = 5.0  # seconds between looks at the stored backlog
BACKLOG_RETRY_AFTER = 60  # seconds a sender over its backlog quota is asked to wait
MAX_SENDERS = 10_000  # buckets kept; beyond, all are forgotten (everyone gets a fresh burst)


class Limited(Exception):
    """Over a limit: answer 429 with ``retry_after`` seconds."""

    def __init__(self, retry_after: int, reason: str) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.reason = reason


class SenderLimits:
    def __init__(
        self, settings: Settings, db: Database, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = settings.inbox_sender_rate
        self.burst = float(max(settings.inbox_sender_burst, 1))
        self.bytes_rate = float(settings.inbox_sender_bytes_rate)
        self.burst_bytes = float(max(settings.inbox_sender_burst_bytes, settings.max_body_bytes))
        self.backlog_quota = settings.inbox_sender_backlog_bytes
        self.backlog_recheck = BACKLOG_RECHECK
        self._db = db
        self._clock = clock
        # domain -> [request tokens, byte tokens, when last refilled]
        self._buckets: dict[str, list[float]] = {}
        # domain -> until when it is refused without a look (set when it was refused)
        self._refused: dict[str, float] = {}
        self._stored: dict[str, int] = {}  # backlog bytes per domain at the last look
        self._since: dict[str, int] = {}  # bytes this process accepted since then
        self._looked_at = -math.inf
        self._look: asyncio.Task[None] | None = None

    def check(self, domain: str) -> None:
        """Raise ``Limited`` if ``domain`` was refused and its wait is not over; charges nothing.

        Synchronous and a lookup in a (mostly empty) dict: every request pays it.
        """
        if not self._refused:
            return
        until = self._refused.get(domain)
        if until is None:
            return
        wait = until - self._clock()
        if wait > 0:
            raise Limited(math.ceil(wait), f"too many requests from {domain}")
        del self._refused[domain]

    async def take(self, domain: str, size: int) -> None:
        """Charge one request of ``size`` bytes to ``domain``, or raise ``Limited``."""
        now = self._clock()
        bucket = self._buckets.get(domain)
        if bucket is None:
            if len(self._buckets) >= MAX_SENDERS:
                self._buckets.clear()
            bucket = self._buckets[domain] = [self.burst, self.burst_bytes, now]
        elif now > bucket[2]:
            elapsed = now - bucket[2]
            bucket[0] = min(self.burst, bucket[0] + elapsed * self.rate)
            bucket[1] = min(self.burst_bytes, bucket[1] + elapsed * self.bytes_rate)
            bucket[2] = now
        wait = 0.0
        if self.rate and bucket[0] < 1.0:
            wait = (1.0 - bucket[0]) / self.rate
        if self.bytes_rate and bucket[1] < size:
            wait = max(wait, (size - bucket[1]) / self.bytes_rate)
        if wait:
            self._refused[domain] = now + wait
            raise Limited(math.ceil(wait), f"too many requests from {domain}")
        if self.backlog_quota:
            since = self._since.get(domain, 0) + size
            if self._stored.get(domain, 0) + since > self.backlog_quota:
                await self._check_backlog(domain, size)
                since = self._since.get(domain, 0) + size
            self._since[domain] = since
        bucket[0] -= 1.0
        bucket[1] -= size

    async def _check_backlog(self, domain: str, size: int) -> None:
        """Over the estimate: look again (at most every ``backlog_recheck`` s), else refuse."""
        if self._clock() - self._looked_at >= self.backlog_recheck:
            await self._look_again()
            if (
                self._stored.get(domain, 0) + self._since.get(domain, 0) + size
                <= self.backlog_quota
            ):
                return
        self._refused[domain] = self._clock() + self.backlog_recheck
        raise Limited(BACKLOG_RETRY_AFTER, f"{domain} has too much waiting to be processed")

    async def _look_again(self) -> None:
        """Read the stored backlog per domain (one look at a time; others wait for it)."""
        if self._look is None or self._look.done():
            self._look = asyncio.ensure_future(self._read_backlog())
        await asyncio.shield(self._look)

    async def _read_backlog(self) -> None:
        since_before = self._since
        self._since = {}
        try:
            async with self._db.session() as session:
                stored = await queue_queries.inbox_backlog_by_domain(session)
        except BaseException:
            for domain, size in since_before.items():
                self._since[domain] = self._since.get(domain, 0) + size
            raise
        self._stored = stored
        self._looked_at = self._clock()
