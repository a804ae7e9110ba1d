"""The fan-out baseline: a bare aiohttp client loop that signs and POSTs one body to many inboxes.

No database and no bookkeeping: ``concurrency`` tasks take the next inbox, sign the request with
draft-cavage exactly as the delivery worker does (``cavage.sign_request``, RSA-2048, the body
serialised once), POST it through one shared ``ClientSession`` with the worker's connection
limits (``limit_per_host`` = the per-host limit) and read the answer. ``python -m
bench.fanout_client SPEC.json`` prints one JSON result line; bounded by the spec's deadline.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from cityfed import eventloop, heap
from cityfed.activitypub import cavage
from cityfed.keys.generate import load_private_pem


async def main(spec: dict[str, Any], body: bytes) -> dict[str, Any]:
    inboxes: list[str] = spec["inboxes"]
    key: Any = load_private_pem(spec["key_pem"])
    key_id: str = spec["key_id"]
    concurrency = int(spec["concurrency"])
    deadline = time.monotonic() + float(spec.get("max_seconds", 120))
    statuses: Counter[str] = Counter()
    pending = iter(inboxes)
    connector = aiohttp.TCPConnector(
        limit=max(100, concurrency * 2), limit_per_host=int(spec["per_host"])
    )
    timeout = aiohttp.ClientTimeout(total=10)
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=connector) as http:

        async def loop_one() -> None:
            for inbox in pending:
                if time.monotonic() > deadline:
                    statuses["unsent"] += 1
                    continue
                headers = cavage.sign_request(
                    "POST",
                    inbox,
                    key,
                    key_id,
                    body=body,
                    headers={"Content-Type": "application/activity+json"},
                )
                try:
                    async with http.post(
                        inbox, data=body, headers=headers, allow_redirects=False, timeout=timeout
                    ) as resp:
                        await resp.content.read(1024)
                        statuses[str(resp.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    statuses[type(exc).__name__] += 1

        await asyncio.gather(*(loop_one() for _ in range(concurrency)))
    return {"statuses": dict(statuses), "started": started, "elapsed": time.monotonic() - started}


if __name__ == "__main__":
    _spec = json.loads(Path(sys.argv[1]).read_text())
    heap.settle()
    result = eventloop.run(main(_spec, Path(_spec["body_file"]).read_bytes()))
    print(json.dumps(result), flush=True)
