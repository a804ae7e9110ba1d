"""When a domain becomes unavailable (federation/circuit.py ``_availability``), as a property.

Whatever the order of answers and failures and however they are batched into reports, a domain
is marked unavailable exactly when its failures, with no answer in between, span at least the
threshold; and any answer makes it available again.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cityfed.federation.circuit import HostWindow, _availability

START = datetime(2026, 1, 1, tzinfo=UTC)
THRESHOLD = timedelta(days=2)

# (hours since the previous event, the host answered?, write a report after this event?)
events = st.lists(
    st.tuples(st.integers(0, 30), st.booleans(), st.booleans()), min_size=1, max_size=40
)


@given(events)
def test_unavailable_exactly_when_failures_span_the_threshold(steps) -> None:
    window = HostWindow.leased(asyncio.Semaphore(1), 0)
    failing_since: datetime | None = None
    unavailable_since: datetime | None = None
    now = START
    streak_start: datetime | None = None  # the model: first failure since the last answer
    expected = False
    for hours, up, report_now in steps + [(0, False, True)][: 0 if steps[-1][2] else 1]:
        now += timedelta(hours=hours)
        if up:
            window.observe("up", now)
            streak_start, expected = None, False
        else:
            window.observe("down", now)
            streak_start = streak_start or now
            if now - streak_start >= THRESHOLD:
                expected = True
        if report_now:
            report = window.take_report()
            assert report is not None
            values = _availability(
                "peer.example", report, failing_since, unavailable_since, now, THRESHOLD
            )
            failing_since, unavailable_since = values["_failing"], values["_unavailable"]
            assert failing_since == streak_start
            assert (unavailable_since is not None) == expected
