"""What to do after one delivery attempt: the single place that classifies outcomes (§3, §10.4).

``classify`` is a plain function of the attempt's result (status or error, ``Retry-After``), the
attempt count and the clock, so every rule of the retry policy is unit-tested without a network:

* 2xx: done.
* 404/410: permanent for this delivery (follows end only on 410s over days, delivery_record);
  other 3xx/4xx too, except 401, 408 and 429, because
  resending the same signed body will get the same answer. We never follow redirects on POST.
* 401 is retried as Mastodon does: a peer answers it when it could not fetch our key at that
  moment (we were restarting, its fetch timed out), which a later attempt cures.
* 408, 429, 5xx, timeouts and network errors: retry with exponential backoff and ±20 % jitter
  (so a fan-out that failed together does not retry together), never earlier than ``Retry-After``.
* A retry on the last allowed attempt becomes dead.

The backoff starts at 30 s and doubles up to 12 h; with the default 16 attempts the 15 waits add up
to ~2.7 days (2.2-2.9 with jitter): a peer down over a long weekend still gets everything.

The schedule is a ``RetryPolicy`` (backoff base and cap, jitter, attempts allowed): the one retry
policy of both queues. The delivery worker uses it with ``delivery_max_attempts``; the inbox
worker with the default for a document it could not fetch, and ``INBOX_ERRORS`` (8 attempts) for
an error of its own while applying an item.

``classify_fetch`` applies the same rules to a GET of a remote document that an inbox item needs
(an object sent by reference): a 5xx, 408, 429, timeout or refused connection is retried, any other
4xx (401 included: nothing about a GET changes on its own) and a document we refused ourselves
(too large, not JSON, wrong id) are final.
"""

from __future__ import annotations

import email.utils
import random
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

import aiohttp

from cityfed.federation.netguard import BlockedAddressError

BASE_DELAY = 30.0  # seconds before the 2nd attempt
MAX_DELAY = 12 * 3600.0  # no backoff step and no Retry-After waits longer than this
MIN_RETRY_AFTER = 1.0
JITTER = 0.2  # each delay is scaled by a factor drawn from [1 - JITTER, 1 + JITTER]
DEFAULT_MAX_ATTEMPTS = 16

Kind = Literal["done", "retry", "permanent", "dead"]
HostState = Literal["up", "down"]

_DELTA_SECONDS = re.compile(r"^\s*(\d{1,10})\s*$")


class PermanentError(Exception):
    """Raised by the sender for a failure no retry can fix (no signing key, unusable URL)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict on one attempt.

    ``host`` feeds the per-host circuit breaker: "up" when the host answered with something other
    than a 5xx, "down" on a 5xx, timeout or network error, None when nothing was sent.
    """

    kind: Kind
    reason: str
    delay: float | None = None
    next_attempt_at: datetime | None = None
    host: HostState | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed attempt is tried again: exponential backoff from ``base`` doubling up to
    ``cap``, each delay scaled by a factor from [1 - jitter, 1 + jitter], never earlier than the
    server's ``Retry-After``; after ``max_attempts`` attempts the row is dead."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base: float = BASE_DELAY
    cap: float = MAX_DELAY
    jitter: float = JITTER

    def attempts(self, max_attempts: int) -> RetryPolicy:
        """The same schedule with another budget of attempts."""
        return (
            self if max_attempts == self.max_attempts else replace(self, max_attempts=max_attempts)
        )

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempts`` (1-based), jitter included."""
        step = max(attempts, 1) - 1
        # Cap the exponent too: 2 ** 10_000 would overflow a float before min() could help.
        nominal = min(self.base * 2.0 ** min(step, 40), self.cap)
        factor = (rng or random).uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return min(nominal * factor, self.cap)

    def after_failure(
        self,
        reason: str,
        attempts: int,
        now: datetime,
        *,
        retry_after: float | None = None,
        rng: random.Random | None = None,
        host: HostState | None = None,
    ) -> Outcome:
        """A retry at the next time of the schedule, or dead once the attempts are used up."""
        if attempts >= self.max_attempts:
            return Outcome("dead", f"gave up after {attempts} attempts; last: {reason}", host=host)
        delay = self.delay(attempts, rng)
        if retry_after is not None:
            # Never earlier than the server asked, never earlier than our own schedule: taking
            # the max keeps the attempt budget spread over ~3 days even for "Retry-After: 1".
            delay = max(delay, retry_after)
        return Outcome(
            "retry", reason, delay=delay, next_attempt_at=now + timedelta(seconds=delay), host=host
        )


DEFAULT_POLICY = RetryPolicy()
# An error of the inbox worker's own while applying an item (a bug, a database hiccup): worth a
# few more tries, not three days of them.
INBOX_ERRORS = RetryPolicy(max_attempts=8)


def backoff_delay(attempts: int, rng: random.Random | None = None) -> float:
    """``DEFAULT_POLICY.delay``: seconds to wait after failed attempt number ``attempts``."""
    return DEFAULT_POLICY.delay(attempts, rng)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now`` (delta-seconds or HTTP-date), clamped to [1 s, 12 h].

    None when absent or unreadable: a garbled header must not turn a retry into a failure.
    """
    if value is None:
        return None
    match = _DELTA_SECONDS.match(value)
    if match is not None:
        seconds = float(match.group(1))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # HTTP dates are GMT by definition
        seconds = (when - now).total_seconds()
    return min(max(seconds, MIN_RETRY_AFTER), MAX_DELAY)


