"""ISO 8601 timestamps as the fediverse writes them (UTC, seconds, ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_datetime(value: datetime) -> str:
    """UTC with ``Z``; whole seconds unless the value has a fraction, which is kept so that two
    edits within one second still get strictly increasing ``updated`` times."""
    value = value.astimezone(UTC)
    spec = "microseconds" if value.microsecond else "seconds"
    return value.isoformat(timespec=spec).replace("+00:00", "Z")


def parse_datetime(value: str) -> datetime:
    """Parse ISO 8601 with ``Z`` or an offset; naive values are taken as UTC."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
