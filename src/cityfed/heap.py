"""Garbage-collector and allocator settings for the long-running processes (serve, worker).

Everything built at start (modules, the app, its routes and templates, SQLAlchemy's mappers)
lives as long as the process, yet CPython's collector would walk it on every full collection:
with the inbox under load those walks were its slowest moments (about twice the maximum latency
of a frozen heap; figures in bench/README.md). ``settle()`` moves what exists at start out of
the collector's sight and lets the youngest generation grow larger before it is collected, as a
request allocates a few hundred objects (a parsed activity alone is dozens).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging

log = logging.getLogger("cityfed.heap")

# glibc serves allocations above this many bytes with their own mmap, returned on free. Left
# alone it raises the threshold up to 32 MiB after the first big free, and every later 1 MiB
# body then lands in the heap, which does not shrink: 987 bodies of 1 MiB took RSS from 125 to
# 726 MiB and it stayed there (issue 14 item 8). Fixed, a burst of big bodies comes back.
MMAP_THRESHOLD = 256 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)

# Collect the youngest generation after this many net allocations (CPython's default is 700).
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Call once, after start-up work and before serving."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def trim() -> None:
    """Hand free heap memory back to the system (after a burst; cheap when there is none)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """glibc, or None where there is none (musl, macOS): then nothing is tuned."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both are glibc's
    except (OSError, AttributeError):
        return None
    return libc
