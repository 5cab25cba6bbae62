"""What the discharge table says of each event: how long, how many Ah, how low the voltages went.

Computed from the event's own scans in catalog.db (every scan of the event, full resolution),
one batch of payloads at a time, so memory holds one batch whatever the event's length. A
closed event never changes, so its summary is computed once per web process and kept (a
bounded LRU); an event that goes on is computed again at each request.

Only readings count: a stale scan has no values, a cell that did not answer has no voltage,
and a current read while the hall sensor is disconnected is not a current. The charge is the
integral of the discharge current (-I, the current being negative when discharging) over time,
by the trapezoid rule between consecutive readings.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

from battery.codes import Health
from battery.plausibility import cell_answered
from storage.history import schema
from storage.history.cancel import NEVER, CancelToken
from storage.history.scan_row import unpack_scan
from storage.history.schema import CELL_FIELDS, STRING_FIELDS, STRING_QUANTITIES

CHARGE_UNIT = "Ah"  # a discharge's charge: A x h (the registry has no stored quantity for it)
CHARGE_DECIMALS = 2
_VOLTAGE = STRING_FIELDS.index("voltage_cv")
_CURRENT = STRING_FIELDS.index("current_ca")
_HALL_OK = STRING_FIELDS.index("hall_ok")
_CELL_VOLTAGE = CELL_FIELDS.index("voltage_mv")
_CELL_HEALTH, _CELL_FAULTS = CELL_FIELDS.index("health"), CELL_FIELDS.index("faults")
_STRING_V = STRING_QUANTITIES["voltage"].quantity
_STRING_I = STRING_QUANTITIES["current"].quantity
_CELL_V = schema.CELL_QUANTITIES["voltage"].quantity


@dataclass(frozen=True)
class DischargeSummary:
    duration_s: float | None  # start to end, or to the last scan while it goes on
    charge_ah: float | None  # discharged charge, Ah
    lowest_string_voltage: float | None  # V
    lowest_cell_voltage: float | None  # V
    lowest_cell: int | None  # the cell that had it, 1 first

    def as_dict(self) -> dict:
        return asdict(self)


class _Accumulator:
    def __init__(self) -> None:
        self.charge_as = 0.0
        self.has_current = False
        self.last: tuple[int, float] | None = None  # (ts_ms, current A) of the previous current reading
        self.lowest_v: int | None = None
        self.lowest_cell: tuple[int, int] | None = None  # (counts, cell)
        self.last_ms: int | None = None

    def add(self, ts_ms: int, payload: bytes) -> None:
        self.last_ms = ts_ms
        row = unpack_scan(payload)
        fields = row.string_fields
        if fields[0] == Health.STALE:
            return
        v = fields[_VOLTAGE]
        self.lowest_v = v if self.lowest_v is None else min(self.lowest_v, v)
        if fields[_HALL_OK]:
            amps = _STRING_I.from_wire(fields[_CURRENT]) or 0.0
            if self.last is not None:
                t0, a0 = self.last
                self.charge_as += (ts_ms - t0) / 1000 * (max(0.0, -a0) + max(0.0, -amps)) / 2
            self.last = (ts_ms, amps)
            self.has_current = True
        volts, health, faults = row.cells[_CELL_VOLTAGE], row.cells[_CELL_HEALTH], row.cells[_CELL_FAULTS]
        for i, counts in enumerate(volts):
            if cell_answered(health[i], faults[i]) and (self.lowest_cell is None or counts < self.lowest_cell[0]):
                self.lowest_cell = (counts, i + 1)

    def summary(self, start_ms: int, end_ms: int | None) -> DischargeSummary:
        until = end_ms if end_ms is not None else self.last_ms
        return DischargeSummary(
            duration_s=None if until is None else (until - start_ms) / 1000,
            charge_ah=round(self.charge_as / 3600, CHARGE_DECIMALS) if self.has_current else None,
            lowest_string_voltage=_STRING_V.rounded(_STRING_V.from_wire(self.lowest_v)),
            lowest_cell_voltage=None
            if self.lowest_cell is None
            else _CELL_V.rounded(_CELL_V.from_wire(self.lowest_cell[0])),
            lowest_cell=None if self.lowest_cell is None else self.lowest_cell[1],
        )


def summarise(
    storage_dir: Path, event_id: int, start_ms: int, end_ms: int | None, cancel: CancelToken = NEVER
) -> DischargeSummary:
    """One event's summary from its scans (read-only; a batch of 2000 payloads at a time)."""
    acc = _Accumulator()
    con = schema.open_read_only(schema.catalog_path(storage_dir))
    try:
        cursor = con.execute("SELECT ts_ms, payload FROM discharge_scan WHERE event_id=? ORDER BY ts_ms", (event_id,))
        while batch := cursor.fetchmany(2000):
            cancel.check()
            for ts_ms, payload in batch:
                acc.add(ts_ms, payload)
    finally:
        con.close()
    return acc.summary(start_ms, end_ms)


class DischargeSummaries:
    """Summaries of a storage's events; a closed event's is kept (at most KEPT of them)."""

    KEPT = 4096

    def __init__(self, storage_dir: Path) -> None:
        self.storage_dir = storage_dir
        self._kept: OrderedDict[tuple[int, int], DischargeSummary] = OrderedDict()
        self._lock = threading.Lock()  # queries run in several worker threads

    def of(self, event: dict, cancel: CancelToken = NEVER) -> DischargeSummary:
        """`event` as discharge_events() lists it (start and end in UNIX seconds, end None while open)."""
        start_ms = round(event["start"] * 1000)
        end_ms = None if event["end"] is None else round(event["end"] * 1000)
        key = (event["id"], end_ms) if end_ms is not None else None
        if key is not None:
            with self._lock:
                if key in self._kept:
                    self._kept.move_to_end(key)
                    return self._kept[key]
        found = summarise(self.storage_dir, event["id"], start_ms, end_ms, cancel)
        if key is not None:
            with self._lock:
                self._kept[key] = found
                while len(self._kept) > self.KEPT:
                    self._kept.popitem(last=False)
        return found
