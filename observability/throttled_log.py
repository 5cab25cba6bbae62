"""A log event that may repeat thousands of times a second is written at most once per interval.

A flood of clients (or a process out of file descriptors) must not turn into a flood of log
lines: the first occurrence is logged at once, the repeats within the interval are only counted,
and the next line written says how many were left out (`suppressed=N`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_INTERVAL_S = 60.0


@dataclass
class _Window:
    level: str
    logged_at: float
    suppressed: int = 0


class ThrottledLog:
    """`log.error("event", k=v)` logs the event at most once per `interval_s` (per event text)."""

    def __init__(
        self, logger: Any, interval_s: float = DEFAULT_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self._windows: dict[str, _Window] = {}

    def error(self, event: str, **fields: Any) -> bool:
        return self._log("error", event, fields)

    def warning(self, event: str, **fields: Any) -> bool:
        return self._log("warning", event, fields)

    def info(self, event: str, **fields: Any) -> bool:
        return self._log("info", event, fields)

    def _log(self, level: str, event: str, fields: dict[str, Any]) -> bool:
        """True if this occurrence was written, False if it was only counted."""
        now = self.clock()
        window = self._windows.get(event)
        if window is not None and now - window.logged_at < self.interval_s:
            window.suppressed += 1
            return False
        if window is not None and window.suppressed:
            fields = {**fields, "suppressed": window.suppressed, "suppressed_over_s": round(now - window.logged_at, 1)}
        self._windows[event] = _Window(level=level, logged_at=now)
        getattr(self.logger, level)(event, **fields)
        return True

    def flush(self) -> None:
        """Say how many repeats were left out since the last line (at shutdown)."""
        now = self.clock()
        for event, window in self._windows.items():
            if window.suppressed:
                getattr(self.logger, window.level)(
                    event, suppressed=window.suppressed, suppressed_over_s=round(now - window.logged_at, 1)
                )
                window.suppressed = 0
