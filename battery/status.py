"""What the tree made of its readings: cell, string and UPS status, and the snapshots that
let a re-created actor resume (SOC, SOH references, alarm states).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from battery.analytics.baseline import ResistanceBaseline
from battery.analytics.cell_step import CellView
from battery.analytics.discharge import DischargeEvent
from battery.analytics.soh import SohEstimate
from battery.analytics.string_step import StringAnalytics
from battery.analytics.weakest import WeakestCells
from battery.codes import CellFault, ChargeState, Health
from battery.fast_init import dict_init
from battery.reprs import brief_repr

if TYPE_CHECKING:  # the alarm evaluator imports the codes this module uses
    from battery.alarms.evaluator import AlarmTransition, CellAlarmState, StringAlarmState


@dataclass(frozen=True)
class CellSnapshot:
    """What a cell sensor actor needs to resume after a restart."""

    soc_pct: float
    soh_pct: float
    reference_resistance_uohm: int  # the resistance baseline (learned or provisional), 0 = none yet
    # battery.alarms.CellAlarmState: a re-created actor resumes its alarms (and so clears
    # one whose condition ended while it was down). Not saved to disk: after a full restart the
    # AlarmManager reconciles from the alarms the tree raises again.
    alarms: CellAlarmState | None = None
    # The resistance baseline being learned over the commissioning window (battery.analytics),
    # and the last capacity SOH a deep discharge measured. Both saved to disk.
    baseline: ResistanceBaseline | None = None
    soh_capacity: SohEstimate | None = None
    # The averaged resistance read on float over the baseline, minus one, to 0.01 (what the
    # weakest-cell ranking compares; a reading under load is not a rise). In memory only.
    resistance_rise: float | None = None


@dataclass(frozen=True)
class StringSnapshot:
    """What a string master needs to resume after a restart (kept by its UPS)."""

    soc_pct: float
    cells: tuple[CellSnapshot | None, ...]
    alarms: StringAlarmState | None = None  # in memory only, as CellSnapshot.alarms
    analytics: StringAnalytics | None = None  # charge state, discharge event, runaway: in memory only

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
    soh_method: str = "none"  # battery.analytics.SohMethod value: which estimate soh_pct is
    soh_at: float | None = None  # when that estimate was made (capacity: the discharge's end)
    # What the string's analytics need of this cell (cell_step.snapshot_view of its snapshot),
    # built with the status: a cell sends a new status only when it changed, so most scans reuse
    # every view instead of building 120. None: string_analytics builds it from the snapshot.
    view: CellView | None = None


@dict_init  # built twice per string every scan, with 37 fields: battery/fast_init.py
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
    # Analytics (battery/analytics). SOH method: "none", "resistance" or "capacity".
    runtime_min: float | None = None  # while discharging: minutes to the end voltage at this current
    soh_method: str = "none"  # of soh_pct (the weakest cell's)
    soh_at: float | None = None
    discharge_started_at: float | None = None  # the discharge event under way, if any
    discharge_ended: DischargeEvent | None = None  # the event that ended with this scan, with its figures
    insulation_kohm: float | None = None  # BM-GS, None without one
    insulation_low: bool = False
    runaway: bool = False  # thermal-runaway early warning
    runaway_cells: tuple[int, ...] = ()
    weakest: WeakestCells | None = None
    cell_soh_method: tuple[str, ...] = ()
    cell_soh_at: tuple[float | None, ...] = ()
    cell_balancing: tuple[bool, ...] = ()  # BM-CS balancing bit, () when the device does not say

    @property
    def stale(self) -> bool:
        return self.health == Health.STALE

    @property
    def discharging(self) -> bool:
        return self.discharge_started_at is not None

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
    runtime_min: float | None = None  # while discharging: its shortest string's runtime
    on_battery_since: float | None = None  # start of the earliest discharge event of its strings
    weakest: WeakestCells | None = None
