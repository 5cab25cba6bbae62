"""A discharge event's figures (duration, Ah, Wh, lowest voltages, weakest cells): ONE source each.

Which figures an event has, the first that applies:

1. A finished event whose detector figures were stored (`discharge_summary`, written with the
   event's end, storage/history/discharge.py): those. The string master's detector
   (battery/analytics/discharge.py) counted them as every scan came in, at full rate, from the
   first scan past its threshold, before the event was confirmed and stored; they are what
   the capacity SOH was measured from and what the bench checks. A recount could only miss scans.
2. Otherwise: recounted from the event's stored scans with the detector's own rule,
   DischargeTally, so the two can differ in the scans they saw, never in how they count. This is
   an event that goes on (recounted at every request), and a finished one without stored figures:
   history written before they were stored, or an event whose detector lost its state (a restart
   or a long gap of the string master) before its end. A closed event never changes, so its
   recount is done once per process and kept (a bounded LRU).

Whatever the source, the duration is the stored end minus the stored start, the times the API
serves (to the last stored scan while the event goes on).

The recount reads the stored scans as the detector read the live ones: a stale scan is not a
reading (the previous current keeps flowing over it), a current read while the hall sensor is
disconnected is 0 (as StringStatus carries it), a cell that did not answer has no voltage, and
the cells' minima count only while the string was classified as discharging (the detector's
"past the threshold"). The first stored scan's current is taken to have flowed since the
(back-dated) start, and the last one's until the stored end.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from battery.analytics import DischargeEvent, DischargeParams, DischargeTally
from battery.codes import ChargeState
from battery.plausibility import cell_answered
from storage.history.cancel import NEVER, CancelToken
from storage.history.scan_row import unpack_scan
from storage.history.schema import ABSENT, CELL_FIELDS, STRING_FIELDS, STRING_QUANTITIES

FROM_DETECTOR = "detector"  # stored by the string master's detector when the event ended
FROM_SCANS = "scans"  # recounted from the stored scans
WEAKEST_COUNT = DischargeParams().weakest_count  # what the detector ranks (no site overrides it)
_VOLTAGE, _CURRENT = STRING_FIELDS.index("voltage_cv"), STRING_FIELDS.index("current_ca")
_STATE, _HALL_OK = STRING_FIELDS.index("state"), STRING_FIELDS.index("hall_ok")
_CELL_VOLTAGE = CELL_FIELDS.index("voltage_mv")  # mV: cell.voltage's wire scale, as the detector counts
_CELL_HEALTH, _CELL_FAULTS = CELL_FIELDS.index("health"), CELL_FIELDS.index("faults")
_STRING_V = STRING_QUANTITIES["voltage"].quantity
_STRING_I = STRING_QUANTITIES["current"].quantity


@dataclass(frozen=True)
class StoredDischarge:
    """One discharge event as history lists it, with its figures and where they come from."""

    id: int
    ups_id: str
    string_id: str
    start: float  # UNIX seconds, back-dated to the first scan past the detector's threshold
    end: float | None  # None while it goes on
    figures: DischargeEvent  # started_at = start; ended_at = end (the last stored scan while it goes on)
    source: str  # FROM_DETECTOR or FROM_SCANS


def stored_figures(
    start: float, end: float, ah: float, wh: float, min_string_v: float | None, min_cell_mv: int | None, weakest: str
) -> DischargeEvent:
    """The detector's figures as discharge_summary keeps them, over the event's stored times."""
    ranked = tuple((int(cell), int(mv)) for cell, mv in json.loads(weakest or "[]"))
    return DischargeEvent(start, end, ah, wh, min_string_v, min_cell_mv, ranked)


def recount(scans: Iterable[tuple[int, bytes]], start: float, end: float | None) -> DischargeEvent:
    """The figures of the event from `start` to `end` (None: goes on) from its stored scans,
    (ts_ms, payload) in time order, counted by the detector's DischargeTally."""
    tally, last_t = DischargeTally(), None
    for ts_ms, payload in scans:
        row = unpack_scan(payload)
        fields = row.string_fields
        if row.string_stale or fields[_VOLTAGE] == ABSENT:
            continue
        t = ts_ms / 1000
        volts = _STRING_V.from_wire(fields[_VOLTAGE])
        amps = _STRING_I.from_wire(fields[_CURRENT]) if fields[_HALL_OK] and fields[_CURRENT] != ABSENT else 0.0
        health, faults = row.cells[_CELL_HEALTH], row.cells[_CELL_FAULTS]
        cells = tuple(
            mv if cell_answered(health[i], faults[i]) else None for i, mv in enumerate(row.cells[_CELL_VOLTAGE])
        )
        if last_t is None:  # its current flowed since the start, when the first one past the threshold came
            tally, last_t = DischargeTally(last_current_a=amps, last_voltage_v=volts), start
        tally = tally.flowed(t - last_t).scan(volts, amps, cells, fields[_STATE] == ChargeState.DISCHARGE)
        last_t = t
    if end is not None and last_t is not None:
        tally = tally.flowed(end - last_t)  # the last scan's current flowed until the end
    return tally.event(start, end if end is not None else (last_t or start), WEAKEST_COUNT)


class DischargeFigures:
    """Each event's figures from its one source; a closed event's recount is kept (at most KEPT)."""

    KEPT = 4096

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[int, int], DischargeEvent] = OrderedDict()
        self._lock = threading.Lock()  # queries run in several worker threads

    def of(self, con: sqlite3.Connection, row: tuple, cancel: CancelToken = NEVER) -> StoredDischarge:
        """`row`: id, ups_id, string_id, start_ms, end_ms, then discharge_summary's ah, wh,
        min_string_v, min_cell_mv, weakest_cells (all NULL when the event has none)."""
        event_id, ups_id, string_id, start_ms, end_ms, ah, *summary = row
        start, end = start_ms / 1000, None if end_ms is None else end_ms / 1000
        if end is not None and ah is not None:
            return StoredDischarge(
                event_id, ups_id, string_id, start, end, stored_figures(start, end, ah, *summary), FROM_DETECTOR
            )
        key = None if end_ms is None else (event_id, end_ms)
        found = self._kept_recount(key)
        if found is None:
            found = self._recount(con, event_id, start, end, cancel)
            if key is not None:
                with self._lock:
                    self._kept[key] = found
                    while len(self._kept) > self.KEPT:
                        self._kept.popitem(last=False)
        return StoredDischarge(event_id, ups_id, string_id, start, end, found, FROM_SCANS)

    def _kept_recount(self, key: tuple[int, int] | None) -> DischargeEvent | None:
        if key is None:
            return None
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    @staticmethod
    def _recount(
        con: sqlite3.Connection, event_id: int, start: float, end: float | None, cancel: CancelToken
    ) -> DischargeEvent:
        """Read a batch of 2000 payloads at a time: memory holds one batch whatever the event's length."""
        cursor = con.execute("SELECT ts_ms, payload FROM discharge_scan WHERE event_id=? ORDER BY ts_ms", (event_id,))

        def batches() -> Iterable[tuple[int, bytes]]:
            while batch := cursor.fetchmany(2000):
                cancel.check()
                yield from batch

        return recount(batches(), start, end)
