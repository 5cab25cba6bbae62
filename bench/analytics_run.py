"""One benchmark run: a simulated string scanned in accelerated time, its estimates recorded
next to the simulator's truth.

No sleeping: each scan advances the model to the scan's time, takes the BM-SS measurement and
steps the gateway's estimators with it (bench/analytics_estimators.py). The truth of the string
(sim.truth) is read beside it for scoring only; nothing of it reaches the estimators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from battery.site import BatteryType, StringConfig
from bench.analytics_estimators import Estimate, GatewayEstimators
from sim.string_model import RoomClimate, SimulatedString

T0 = 1_700_000_000.0  # a fixed start: the same run every time
DISCHARGE_CURRENT_A = 0.01  # |true current| above this (of C... in A) counts as a true discharge


def string_config(count: int, ah: float, insulation_sensor: bool = False) -> StringConfig:
    return StringConfig(
        id="B1",
        index=1,
        name="bench",
        ups_id="U1",
        bus="bus1",
        address=1,
        battery=BatteryType(12, ah, count),
        hall_range_a=500,
        climate_sensor=True,
        insulation_sensor=insulation_sensor,
    )


@dataclass(frozen=True)
class Sample:
    t: float
    soc_est_pct: float
    soc_true_pct: float
    current_a: float  # true


@dataclass
class TrueDischarge:
    start: float  # first scan with current flowing out
    end: float | None = None  # first scan with it stopped


@dataclass
class Run:
    """A string, its estimators and everything recorded so far."""

    name: str
    string: SimulatedString
    estimators: GatewayEstimators
    t: float = T0
    scans: int = 0
    samples: list[Sample] = field(default_factory=list)
    estimated_events: list[tuple[float, float]] = field(default_factory=list)  # (start, end)
    true_discharges: list[TrueDischarge] = field(default_factory=list)
    last: Estimate | None = None
    scan_periods: set[float] = field(default_factory=set)
    discharge_scan_s: float = 1.0  # the scan period while the discharges ran

    @classmethod
    def new(
        cls,
        name: str,
        *,
        count: int = 40,
        ah: float = 100.0,
        seed: int = 11,
        insulation_sensor: bool = False,
        aging_cells: dict[int, float] | None = None,
    ) -> Run:
        config = string_config(count, ah, insulation_sensor)
        string = SimulatedString(config, seed, aging_cells=aging_cells, climate=RoomClimate(mean_c=23.0))
        string.advance(T0)
        return cls(name, string, GatewayEstimators(config.battery))

    def scan_until(self, end: float, scan_s: float, on_scan=None) -> None:
        """Scan every `scan_s` seconds up to `end`; `on_scan(run, estimate)` after each scan
        (return True to stop early)."""
        self.scan_periods.add(scan_s)
        string = self.string
        while self.t + scan_s <= end + 1e-9:
            self.t += scan_s
            string.advance(self.t)
            e = self.estimators.step(self.t, string.measure())
            self.scans += 1
            self.last = e
            current = string.current_a
            self.samples.append(Sample(self.t, e.soc_pct, 100.0 * min(string.cell_soc), current))
            self._track_discharges(current, scan_s)
            if e.event is not None:
                self.estimated_events.append((e.event.started_at, e.event.ended_at))
            if on_scan is not None and on_scan(self, e):
                return

    def _track_discharges(self, current: float, scan_s: float) -> None:
        flowing = current < -DISCHARGE_CURRENT_A
        open_ = self.true_discharges and self.true_discharges[-1].end is None
        if flowing and not open_:
            self.true_discharges.append(TrueDischarge(self.t))
            self.discharge_scan_s = scan_s
        elif not flowing and open_:
            self.true_discharges[-1].end = self.t

    def discharge(self, duration_s: float, current_a: float) -> float:
        """Schedule a discharge starting just after the present scan; returns its start."""
        start = self.t + 0.5
        self.string.load_profile.schedule_discharge(start, duration_s, current_a)
        return start
