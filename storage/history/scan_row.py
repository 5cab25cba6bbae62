"""One string's scan as stored: the StringStatus message <-> a compact payload.

A payload is one format byte, then codec.pack_planes() of the 11 string fields followed by the
7 cell columns (int32 each), every value in its quantity's wire scale (battery/quantities.py).
A string that did not answer (Health.STALE) is stored with no cells at all, so stale values
cannot be read back as if they had been measured. Format 1 payloads (string SOC and SOH in
0.1 %) are still read, and come back in format 2 (history/formats.py).
"""

from __future__ import annotations

import zlib
from array import array
from dataclasses import dataclass

from battery.codes import Health
from battery.status import StringStatus
from storage.history import codec, formats
from storage.history.schema import ABSENT, CELL_FIELDS, STRING_FIELDS, STRING_QUANTITIES

FORMAT_V1 = formats.FORMAT_1
FORMAT_V2 = formats.FORMAT_2  # what pack_scan writes
_N_STRING = len(STRING_FIELDS)
_N_CELL = len(CELL_FIELDS)
_INT32 = (-(2**31), 2**31 - 1)


class PayloadError(ValueError):
    """A stored payload that cannot be decoded (names the reason)."""


@dataclass(frozen=True)
class ScanRow:
    """A decoded scan: string fields as scaled integers, cells as int32 columns."""

    string_fields: tuple[int, ...]  # in STRING_FIELDS order
    cells: tuple[array, ...]  # in CELL_FIELDS order, each of `cell_count` lanes

    @property
    def cell_count(self) -> int:
        return len(self.cells[0]) if self.cells else 0

    def field(self, name: str) -> int:
        return self.string_fields[STRING_FIELDS.index(name)]

    @property
    def string_stale(self) -> bool:
        return self.field("health") == Health.STALE


def string_field_value(name: str, raw: int) -> int | None:
    """None for a string reading that is absent (no climate sensor)."""
    if name in ("ambient_dc", "humidity_dpct") and raw == ABSENT:
        return None
    return raw


_Q = {q.name: q.quantity for q in STRING_QUANTITIES.values()}


def _stored(name: str, value: float | None) -> int:
    """A value in its unit -> the stored integer of STRING_QUANTITIES[name] (ABSENT for None)."""
    counts = _Q[name].to_wire(value)
    return ABSENT if counts is None else max(_INT32[0] + 1, min(_INT32[1], counts))


def string_fields_of(status: StringStatus) -> tuple[int, ...]:
    return (
        int(status.health),
        _stored("voltage", status.voltage_v),
        _stored("current", status.current_a),
        int(status.state),
        _stored("soc", status.soc_pct),
        _stored("soh", status.soh_pct),
        _stored("balance", status.balance_pct),
        _stored("ambient", status.ambient_c),
        _stored("humidity", status.humidity_pct),
        int(status.hall_ok),
        int(status.relay_closed),
    )


def cell_columns_of(status: StringStatus) -> tuple[tuple[int, ...], ...]:
    """The cell tuples in CELL_FIELDS order; none for a stale string."""
    if status.health == Health.STALE:
        return ((),) * _N_CELL
    cols = (
        status.cell_voltage_mv,
        status.cell_resistance_uohm,
        status.cell_temperature_dc,
        status.cell_soc_pct,
        status.cell_soh_pct,
        status.cell_health,
        status.cell_faults,
    )
    n = len(cols[0])
    for name, col in zip(CELL_FIELDS, cols):
        if len(col) != n:
            raise ValueError(
                f"StringStatus {status.string_id} scan {status.scan_no}: {name} has {len(col)} cells, voltage has {n}"
            )
    return cols


def pack_scan(status: StringStatus) -> bytes:
    return pack_columns(string_fields_of(status), cell_columns_of(status))


def pack_columns(string_fields: tuple[int, ...], cells: tuple[tuple[int, ...] | array, ...]) -> bytes:
    try:
        cols = [codec.to_lanes(string_fields)] + [codec.to_lanes(c) for c in cells]
    except OverflowError as e:
        raise ValueError(f"a reading does not fit in 32 bits: {e}") from e
    # One shuffle over all columns (not one per column): decoding is then one unshuffle + slices.
    return bytes([FORMAT_V2]) + codec.pack_planes([b"".join(cols)])


def unpack_scan(payload: bytes) -> ScanRow:
    """A stored payload of either format, decoded in format 2."""
    if not payload or payload[0] not in (FORMAT_V1, FORMAT_V2):
        raise PayloadError(f"unknown scan payload format {payload[:1]!r}")
    body = zlib.decompress(payload[1:])
    n_lanes = len(body) // codec.LANE_BYTES
    n_cells, rest = divmod(n_lanes - _N_STRING, _N_CELL)
    if rest or n_cells < 0:
        raise PayloadError(f"scan payload of {n_lanes} lanes is not 11 + 7 x cells")
    lanes = codec.from_lanes(codec.unshuffle(body))
    cells = tuple(lanes[_N_STRING + k * n_cells : _N_STRING + (k + 1) * n_cells] for k in range(_N_CELL))
    fields = tuple(lanes[:_N_STRING])
    if payload[0] == FORMAT_V1:
        fields = formats.string_fields_from_format_1(fields)
    return ScanRow(fields, cells)
