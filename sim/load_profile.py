"""What the UPS does with a battery string over time: float, equalize, discharge, idle.

A string normally sits in float charge. Tests and demos schedule events on wall-clock UNIX time:
a discharge at a constant current (a mains failure), an equalize charge, or an idle period
(charger off, no load). When an event ends the charger returns to float, and a string that
was discharged recharges by itself (current limited, then decaying): recharge is a consequence
of the battery physics, not an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class UpsMode(Enum):
    FLOAT = "float"  # charger at float voltage
    EQUALIZE = "equalize"  # charger at equalize voltage
    DISCHARGE = "discharge"  # mains lost: the inverter draws a constant current from the string
    IDLE = "idle"  # charger off, no load: the string rests


@dataclass(frozen=True)
class Phase:
    mode: UpsMode
    discharge_current_a: float = 0.0  # > 0 during DISCHARGE (drawn from the string)


FLOAT_PHASE = Phase(UpsMode.FLOAT)


@dataclass(frozen=True)
class ScheduledEvent:
    start: float  # UNIX seconds
    end: float
    phase: Phase


class LoadProfile:
    """The schedule of one string. Events may not overlap; outside them the string floats."""

    def __init__(self) -> None:
        self._events: list[ScheduledEvent] = []

    @property
    def events(self) -> tuple[ScheduledEvent, ...]:
        return tuple(self._events)

    def schedule_discharge(self, start: float, duration_s: float, current_a: float) -> ScheduledEvent:
        """A mains failure: the UPS draws `current_a` (> 0) from this string for `duration_s`."""
        if current_a <= 0:
            raise ValueError(f"discharge current must be > 0 A (drawn from the string), got {current_a}")
        return self._add(start, duration_s, Phase(UpsMode.DISCHARGE, float(current_a)))

    def schedule_equalize(self, start: float, duration_s: float) -> ScheduledEvent:
        return self._add(start, duration_s, Phase(UpsMode.EQUALIZE))

    def schedule_idle(self, start: float, duration_s: float) -> ScheduledEvent:
        return self._add(start, duration_s, Phase(UpsMode.IDLE))

    def clear(self) -> None:
        self._events.clear()

    def phase_at(self, t: float) -> Phase:
        for e in self._events:
            if e.start <= t < e.end:
                return e.phase
            if e.start > t:
                break
        return FLOAT_PHASE

    def next_change_after(self, t: float) -> float | None:
        """The first event boundary strictly after `t` (physics steps stop there)."""
        for e in self._events:
            if e.start > t:
                return e.start
            if e.end > t:
                return e.end
        return None

    def forget_before(self, t: float) -> None:
        """Drop events that ended before `t`, so a long-running demo does not accumulate them."""
        self._events = [e for e in self._events if e.end > t]

    def _add(self, start: float, duration_s: float, phase: Phase) -> ScheduledEvent:
        if duration_s <= 0:
            raise ValueError(f"{phase.mode.value} duration must be > 0 s, got {duration_s}")
        event = ScheduledEvent(float(start), float(start) + float(duration_s), phase)
        for e in self._events:
            if event.start < e.end and e.start < event.end:
                raise ValueError(
                    f"{phase.mode.value} event {event.start}..{event.end} overlaps "
                    f"{e.phase.mode.value} event {e.start}..{e.end}"
                )
        self._events.append(event)
        self._events.sort(key=lambda e: e.start)
        return event
