"""Garbage-collector settings for the long-running processes (serve, worker).

Everything built at start (modules, the app, its routes and templates, SQLAlchemy's mappers)
lives as long as the process, yet CPython's collector would walk it on every full collection:
with the inbox under load those walks were its slowest moments (max latency 76-82 ms against
34-38 ms with the heap frozen, bench/README.md). ``settle()`` moves what exists at start out of
the collector's sight and lets the youngest generation grow larger before it is collected, as a
request allocates a few hundred objects (a parsed activity alone is dozens).
"""

from __future__ import annotations

import gc

# Collect the youngest generation after this many net allocations (CPython's default is 700).
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Call once, after start-up work and before serving."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
