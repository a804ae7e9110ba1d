"""Streaming latency (issue 17.3): how long a newly published project takes to reach a client
connected to ``/api/v1/streaming`` (WebSocket, ``public:local``).

``python -m bench.streaming``: one node from the test rig (SQLite, or PostgreSQL through
CITYFED_TEST_DATABASE_URL, where the event travels by NOTIFY), ``CITYFED_BENCH_SCALE`` x 30
projects published through the REST API one after the other; for each, the time from sending
the request to the update arriving, and from the API's answer (the commit is done) to the update.
The baseline is the issue's bound, 2 s; the test suite only checks that the update arrives.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import orjson

from bench import common


async def run() -> list[str]:
    from tests.rig import running_node

    count = common.scaled(30)
    from_request: list[float] = []
    from_answer: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with running_node(Path(tmp), "bench") as node:
            url = node.base.replace("http://", "ws://") + "/api/v1/streaming?stream=public:local"
            async with node.http.ws_connect(url) as ws:
                for n in range(count):
                    body = {"title": f"Project {n}", "phase": "idea", "tags": ["Bench"]}
                    started = time.perf_counter()
                    made = await node.api("POST", "/projects", json=body, status=201)
                    answered = time.perf_counter()
                    message = await asyncio.wait_for(ws.receive_json(), 30)
                    arrived = time.perf_counter()
                    assert orjson.loads(message["payload"])["uri"] == made["id"]
                    from_request.append((arrived - started) * 1000)
                    from_answer.append((arrived - answered) * 1000)
            dialect = node.node.db.dialect
    common.say(f"{count} projects on {dialect}; ms from request / from the API's answer:")
    for name, values in (("request", from_request), ("answer", from_answer)):
        common.say(
            f"  {name}: p50 {common.percentile(values, 50):.1f}  "
            f"p95 {common.percentile(values, 95):.1f}  max {max(values):.1f}"
        )
    return [
        common.bench_line(
            f"streaming_{dialect}_p95_ms", common.percentile(from_request, 95), "ms", 2000
        )
    ]


if __name__ == "__main__":
    asyncio.run(run())
