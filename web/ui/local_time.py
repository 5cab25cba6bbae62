"""Times as the operator reads them: in the site's time zone, and in CSV files with their offset."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local_text(timestamp: float | None, zone: ZoneInfo) -> str:
    """'2026-12-02 23:15:02' in the site's zone; '' for no time."""
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, zone).strftime("%Y-%m-%d %H:%M:%S")


def local_iso(timestamp: float | None, zone: ZoneInfo) -> str:
    """'2026-12-02T23:15:02+01:00': local time with its offset, for CSV files and the API."""
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, zone).isoformat(timespec="seconds")


def duration_text(seconds: float | None) -> str:
    """'1:30:05' (hours:minutes:seconds); '' when unknown."""
    if seconds is None:
        return ""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
