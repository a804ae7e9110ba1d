"""ISO 8601 timestamps as the fediverse writes them (UTC, seconds, ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: str) -> datetime:
    """Parse ISO 8601 with ``Z`` or an offset; naive values are taken as UTC."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
