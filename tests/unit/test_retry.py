"""The delivery retry policy: one pure function, every rule pinned down here."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityfed.activitypub.headers import format_http_date
from cityfed.federation.netguard import BlockedAddressError
from cityfed.federation.retry import (
    BASE_DELAY,
    DEFAULT_MAX_ATTEMPTS,
    JITTER,
    MAX_DELAY,
    Outcome,
    PermanentError,
    backoff_delay,
    classify,
    parse_retry_after,
)

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
DAY = 86400.0


def rng() -> random.Random:
    return random.Random(1234)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_done(status: int) -> None:
    outcome = classify(status, None, None, 1, NOW, rng())
    assert outcome == Outcome("done", f"HTTP {status}", host="up")


@pytest.mark.parametrize("status", [404, 410])
def test_gone_is_permanent(status: int) -> None:
    outcome = classify(status, None, "60", 1, NOW, rng())
    assert outcome.kind == "permanent"
    assert ("gone" if status == 410 else "not found") in outcome.reason
    assert outcome.next_attempt_at is None
    assert outcome.host == "up"


@pytest.mark.parametrize("status", [400, 403, 405, 413, 415, 422, 451])
def test_other_4xx_are_permanent(status: int) -> None:
    outcome = classify(status, None, None, 1, NOW, rng())
    assert outcome.kind == "permanent"
    assert outcome.reason == f"HTTP {status}"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_permanent(status: int) -> None:
    assert classify(status, None, None, 1, NOW, rng()).kind == "permanent"


@pytest.mark.parametrize("status", [401, 408, 429])
def test_401_408_and_429_retry_and_host_counts_as_up(status: int) -> None:
    outcome = classify(status, None, None, 1, NOW, rng())
    assert outcome.kind == "retry"
    assert outcome.host == "up"  # a rate limit is no reason to open the circuit


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_5xx_retry_and_host_counts_as_down(status: int) -> None:
    outcome = classify(status, None, None, 3, NOW, rng())
    assert outcome.kind == "retry"
    assert outcome.host == "down"
    assert outcome.reason == f"HTTP {status}"
    assert outcome.delay is not None
    assert outcome.next_attempt_at == NOW + timedelta(seconds=outcome.delay)


@pytest.mark.parametrize(
    ("error", "word"),
    [
        (TimeoutError(), "timeout"),
        (aiohttp.ServerTimeoutError("read"), "timeout"),
        (ConnectionRefusedError(111, "refused"), "network error"),
        (aiohttp.ServerDisconnectedError(), "network error"),
        (aiohttp.ClientPayloadError("bad"), "network error"),
    ],
)
def test_network_errors_retry(error: BaseException, word: str) -> None:
    outcome = classify(None, error, None, 1, NOW, rng())
    assert outcome.kind == "retry"
    assert outcome.reason.startswith(word)
    assert outcome.host == "down"


@pytest.mark.parametrize(
    "error",
    [
        BlockedAddressError("10.0.0.1 is not a public address"),
        aiohttp.InvalidURL("http://"),
        PermanentError("the sender has no signing key"),
    ],
)
def test_unusable_targets_are_permanent_and_do_not_touch_the_circuit(error: Exception) -> None:
    outcome = classify(None, error, None, 1, NOW, rng())
    assert outcome.kind == "permanent"
    assert outcome.host is None
    assert type(error).__name__ in outcome.reason


def test_no_status_and_no_error_is_a_retry() -> None:
    assert classify(None, None, None, 1, NOW, rng()).kind == "retry"


def test_last_attempt_is_dead() -> None:
    assert classify(503, None, None, DEFAULT_MAX_ATTEMPTS - 1, NOW, rng()).kind == "retry"
    dead = classify(503, None, None, DEFAULT_MAX_ATTEMPTS, NOW, rng())
    assert dead.kind == "dead"
    assert dead.next_attempt_at is None
    assert "HTTP 503" in dead.reason and str(DEFAULT_MAX_ATTEMPTS) in dead.reason


def test_max_attempts_is_configurable() -> None:
    assert classify(None, TimeoutError(), None, 3, NOW, rng(), max_attempts=3).kind == "dead"
    assert classify(None, TimeoutError(), None, 2, NOW, rng(), max_attempts=3).kind == "retry"


def test_success_and_permanent_failure_ignore_the_attempt_budget() -> None:
    assert classify(202, None, None, 99, NOW, rng()).kind == "done"
    assert classify(410, None, None, 99, NOW, rng()).kind == "permanent"


def test_first_retry_waits_about_the_base_delay() -> None:
    outcome = classify(503, None, None, 1, NOW, rng())
    assert outcome.delay is not None
    assert BASE_DELAY * (1 - JITTER) <= outcome.delay <= BASE_DELAY * (1 + JITTER)


def test_retry_after_seconds_is_honoured() -> None:
    outcome = classify(429, None, "120", 1, NOW, rng())
    assert outcome.delay == 120.0
    assert outcome.next_attempt_at == NOW + timedelta(seconds=120)


def test_retry_after_http_date_is_honoured() -> None:
    header = format_http_date(NOW + timedelta(minutes=10))
    outcome = classify(503, None, header, 1, NOW, rng())
    assert outcome.delay == 600.0


def test_retry_after_never_shortens_our_own_backoff() -> None:
    outcome = classify(503, None, "1", 10, NOW, rng())
    assert outcome.delay is not None and outcome.delay > BASE_DELAY * 2**8


def test_retry_after_is_ignored_on_success_and_permanent_failure() -> None:
    assert classify(202, None, "600", 1, NOW, rng()).next_attempt_at is None
    assert classify(403, None, "600", 1, NOW, rng()).next_attempt_at is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("0", 1.0),
        ("7", 7.0),
        (" 30 ", 30.0),
        ("999999999", MAX_DELAY),
        ("Sat, 01 Mar 2025 12:00:30 GMT", 30.0),
        ("Saturday, 01-Mar-25 12:01:00 GMT", 60.0),  # RFC 850, obsolete but allowed
        ("Sat Mar  1 12:02:00 2025", 120.0),  # asctime
        ("Fri, 28 Feb 2025 12:00:00 GMT", 1.0),  # in the past
        ("Sat, 08 Mar 2025 12:00:00 GMT", MAX_DELAY),  # a week away
        ("Sat, 99 Foo 2025 12:00:00 GMT", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


def test_backoff_doubles_then_caps() -> None:
    still = random.Random(0)
    still.uniform = lambda a, b: 1.0  # type: ignore[method-assign]
    delays = [backoff_delay(n, still) for n in range(1, 20)]
    assert delays[:4] == [BASE_DELAY, 2 * BASE_DELAY, 4 * BASE_DELAY, 8 * BASE_DELAY]
    assert max(delays) == MAX_DELAY
    assert delays[-1] == MAX_DELAY
    assert backoff_delay(10_000, still) == MAX_DELAY  # no overflow


def test_backoff_jitter_spreads_a_fan_out() -> None:
    generator = random.Random(7)
    delays = {round(backoff_delay(5, generator), 3) for _ in range(50)}
    assert len(delays) > 40


def schedule(seed: int, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> tuple[list[float], Outcome]:
    """Fail every attempt with a 503 until the row dies; the delays between attempts."""
    generator = random.Random(seed)
    now, delays = NOW, []
    for attempt in range(1, max_attempts + 1):
        outcome = classify(503, None, None, attempt, now, generator, max_attempts=max_attempts)
        if outcome.kind != "retry":
            return delays, outcome
        assert outcome.delay is not None and outcome.next_attempt_at is not None
        delays.append(outcome.delay)
        now = outcome.next_attempt_at
    raise AssertionError("never gave up")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_schedule_properties(seed: int) -> None:
    delays, last = schedule(seed)
    assert last.kind == "dead"
    assert len(delays) == DEFAULT_MAX_ATTEMPTS - 1  # 16 attempts, 15 waits
    assert all(d >= 1.0 for d in delays)  # never negative, never a hot loop
    assert all(d <= MAX_DELAY for d in delays)
    assert 2 * DAY <= sum(delays) <= 4 * DAY
    # Monotone-ish: jitter may reorder neighbours a little, never by more than its band allows...
    band = (1 - JITTER) / (1 + JITTER)
    assert all(later >= earlier * band for earlier, later in itertools.pairwise(delays))
    # ...and every two steps the delay has grown (or reached the cap's jitter band).
    for earlier, later in zip(delays, delays[2:], strict=False):
        assert later > earlier or later >= MAX_DELAY * (1 - JITTER)


@settings(max_examples=200, deadline=None)
@given(
    status=st.one_of(st.none(), st.integers(min_value=100, max_value=599)),
    attempts=st.integers(min_value=0, max_value=100),
    retry_after=st.one_of(st.none(), st.text(max_size=40), st.integers(-10, 10**9).map(str)),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_classify_is_total_and_sane(
    status: int | None, attempts: int, retry_after: str | None, seed: int
) -> None:
    outcome = classify(status, None, retry_after, attempts, NOW, random.Random(seed))
    assert outcome.kind in {"done", "retry", "permanent", "dead"}
    if outcome.kind == "retry":
        assert outcome.delay is not None and 1.0 <= outcome.delay <= MAX_DELAY
        assert outcome.next_attempt_at is not None and outcome.next_attempt_at > NOW
    else:
        assert outcome.next_attempt_at is None


# -- classify_fetch: the same rules for a GET an inbox item needs --------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_fetch_passing_statuses_are_retried(status: int) -> None:
    from cityfed.federation.retry import classify_fetch

    outcome = classify_fetch(status, None, None, 1, NOW, rng(), max_attempts=8)
    assert outcome.kind == "retry" and outcome.next_attempt_at is not None
    assert outcome.next_attempt_at >= NOW + timedelta(seconds=BASE_DELAY * (1 - JITTER))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 451, 301])
def test_fetch_other_4xx_are_final(status: int) -> None:
    from cityfed.federation.retry import classify_fetch

    assert classify_fetch(status, None, None, 1, NOW, rng()).kind == "permanent"


@pytest.mark.parametrize(
    "error",
    [TimeoutError(), aiohttp.ClientConnectionError("refused"), ConnectionRefusedError()],
)
def test_fetch_network_errors_are_retried_until_the_last_attempt(error: BaseException) -> None:
    from cityfed.federation.retry import classify_fetch

    assert classify_fetch(None, error, None, 1, NOW, rng(), max_attempts=8).kind == "retry"
    assert classify_fetch(None, error, None, 8, NOW, rng(), max_attempts=8).kind == "dead"


def test_fetch_of_a_refused_document_or_address_is_final() -> None:
    from cityfed.federation.retry import classify_fetch

    # Too large, not JSON, wrong id: the document came and we refused it (status 200 or none).
    assert classify_fetch(None, None, None, 1, NOW, rng()).kind == "permanent"
    assert classify_fetch(200, None, None, 1, NOW, rng()).kind == "permanent"
    blocked = BlockedAddressError("10.0.0.1 is not a public address")
    assert classify_fetch(None, blocked, None, 1, NOW, rng()).kind == "permanent"


def test_fetch_retry_after_is_honoured() -> None:
    from cityfed.federation.retry import classify_fetch

    outcome = classify_fetch(503, None, "3600", 1, NOW, rng())
    assert outcome.delay is not None and outcome.delay >= 3600
