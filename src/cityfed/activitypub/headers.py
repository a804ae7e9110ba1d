"""Small helpers both HTTP signature schemes need: header maps, authorities and HTTP dates."""

from __future__ import annotations

import calendar
import email.utils
import functools
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from cityfed.activitypub.sigerrors import SignatureError


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


_DEFAULT_PORTS = {"http": "80", "https": "443"}


def request_authority(scheme: str, netloc: str) -> str:
    """RFC 9110 §4.2.3 normalisation of a URL's authority: lower-case host, no userinfo, and
    no port when it is the scheme's default (what both schemes sign as Host / @authority)."""
    hostport = netloc.rpartition("@")[2]
    host, port = hostport, ""
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        host, port = hostport[: end + 1], hostport[end + 2 :]
    elif ":" in hostport:
        host, _, port = hostport.partition(":")
    host = host.lower()
    if port and port != _DEFAULT_PORTS.get(scheme.lower()):
        return f"{host}:{port}"
    return host


_IMF_FIXDATE_RE = re.compile(
    r"[A-Za-z]{3}, ([0-9]{2}) ([A-Za-z]{3}) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT"
)
_MONTHS = {
    name: i
    for i, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}


@functools.lru_cache(maxsize=1024)
def parse_http_date(value: str) -> int:
    """Parse an HTTP ``Date`` to a Unix timestamp; SignatureError if it is not a date.

    Cached: Date has one-second resolution, so under load most requests repeat a value.
    """
    value = value.strip()
    # Fast path for IMF-fixdate, which is what everyone sends; email.utils handles the
    # obsolete RFC 850 / asctime forms.
    m = _IMF_FIXDATE_RE.fullmatch(value)
    if m is not None:
        month = _MONTHS.get(m.group(2).lower())
        if month is not None:
            day, _, year, hour, minute, second = m.groups()
            return calendar.timegm(
                (int(year), month, int(day), int(hour), int(minute), int(second))
            )
    try:
        parsed = email.utils.parsedate_tz(value)
        if parsed is not None:
            return int(email.utils.mktime_tz(parsed))
    except (TypeError, ValueError, OverflowError):
        pass
    raise SignatureError("Date header is not a valid HTTP date")


def format_http_date(now: datetime | None = None) -> str:
    """RFC 7231 IMF-fixdate, e.g. ``Sun, 05 Jan 2014 21:31:40 GMT`` (locale-independent)."""
    return email.utils.formatdate(timestamp(now), usegmt=True)
