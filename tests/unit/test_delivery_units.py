"""Pure parts of the delivery worker: the per-activity signing shortcut, the circuit breaker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cityfed.activitypub import cavage
from cityfed.activitypub.digest import digest_header
from cityfed.activitypub.headers import format_http_date
from cityfed.federation.circuit import (
    CIRCUIT_THRESHOLD,
    Breaker,
    CircuitState,
    Decision,
    HostWindow,
    decide,
    state_of,
)
from cityfed.federation.delivery_lease import Payload
from cityfed.federation.delivery_send import sign_headers
from cityfed.keys.generate import load_private_pem
from cityfed.keys.store import SigningKey
from tests import rig

KEY_ID = "https://berlin.example/actors/city#main-key"


def test_sign_headers_are_what_sign_request_makes() -> None:
    """The Digest computed once per activity changes nothing on the wire."""
    private = load_private_pem(rig.test_keys()[0].private_pem)
    key = SigningKey(KEY_ID, "rsa", private)
    body = b'{"id": "https://berlin.example/activities/1", "type": "Create"}'
    payload = Payload("https://berlin.example/activities/1", body, digest_header(body))
    when = datetime(2026, 1, 5, 21, 31, 40, tzinfo=UTC)
    for inbox in (
        "https://social.example/users/anna/inbox",
        "http://127.0.0.1:8080/inbox?x=1",
        "https://Social.Example:443/inbox",
    ):
        expected = cavage.sign_request(
            "POST",
            inbox,
            private,  # type: ignore[arg-type]
            KEY_ID,
            body=body,
            headers={"Content-Type": "application/activity+json"},
            now=when,
        )
        assert sign_headers(inbox, key, payload, format_http_date(when)) == expected


async def test_a_host_report_covers_each_answer_once() -> None:
    host = HostWindow.leased(asyncio.Semaphore(1), failures=3)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert host.take_report() is None  # nothing seen yet
    host.observe("down", at)
    host.observe("down", at)
    first = host.take_report()
    assert first is not None and (first.saw_up, first.downs) == (False, 2)
    # Written with the first report: a second one starts from nothing...
    assert host.take_report() is None
    # ...while the sending side still knows the host is failing.
    assert (host.breaker.failures, host.breaker.decide()) == (5, Decision.HOLD)
    host.observe("up", at)
    host.observe("down", at)
    second = host.take_report()
    assert second is not None and (second.saw_up, second.downs) == (True, 1)
    assert second.last_success_at == at and second.last_failure_at == at
    assert (host.breaker.failures, host.breaker.state) == (1, CircuitState.CLOSED)


@given(st.integers(0, 12), st.lists(st.sampled_from(["up", "down", None]), max_size=30))
def test_breaker_decides_as_the_counters_did(failures: int, answers: list[str | None]) -> None:
    """The state machine holds exactly the rows the former counters held: once the failures
    reach the threshold and at least one of them was seen while sending (a circuit half-open at
    lease time lets probes through until the first failure)."""
    breaker = Breaker.at_lease(failures)
    downs_since_up = 0
    for answer in answers:
        tripped = failures >= CIRCUIT_THRESHOLD
        held = tripped and downs_since_up > 0
        assert (breaker.decide() is Decision.HOLD) == held
        assert (breaker.state is CircuitState.OPEN) == held
        if held:
            break  # a held row is not sent: nothing more is observed
        breaker.observe(answer)  # type: ignore[arg-type]
        if answer == "up":
            failures = downs_since_up = 0
        elif answer == "down":
            failures += 1
            downs_since_up += 1
        assert breaker.failures == failures


def test_circuit_states_from_the_peers_row() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert state_of(0, None, now) is CircuitState.CLOSED
    assert state_of(CIRCUIT_THRESHOLD, now + timedelta(seconds=1), now) is CircuitState.OPEN
    assert state_of(CIRCUIT_THRESHOLD, now, now) is CircuitState.HALF_OPEN
    assert state_of(0, None, now, unavailable=True) is CircuitState.OPEN
    assert decide(CircuitState.HALF_OPEN) is Decision.SEND
    assert decide(CircuitState.OPEN) is Decision.HOLD
    assert decide(CircuitState.CLOSED, blocked=True) is Decision.DROP
