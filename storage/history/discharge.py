"""Discharge events: while a string master's discharge detector has an event under way
(StringStatus.discharge_started_at, battery/analytics/discharge.py: past a threshold for a
minimum time, until charging resumes), the string's scans belong to an event.

A stale scan (the string did not answer) neither starts nor ends an event: the string's
state is unknown then, and a discharge does not stop because a cable was pulled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum

from battery.analytics.discharge import DischargeEvent
from battery.codes import Health


class Transition(Enum):
    NONE = 0
    START = 1
    END = 2


def transition(in_discharge: bool, health: int, discharging: bool) -> Transition:
    if health == Health.STALE:
        return Transition.NONE
    if discharging and not in_discharge:
        return Transition.START
    if in_discharge and not discharging:
        return Transition.END
    return Transition.NONE


@dataclass
class DischargeTracker:
    """The open event of every string (string_no -> event id), ids handed out in memory."""

    next_id: int = 1
    open_events: dict[int, int] = field(default_factory=dict)

    def on_scan(self, string_no: int, health: int, discharging: bool) -> tuple[Transition, int | None]:
        """(what happened, id of the event this scan belongs to, if any)."""
        current = self.open_events.get(string_no)
        t = transition(current is not None, health, discharging)
        if t is Transition.START:
            current = self.next_id
            self.next_id += 1
            self.open_events[string_no] = current
        elif t is Transition.END:
            del self.open_events[string_no]
            return t, current
        return t, current


def summary_row(event_id: int, event: DischargeEvent) -> tuple[str, tuple]:
    """The SQL that stores what the detector measured over a finished event: the event's
    figures from then on (storage/history/discharge_figures.py reads them)."""
    return (
        "INSERT OR REPLACE INTO discharge_summary (event_id, ah, wh, min_string_v, min_cell_mv, weakest_cells) "
        "VALUES (?,?,?,?,?,?)",
        (event_id, event.ah, event.wh, event.min_string_v, event.min_cell_mv, json.dumps(event.weakest_cells)),
    )
