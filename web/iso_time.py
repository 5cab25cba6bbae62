"""The one way the API writes a time: ISO 8601 in UTC with milliseconds, e.g. 2026-12-03T09:15:00.000+00:00."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")
