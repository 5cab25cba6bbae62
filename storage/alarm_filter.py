"""Which alarms a table shows: the level's UPS or string, one kind, a time range.

One rule for both places an alarm can be: the stored rows (`sql`) and the alarms the
AlarmManager announced but has not stored yet (`matches`, web/live_alarms.py). The time range
selects the alarms that were active at some moment in it: raised before its end and not
cleared before its start, so an alarm raised yesterday and still active is in today's range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AlarmFilter:
    ups_id: str | None = None
    string_id: str | None = None
    kind: str | None = None
    since: float | None = None  # the range's start (Unix time)
    until: float | None = None  # the range's end

    def sql(self, active_only: bool = False) -> tuple[str, list]:
        """(" WHERE ...", parameters), ("", []) for no condition. Column names are constants."""
        conditions: list[str] = []
        args: list = []
        for column, value in (("ups_id", self.ups_id), ("string_id", self.string_id), ("kind", self.kind)):
            if value is not None:
                conditions.append(f"{column} = ?")
                args.append(value)
        if self.until is not None:
            conditions.append("from_time <= ?")
            args.append(self.until)
        if self.since is not None:
            conditions.append("(to_time IS NULL OR to_time >= ?)")
            args.append(self.since)
        if active_only:
            conditions.append("to_time IS NULL")
        return (" WHERE " + " AND ".join(conditions)) if conditions else "", args

    def matches(self, record: Any) -> bool:
        """The same rule for an AlarmRecord (storage/alarm_store.py) held in memory."""
        return (
            (self.ups_id is None or record.ups_id == self.ups_id)
            and (self.string_id is None or record.string_id == self.string_id)
            and (self.kind is None or record.kind == self.kind)
            and (self.until is None or record.from_time <= self.until)
            and (self.since is None or record.to_time is None or record.to_time >= self.since)
        )
