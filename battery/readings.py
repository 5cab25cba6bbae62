"""What the field bus read from a string in one scan, as scaled integers (1 mV, 1 µΩ, 0.1 °C, 0.01 V, 0.01 A).

Cell data travels as tuples of scaled integers because one string's 120 cells cross a process
boundary every scan, and tuples of small ints pickle at a fraction of the cost of objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from battery.reprs import brief_repr


@dataclass(frozen=True)
class StringScan:
    """FieldBus -> string master: everything read from one string in one scan, one message."""

    string_id: str
    scan_no: int
    timestamp: float  # UNIX seconds when the scan started
    responded: bool  # False: the string master did not answer; all values below are void
    voltage_cv: int = 0  # 0.01 V
    current_ca: int = 0  # 0.01 A, + charge, - discharge
    hall_ok: bool = True
    ambient_dc: int | None = None  # 0.1 °C, None without a BM-TH
    humidity_dpct: int | None = None  # 0.1 %RH
    relay_closed: bool = True  # the string's breaker as the BM-LC output reports it
    cell_voltage_mv: tuple[int, ...] = ()
    cell_resistance_uohm: tuple[int, ...] = ()
    cell_temperature_dc: tuple[int, ...] = ()
    cell_responded: tuple[bool, ...] = ()
    insulation_kohm: int | None = None  # BM-GS insulation resistance to ground, None without one
    cell_balancing: tuple[bool, ...] = ()  # BM-CS status bit 1: the sensor is balancing its battery
    # The field bus's verdict (its one miss counter): the string master has not answered the bus's
    # miss_limit scans in a row. The string master raises and clears "communication lost" on it.
    communication_lost: bool = False

    def __repr__(self) -> str:
        return brief_repr(
            self, f"{self.string_id} scan {self.scan_no} responded={self.responded}", self.cell_voltage_mv
        )


@dataclass(frozen=True)
class CellBatch:
    """String master -> its cell bank -> every cell sensor (in-process): one scan's readings.

    The same object reaches all cells of the string; each takes the entries at its own
    position. One shared message rather than one object per cell: allocating 120 messages a
    scan in each of 32 masters was a measurable share of the tree's CPU.
    """

    scan_no: int
    timestamp: float
    string_current_ca: int  # for the cells' charge accounting
    responded: tuple[bool, ...]  # per cell, exactly one entry per battery
    voltage_mv: tuple[int, ...]
    resistance_uohm: tuple[int, ...]
    temperature_dc: tuple[int, ...]
    # Per cell, the capacity SOH (battery.analytics.SohEstimate) a discharge that just ended
    # measured, None for a cell without one; None on every other scan.
    capacity_soh: tuple | None = None
    # While the string discharges: the median of its valid cells' voltages per cell plus their
    # ohmic drop (battery.analytics.loaded_reference_vpc), which each cell's SOC is compared with.
    loaded_reference_vpc: float | None = None

    def __repr__(self) -> str:
        return f"CellBatch(scan {self.scan_no}, {len(self.voltage_mv)} cells)"
