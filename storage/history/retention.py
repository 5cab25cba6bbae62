"""What to delete, and when: retention by age and the disk-space floor, as pure decisions.

Deleting is unlinking whole files (a hot day, a cold month), which writes nothing and never
holds the writer's lock; only discharge events are deleted row by row (few, small, indexed).
"Today" is the day of the newest sample, so accelerated-time tests and a gateway whose clock
jumps behave the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.history.schema import DAY_S, month_first_day, month_last_day


@dataclass(frozen=True)
class RetentionPolicy:
    retention_days: int = 365  # samples older than this are deleted
    hot_days: int = 2  # full-resolution hot files kept after compaction (today included)
    min_free_mb: int = 1024  # below this free space, the oldest data goes first
    compaction_grace_s: int = 300  # a day is compacted this long after it ends (late scans)

    def __post_init__(self) -> None:
        if self.retention_days < 1:
            raise ValueError(f"retention_days must be >= 1, got {self.retention_days}")
        if self.hot_days < 1:
            raise ValueError(f"hot_days must be >= 1, got {self.hot_days}")
        if self.min_free_mb < 0:
            raise ValueError(f"min_free_mb must be >= 0, got {self.min_free_mb}")


def oldest_kept_day(today: int, policy: RetentionPolicy) -> int:
    return today - policy.retention_days + 1


def days_to_compact(hot_days: list[int], compacted: set[int], newest_ts: float, policy: RetentionPolicy) -> list[int]:
    """Hot days that are over (plus the grace for late scans) and not compacted yet."""
    return [d for d in hot_days if d not in compacted and newest_ts >= (d + 1) * DAY_S + policy.compaction_grace_s]


def hot_days_to_delete(hot_days: list[int], compacted: set[int], today: int, policy: RetentionPolicy) -> list[int]:
    """Compacted hot days older than the hot window, and any day past retention."""
    keep_from = today - policy.hot_days + 1
    first = oldest_kept_day(today, policy)
    return [d for d in hot_days if (d < keep_from and d in compacted) or d < first]


def months_to_delete(months: list[str], today: int, policy: RetentionPolicy) -> list[str]:
    """Cold months whose every day is past retention."""
    first = oldest_kept_day(today, policy)
    return [m for m in months if month_last_day(m) < first]


def space_victim(hot_days: list[int], months: list[str], today: int) -> tuple[str, int | str] | None:
    """The oldest deletable unit when space runs out: a cold month or a hot day, never today's."""
    candidates: list[tuple[int, tuple[str, int | str]]] = []
    candidates += [(month_first_day(m), ("cold", m)) for m in months if month_last_day(m) < today]
    candidates += [(d, ("hot", d)) for d in hot_days if d < today]
    return min(candidates)[1] if candidates else None