def _describe_error(error: BaseException) -> str:
    text = str(error).strip()
    name = type(error).__name__
    return f"{name}: {text}"[:300] if text else name


def _permanent_error(error: BaseException) -> bool:
    # InvalidURL is a ClientError, BlockedAddressError an OSError: check these before the
    # network-error branch would call them retryable.
    return isinstance(error, PermanentError | BlockedAddressError | aiohttp.InvalidURL)


def classify(
    status: int | None,
    error: BaseException | None,
    retry_after: str | None,
    attempts: int,
    now: datetime,
    rng: random.Random | None = None,
    *,
    max_attempts: int | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> Outcome:
    """Classify one attempt. ``attempts`` counts this one (the lease already incremented it).

    A retry is scheduled by ``policy`` (``max_attempts``, when given, replaces its budget).
    """
    if max_attempts is not None:
        policy = policy.attempts(max_attempts)

    def _retry(reason: str, retry_after: float | None, host: HostState) -> Outcome:
        return policy.after_failure(
            reason, attempts, now, retry_after=retry_after, rng=rng, host=host
        )

    if error is not None:
        if _permanent_error(error):
            return Outcome("permanent", _describe_error(error))
        kind = "timeout" if isinstance(error, TimeoutError) else "network error"
        reason = f"{kind}: {_describe_error(error)}"
        return _retry(reason, None, "down")
    if status is None:
        return _retry("no response", None, "down")
    if 200 <= status < 300:
        return Outcome("done", f"HTTP {status}", host="up")
    wait = parse_retry_after(retry_after, now)
    if status >= 500:
        return _retry(f"HTTP {status}", wait, "down")
    if status in (401, 408, 429):
        return _retry(f"HTTP {status}", wait, "up")
    if status == 410:
        return Outcome("permanent", "HTTP 410: inbox gone", host="up")
    if status == 404:
        # This delivery fails; the follows stay (a proxy's brief 404 is not a verdict).
        return Outcome("permanent", "HTTP 404: inbox not found", host="up")
    if 300 <= status < 400:
        return Outcome("permanent", f"HTTP {status}: redirects are not followed", host="up")
    return Outcome("permanent", f"HTTP {status}", host="up")


def classify_fetch(
    status: int | None,
    error: BaseException | None,
    retry_after: str | None,
    attempts: int,
    now: datetime,
    rng: random.Random | None = None,
    *,
    max_attempts: int | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> Outcome:
    """Classify a failed fetch: ``status``/``error`` as kept by ``fetch.FetchError``.

    With neither, the document arrived but was refused by our own checks: permanent.
    """
    if error is None and (status is None or 200 <= status < 300):
        return Outcome("permanent", "the document was refused")
    if status == 401:
        return Outcome("permanent", "HTTP 401", host="up")
    return classify(
        status, error, retry_after, attempts, now, rng, max_attempts=max_attempts, policy=policy
    )
