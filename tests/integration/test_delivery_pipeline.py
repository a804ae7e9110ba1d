"""The delivery pipeline: batched recording, leases taken while outcomes wait, summary lines.

Same rig as test_delivery.py (a real node, loopback sinks that verify every signature).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from cityfed.federation import delivery
from cityfed.federation.delivery import DeliveryWorker
from cityfed.models.tables import Delivery
from cityfed.models.types import utcnow
from tests.integration import test_delivery
from tests.integration.test_delivery import deliveries, send

sinks = test_delivery.sinks  # the fixture, shared with test_delivery.py

SUMMARY = re.compile(r"activity (\d+) \((\S+)\): delivered to (\d+) inbox\(es\)")


def delivered_in(caplog: pytest.LogCaptureFixture) -> Counter[int]:
    """Per activity id, the sum of the summary lines' counts."""
    total: Counter[int] = Counter()
    for record in caplog.records:
        match = SUMMARY.match(record.getMessage())
        if match:
            total[int(match[1])] += int(match[3])
    return total


async def test_one_flush_records_every_outcome_exactly(
    nodes: Callable[..., Any], sinks: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    tn = await nodes("berlin")
    ok, down, bad = await sinks(), await sinks(default=503), await sinks(default=400)
    ok.script("/a", 200)  # two successes with different statuses: two grouped statements
    inboxes = [ok.url("/a"), ok.url("/b"), down.url("/inbox"), bad.url("/inbox")]
    activity = await send(tn, inboxes)
    caplog.set_level(logging.INFO, logger="cityfed.delivery")
    assert await DeliveryWorker(tn.node).run_once() == 4

    rows = {r.inbox: r for r in await deliveries(tn)}
    got = {
        inbox: (r.state, r.attempts, r.last_status, r.locked_until is None)
        for inbox, r in rows.items()
    }
    assert got == {
        ok.url("/a"): ("done", 1, 200, True),
        ok.url("/b"): ("done", 1, 202, True),
        down.url("/inbox"): ("retry", 1, 503, True),
        bad.url("/inbox"): ("failed", 1, 400, True),
    }
    assert all(r.finished_at is not None for r in rows.values() if r.state != "retry")
    assert rows[down.url("/inbox")].next_attempt_at > utcnow()
    assert "HTTP 400" in (rows[bad.url("/inbox")].last_error or "")

    messages = [record.getMessage() for record in caplog.records]
    # Successes are summed up per activity; failures keep a line each.
    assert [m for m in messages if m.startswith(f"activity {activity.id} ")] == [
        f"activity {activity.id} ({activity.ap_id}): delivered to 2 inbox(es), 2 so far, "
        "1 retry, 1 failed"
    ]
    assert not [m for m in messages if ": delivered, " in m]
    assert any(": retry at " in m and down.url("/inbox") in m for m in messages)
    assert any(": failed permanently, " in m and bad.url("/inbox") in m for m in messages)


@pytest.mark.parametrize("flush_waves", [1, 1000], ids=["small-flushes", "flush-at-the-end"])
async def test_leases_taken_while_outcomes_wait_send_each_row_once(
    nodes: Callable[..., Any],
    sinks: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    flush_waves: int,
) -> None:
    """Rows finished but not yet recorded stay leased: a refill never takes them again."""
    # Leases of 8 rows, refilled while up to 8 are held; with 1000 waves the outcomes are only
    # written when the pipeline runs dry, so every later lease is taken while they wait.
    monkeypatch.setattr(delivery, "FLUSH_WAVES", flush_waves)
    monkeypatch.setattr(delivery, "FLUSH_SECONDS", 60.0)
    tn = await nodes("berlin", delivery_concurrency=4, delivery_per_host=2)
    worker = DeliveryWorker(tn.node)
    assert worker.batch_size == 16
    hosts = [await sinks(delay=0.005) for _ in range(12)]
    sent = [await send(tn, [h.url("/inbox") for h in hosts], text=f"n{i}") for i in range(6)]
    caplog.set_level(logging.INFO, logger="cityfed.delivery")

    task = asyncio.create_task(worker.run())
    try:
        for _ in range(200):
            rows = await deliveries(tn)
            if all(r.state == "done" for r in rows):
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    rows = await deliveries(tn)
    assert len(rows) == 72 and {(r.state, r.attempts) for r in rows} == {("done", 1)}
    assert all(r.locked_until is None for r in rows)
    expected = Counter(a.body for a in sent)
    for host in hosts:
        assert Counter(host.bodies()) == expected  # each activity exactly once
        assert all(r.signature_error is None for r in host.received)
        assert host.max_in_flight <= 2
    assert delivered_in(caplog) == {a.id: 12 for a in sent}


async def test_an_outcome_whose_lease_was_taken_over_is_not_recorded(
    nodes: Callable[..., Any], sinks: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    tn = await nodes("berlin")
    sink = await sinks(release=asyncio.Event())
    await send(tn, [sink.url("/inbox")])
    caplog.set_level(logging.INFO, logger="cityfed.delivery")
    running = asyncio.create_task(DeliveryWorker(tn.node).run_once())
    await asyncio.wait_for(sink.arrived.wait(), 5)
    # Meanwhile the lease expired and another worker leased the row again.
    theirs = utcnow() + timedelta(minutes=5)
    async with tn.node.db.transaction() as session:
        await session.execute(update(Delivery).values(locked_until=theirs, attempts=2))
    assert sink.release is not None
    sink.release.set()
    assert await running == 1

    [row] = await deliveries(tn)
    assert (row.state, row.attempts, row.locked_until) == ("pending", 2, theirs)
    assert any("not recorded" in record.getMessage() for record in caplog.records)
