"""The live alarm state of the AlarmManager: what is active now, held in memory.

The siren, the switch-offs, the notices to the notifier and to the web, Modbus and SNMP
servers all follow this table, never the database: an alarm raised while the disk is full is
as active as any other. settings.db gets every change afterwards, in order, when it can
(pending_writes.py); at start-up the table is loaded from it.

Alarm numbers are given here, continuing after the highest number the database holds.
"""

from __future__ import annotations

from dataclasses import replace

from battery.alarms.lifecycle import AlarmKey, key_of
from battery.alarms.records import AlarmCleared, AlarmRaised
from storage.alarm_store import AlarmRecord

CLEARED = "cleared"


class LiveAlarms:
    """Active alarms by identity; at most one active alarm per (kind, detail, UPS, string, cell)."""

    def __init__(self, active: list[AlarmRecord], next_id: int) -> None:
        self._by_key: dict[AlarmKey, AlarmRecord] = {r.key: r for r in active}
        self._next_id = max([next_id, *(r.id + 1 for r in active)])

    def raised(self, e: AlarmRaised) -> tuple[AlarmRecord, bool]:
        """The active alarm for this raise and whether it is new (a repeated raise is the same alarm)."""
        key = key_of(e)
        found = self._by_key.get(key)
        if found is not None:
            return found, False
        rec = AlarmRecord(
            id=self._next_id,
            kind=str(e.kind),
            detail=e.detail or "",
            ups_id=e.ups_id,
            string_id=e.string_id,
            cell_index=e.cell_index,
            value=e.value,
            limit=e.limit,
            from_time=e.time,
            to_time=None,
            clear_value=None,
            close_reason=None,
            acknowledged_by=None,
            acknowledged_at=None,
        )
        self._next_id += 1
        self._by_key[key] = rec
        return rec, True

    def cleared(self, e: AlarmCleared) -> AlarmRecord | None:
        """The alarm this clear ends, now gone; None when none was active (a clear after a restart's close)."""
        return self.close(key_of(e), e.time, e.value, CLEARED)

    def close(self, key: AlarmKey, time: float, value: float | None, reason: str) -> AlarmRecord | None:
        rec = self._by_key.pop(key, None)
        if rec is None:
            return None
        return replace(rec, to_time=time, clear_value=value, close_reason=reason)

    def acknowledged(self, alarm_id: int, who: str, time: float) -> AlarmRecord | None:
        """The active alarm `alarm_id` with its first acknowledgement; None when it is not active."""
        rec = self.by_id(alarm_id)
        if rec is None or rec.acknowledged_by is not None:
            return rec
        acked = replace(rec, acknowledged_by=who, acknowledged_at=time)
        self._by_key[rec.key] = acked
        return acked

    def by_id(self, alarm_id: int) -> AlarmRecord | None:
        return next((r for r in self._by_key.values() if r.id == alarm_id), None)

    def active(self) -> list[AlarmRecord]:
        """In alarm-number order."""
        return sorted(self._by_key.values(), key=lambda r: r.id)

    def keys(self) -> set[AlarmKey]:
        return set(self._by_key)

    def unacknowledged(self) -> int:
        return sum(1 for r in self._by_key.values() if r.acknowledged_by is None)
