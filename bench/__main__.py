"""Run the benchmarks: ``python -m bench [verify|inbox|fanout|read|memory|media|search|
instructions ...]`` (all but ``instructions`` by default).

Each benchmark prints what it measured and ends with ``BENCH name=... value=... unit=...
baseline=... ratio=...`` lines; all of them are repeated at the end. Sizes scale with
CITYFED_BENCH_SCALE (1 = the issue's sizes); PostgreSQL variants run when
CITYFED_BENCH_DATABASE_URL (or CITYFED_TEST_DATABASE_URL) names a PostgreSQL server.
See bench/README.md.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable


def _benchmarks() -> dict[str, Callable[[], Awaitable[list[str]]]]:
    from bench import fanout, inbox, instructions, media, readpath, search, verification

    async def media_run() -> list[str]:
        # Image processing is CPU work with no event loop of its own: run it in a thread.
        return await asyncio.to_thread(media.main)

    return {
        "verify": verification.run,
        "inbox": inbox.run,
        "fanout": fanout.run,
        "read": readpath.run,  # ends with the memory benchmark, on the same node
        "media": media_run,
        "search": search.run,
        # Only when asked for: needs valgrind and takes minutes (bench/instructions.py).
        "instructions": instructions.run,
    }


OPT_IN = frozenset({"instructions"})


def main(argv: list[str]) -> int:
    from bench import common

    benchmarks = _benchmarks()
    wanted = [("read" if name == "memory" else name) for name in argv] or [
        name for name in benchmarks if name not in OPT_IN
    ]
    unknown = [name for name in wanted if name not in benchmarks]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {[*benchmarks, 'memory']}")
        return 2
    print(
        f"cityfed benchmarks: scale {common.scale()}, cores {common.cores()} (server pinned to "
        f"{common.server_core()}, load to {common.client_core()}), load average "
        f"{os.getloadavg()[0]:.1f}, PostgreSQL {'yes' if common.pg_base_url() else 'no'}",
        flush=True,
    )
    lines: list[str] = []
    failed = []
    started = time.monotonic()
    for name in dict.fromkeys(wanted):
        print(f"== {name}", flush=True)
        began = time.monotonic()
        try:
            lines += asyncio.run(benchmarks[name]())
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"   ({name}: {time.monotonic() - began:.0f} s)", flush=True)
    print(f"== summary ({time.monotonic() - started:.0f} s)", flush=True)
    for line in lines:
        print(line)
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
