"""The alarms that are active now, as the Modbus server and the SNMP agent serve them.

ONE place decides what an AlarmNotice does to the active-alarm table that each server's
ServedSite (battery/served_site.py) keeps, so the servers cannot disagree: an alarm is active
while it has no end time (`to_time is None`) and its last notice was not "cleared"/"closed".
Acknowledging an alarm that already cleared must not bring it back (the notice carries its end
time), and "active" is the state sync a (re)subscribing server receives for alarms raised
before it listened: it fills the table but is no news, so no trap/inform is sent for it
(`notifies`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from battery.alarms.records import AlarmNotice

ENDING_EVENTS = frozenset({"cleared", "closed"})
KNOWN_EVENTS = frozenset({"raised", "cleared", "acknowledged", "closed", "active"})
NOTIFIED_EVENTS = frozenset({"raised", "cleared"})  # what a trap/inform is sent for


def is_active(notice: AlarmNotice) -> bool:
    """Whether the alarm this notice describes is active now."""
    if notice.event not in KNOWN_EVENTS:
        raise ValueError(f"alarm {notice.alarm_id}: unknown AlarmNotice event {notice.event!r}")
    return notice.event not in ENDING_EVENTS and notice.to_time is None


def notifies(notice: AlarmNotice) -> bool:
    """Whether this notice is news a network manager gets a trap/inform for."""
    return notice.event in NOTIFIED_EVENTS


class ActiveAlarms:
    """Active alarms by alarm id, with the latest notice of each (kind, place, acknowledgement)."""

    def __init__(self) -> None:
        self._by_id: dict[int, AlarmNotice] = {}

    def apply(self, notice: AlarmNotice) -> bool:
        """Take a notice; True when the active table changed (an alarm added, updated or removed)."""
        if is_active(notice):
            changed = self._by_id.get(notice.alarm_id) != notice
            self._by_id[notice.alarm_id] = notice
            return changed
        return self._by_id.pop(notice.alarm_id, None) is not None

    @property
    def by_id(self) -> Mapping[int, AlarmNotice]:
        return self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, alarm_id: object) -> bool:
        return alarm_id in self._by_id

    def __iter__(self) -> Iterator[AlarmNotice]:
        """The active alarms in alarm-id order."""
        return iter([self._by_id[i] for i in sorted(self._by_id)])

    @property
    def unacknowledged_count(self) -> int:
        return sum(1 for a in self._by_id.values() if a.acknowledged_at is None)

    def counts(self) -> tuple[int, int]:
        """(active, unacknowledged)."""
        return len(self._by_id), self.unacknowledged_count

    def of_string(self, string_id: str) -> list[AlarmNotice]:
        """The active alarms of one string (its own and its cells'), in alarm-id order."""
        return [a for a in self if a.string_id == string_id]
