"""What the history writer reports about itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WriterStats:
    """What the writer did, for logs, the API and tests (a falling-behind writer is visible here)."""

    received: int
    committed: int
    dropped: int  # scans refused because the queue was full
    pending: int  # scans waiting for the next commit
    pending_high_water: int
    max_pending: int
    commits: int
    commit_p99_ms: float
    last_commit_ms: float
    compactions: int
    compaction_running: bool
    disk_alarm: bool
