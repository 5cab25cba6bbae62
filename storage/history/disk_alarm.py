"""What the history writer decides about its disk: the free-space floor crossed, or recovered."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HistoryDiskAlarm:
    """Historian -> alarm sink: free space fell under the floor (oldest data deleted) or recovered."""

    text: str  # what happened, for the log (not part of the alarm's identity)
    active: bool
    free_mb: float = 0.0  # free space on the storage disk when it was decided
    floor_mb: float = 0.0  # storage.min_free_mb
