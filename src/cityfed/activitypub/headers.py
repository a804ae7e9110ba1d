"""Small helpers both HTTP signature schemes need: header maps and clocks."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy ``headers`` into a dict keyed by lower-cased name.

    Works for plain dicts of any casing and for multi-dicts (aiohttp's CIMultiDictProxy yields
    every value from ``items()``): repeated headers are joined with ", " as both specs prescribe.
    One pass over ~15 headers is cheaper than case-folding on every lookup.
    """
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        prev = out.get(key)
        out[key] = value if prev is None else f"{prev}, {value}"
    return out


def timestamp(now: datetime | None) -> float:
    """``now`` (or the current time) as a POSIX timestamp; naive datetimes are taken as UTC,
    since guessing the local zone would silently skew every freshness check."""
    if now is None:
        return time.time()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.timestamp()
