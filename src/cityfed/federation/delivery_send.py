"""Sending one delivery: sign, POST, classify, and say what happened (§3 Outbound, §10.4).

Per delivery only what differs per inbox is done: the signing string (request target, host,
date) and its signature; the body and its Digest come from the activity's ``Payload``, computed
once per activity. The body is POSTed as stored (never re-serialised) through the node's shared
ClientSession, within the domain's slots and then a global one. ``retry.classify`` judges the
answer; failures are logged per delivery, successes only at DEBUG (the recorder logs a summary
per activity: a log line costs about as much CPU as the bookkeeping of a delivery).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from cityfed.activitypub import cavage
from cityfed.federation.circuit import Decision, HostWindow
from cityfed.federation.delivery_lease import Job, Payload
from cityfed.federation.netguard import check_url
from cityfed.federation.retry import Outcome, PermanentError, classify
from cityfed.keys.store import SigningKey
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.delivery")

CONTENT_TYPE = {"Content-Type": "application/activity+json"}


@dataclass(frozen=True, slots=True)
class Result:
    """The new values of one row, as the recorder writes them."""

    job: Job
    state: str  # done | retry | failed | dead; the row's own state when held back
    attempts: int
    next_attempt_at: datetime
    finished_at: datetime | None
    status: int | None
    error: str | None
    gone: bool = False  # 410: the inbox says it is gone (its follows end only if it stays so)
    held_back: bool = False  # not sent: the circuit tripped

    def params(self) -> dict[str, Any]:
        return {
            "_id": self.job.id,
            "_lease": self.job.lease,
            "_state": self.state,
            "_attempts": self.attempts,
            "_next": self.next_attempt_at,
            "_finished": self.finished_at,
            "_status": self.status,
            "_error": self.error,
        }


class _Clock:
    """The Date header, formatted once per second rather than once per request."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def http_date(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second, self._text = second, email.utils.formatdate(second, usegmt=True)
        return self._text


def sign_headers(
    inbox: str, key: SigningKey, payload: Payload, date: str | None = None
) -> dict[str, str]:
    """The signed headers of a POST of ``payload`` to ``inbox``, its Digest computed once."""
    return cavage.sign_request(
        "POST",
        inbox,
        key.private_key,
        key.key_id,
        headers=CONTENT_TYPE,
        digest=payload.digest,
        date=date,
    )


class Sender:
    """Sends single deliveries; shared by all of a worker's concurrent sends."""

    def __init__(
        self, node: Node, rng: random.Random, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.node = node
        self.clock = clock
        self.settings = node.settings
        self._rng = rng
        self._clock = _Clock()
        self._timeout = aiohttp.ClientTimeout(total=self.settings.fetch_timeout)

    async def deliver(
        self,
        job: Job,
        payload: Payload | None,
        key: SigningKey | None,
        host: HostWindow,
        slots: asyncio.Semaphore,
    ) -> Result:
        # The host slot first, then a global one: a task queued behind a slow host must not hold
        # a global slot that a task for another host could use.
        async with host.semaphore:
            # Opened by failures seen while sending: the rest of its rows wait, uncharged. (A
            # circuit half-open at lease time lets its rows through as probes.)
            if host.breaker.decide() is Decision.HOLD:
                return self._held_back(job)
            async with slots:
                status, retry_after, error, snippet = await self._post(job, payload, key)
            now = self.clock()
            outcome = classify(
                status,
                error,
                retry_after,
                job.attempts,
                now,
                self._rng,
                max_attempts=self.settings.delivery_max_attempts,
            )
            # Observed before the host slot is released, so the next task sees an opened circuit.
            host.observe(outcome.host, now)
        return self._result(job, outcome, status, snippet, now)

    async def _post(
        self, job: Job, payload: Payload | None, key: SigningKey | None
    ) -> tuple[int | None, str | None, BaseException | None, str]:
        """POST one body; (status, Retry-After, error, start of an error response's body)."""
        try:
            if payload is None:
                raise PermanentError("the activity is gone")
            if key is None:
                raise PermanentError("the sender has no signing key")
            check_url(
                job.inbox,
                allow_private=self.settings.allow_private_addresses,
                allow_http=self.settings.scheme == "http",
            )
            try:
                headers = sign_headers(job.inbox, key, payload, self._clock.http_date())
            except (ValueError, TypeError) as exc:
                raise PermanentError(f"cannot sign for {job.inbox}: {exc}") from exc
            async with self.node.client().post(
                job.inbox,
                data=payload.body,
                headers=headers,
                allow_redirects=False,
                timeout=self._timeout,
            ) as resp:
                # Only the start of the answer: enough for the log, and a peer cannot make us
                # read a huge error page.
                head = await resp.content.read(1024)
                snippet = "" if resp.status < 300 else head.decode("utf-8", "replace")
                return resp.status, resp.headers.get("Retry-After"), None, snippet
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return None, None, exc, ""

    @staticmethod
    def _held_back(job: Job) -> Result:
        log.info(
            "delivery %d to %s: held back unsent, circuit for %s is open",
            job.id,
            job.inbox,
            job.domain,
        )
        return Result(
            job,
            job.state,
            job.attempts - 1,
            job.next_attempt_at,
            None,
            job.last_status,
            job.last_error,
            held_back=True,
        )

    @staticmethod
    def _result(
        job: Job, outcome: Outcome, status: int | None, snippet: str, now: datetime
    ) -> Result:
        if outcome.kind == "done":
            # DEBUG: a fan-out has thousands; the recorder's summary line says how many.
            log.debug(
                "delivery %d (activity %d) to %s: delivered, %s, attempt %d",
                job.id,
                job.activity_id,
                job.inbox,
                outcome.reason,
                job.attempts,
            )
            return Result(job, "done", job.attempts, job.next_attempt_at, now, status, None)
        where = f"delivery {job.id} (activity {job.activity_id}) to {job.inbox}"
        reason = outcome.reason
        if snippet.strip():
            reason = f"{reason}: {' '.join(snippet.split())}"
        reason = reason[:500]
        if outcome.kind == "retry":
            assert outcome.next_attempt_at is not None
            log.info(
                "%s: retry at %s (in %.0f s), attempt %d failed: %s",
                where,
                outcome.next_attempt_at.isoformat(timespec="seconds"),
                outcome.delay or 0,
                job.attempts,
                reason,
            )
            return Result(job, "retry", job.attempts, outcome.next_attempt_at, None, status, reason)
        if outcome.kind == "dead":
            log.warning("%s: dead, %s", where, reason)
            return Result(job, "dead", job.attempts, job.next_attempt_at, now, status, reason)
        log.warning("%s: failed permanently, %s", where, reason)
        return Result(
            job,
            "failed",
            job.attempts,
            job.next_attempt_at,
            now,
            status,
            reason,
            gone=status == 410,
        )
