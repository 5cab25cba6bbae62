"""An alarm's events as they travel: raised or cleared by the level that evaluated it, and the
notice the alarm manager publishes once it is numbered and stored.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AlarmRaised:
    """Up (cell sensor / string master / master controller -> gateway -> alarm manager)."""

    kind: str
    ups_id: str | None
    string_id: str | None
    cell_index: int | None  # 1-based, None for string/UPS/site alarms
    value: float | None  # the value that crossed the limit (scaled units for cells)
    limit: float | None  # the threshold it crossed, None for yes/no alarms
    time: float  # UNIX seconds
    detail: str = ""  # a digital input's name ("leakage"), else ""


@dataclass(frozen=True)
class AlarmCleared:
    """Up: the condition of an alarm is gone (value = the value that cleared it)."""

    kind: str
    ups_id: str | None
    string_id: str | None
    cell_index: int | None
    value: float | None
    limit: float | None
    time: float
    detail: str = ""


@dataclass(frozen=True)
class AlarmNotice:
    """Alarm manager -> gateway -> subscribers (notifier, web, SNMP traps): a stored alarm changed.

    event: "raised" | "cleared" | "acknowledged" | "closed" (cleared while the gateway was down)
    | "active" (a state sync for a (re)subscribing server: the alarm was already active; notify nobody).
    """

    event: str
    alarm_id: int
    kind: str
    title: str  # the operator-visible name ("Temperature high", or a digital input's name)
    ups_id: str | None
    string_id: str | None
    cell_index: int | None
    value: float | None
    limit: float | None
    from_time: float
    to_time: float | None
    acknowledged_by: str | None
    acknowledged_at: float | None
    detail: str = ""
