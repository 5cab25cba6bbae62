"""What the tree made of its readings: cell, string and UPS status, and the snapshots that
let a re-created actor resume (SOC, SOH references, alarm states).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from battery.codes import CellFault, ChargeState, Health
from battery.reprs import brief_repr

if TYPE_CHECKING:  # the alarm evaluator imports the codes this module uses
    from battery.alarms.evaluator import AlarmTransition, CellAlarmState, StringAlarmState


@dataclass(frozen=True)
class CellSnapshot:
    """What a cell sensor actor needs to resume after a restart."""

    soc_pct: float
    soh_pct: float
    reference_resistance_uohm: int  # the resistance the cell had when it was new/commissioned
    # battery.alarms.CellAlarmState: a re-created actor resumes its alarms (and so clears
    # one whose condition ended while it was down). Not saved to disk: after a full restart the
    # AlarmManager reconciles from the alarms the tree raises again.
    alarms: CellAlarmState | None = None


@dataclass(frozen=True)
class StringSnapshot:
    """What a string master needs to resume after a restart (kept by its UPS)."""

    soc_pct: float
    cells: tuple[CellSnapshot | None, ...]
    alarms: StringAlarmState | None = None  # in memory only, as CellSnapshot.alarms

    def __repr__(self) -> str:
        return f"StringSnapshot(soc={self.soc_pct:.1f}, {len(self.cells)} cells)"


@dataclass(frozen=True)
class CellStatus:
    """Cell sensor actor -> its cell bank (in-process): what the cell made of its reading.

    The raw values are not repeated here: the string master has them from its StringScan.
    """

    index: int
    health: Health
    faults: CellFault
    soc_pct: int
    soh_pct: int
    snapshot: CellSnapshot
    alarm_transitions: tuple[AlarmTransition, ...] = ()  # raised/cleared this scan


@dataclass(frozen=True)
class StringStatus:
    """String master -> UPS -> gateway -> subscribers: the string and all its cells."""

    string_id: str
    ups_id: str
    index: int
    scan_no: int
    timestamp: float
    health: Health
    voltage_v: float
    current_a: float
    state: ChargeState
    soc_pct: float
    soh_pct: float
    balance_pct: float
    ambient_c: float | None
    humidity_pct: float | None
    hall_ok: bool
    relay_closed: bool
    # Per cell, same order as the string (index 1 first). Scaled integers.
    cell_health: tuple[int, ...]
    cell_faults: tuple[int, ...]
    cell_voltage_mv: tuple[int, ...]
    cell_resistance_uohm: tuple[int, ...]
    cell_temperature_dc: tuple[int, ...]
    cell_soc_pct: tuple[int, ...]
    cell_soh_pct: tuple[int, ...]

    @property
    def stale(self) -> bool:
        return self.health == Health.STALE

    def __repr__(self) -> str:
        return brief_repr(self, f"{self.string_id} scan {self.scan_no} {self.health.name}", self.cell_voltage_mv)


@dataclass(frozen=True)
class UpsStatus:
    """UPS -> gateway -> subscribers: the aggregates of a UPS's strings."""

    ups_id: str
    index: int
    timestamp: float
    health: Health
    voltage_v: float | None  # average of the fresh string voltages (None: no fresh string)
    current_a: float | None  # sum of the fresh string currents
    soc_pct: float | None  # average of the fresh string SOCs
    string_ids: tuple[str, ...]
