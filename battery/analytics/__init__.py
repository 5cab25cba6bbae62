"""Battery analytics: pure estimators stepped once per scan with what the devices measured.

No I/O, no clock, no actors: each estimator is a frozen-dataclass STATE and a pure
`step_*(state, measurement..., params) -> new state` function. The caller keeps the state (the
gateway in its actors' snapshots, so SOC and baselines survive restarts; the bench in a loop)
and passes the time of each reading; gaps longer than BatteryParams.max_gap_s are not
integrated. Current is + while charging, − while discharging. Voltages per 2 V cell ("vpc").

Parameters (params.py): AnalyticsParams(battery=params_for(nominal_voltage, capacity_ah,
**overrides), baseline=BaselineParams(), soh=SohParams(), discharge=DischargeParams(),
runaway=RunawayParams(), insulation=InsulationParams()). Defaults and sources:
docs/battery-math.md.

Driving a string, per scan (what the string master does, and the bench):

    params = AnalyticsParams(params_for(12, 100.0))
    cells = [CellEstimate()] * n
    string = StringAnalytics()
    for scan in scans:                      # scan: timestamp, string V and I, per-cell V/R/T
        ref = loaded_reference_vpc(I, cell_mv, cell_r_uohm, params.battery)  # None unless discharging
        cells = [step_cell(c, t, I, cell_v, cell_r_uohm, params, ref) if valid else c for ...]
        # (the gateway calls step_cell_paced(c, held, t, ...) -> (c, held) instead: the same
        # steps, but on float once per SohParams.judge_every_s with the readings held between)
        views = [view_of(c, params) for c in cells]  # SOC, capacity share, resistance rise
        string, result = step_string(string, StringMeasurement(...), views, params)
        cells = [with_capacity(c, e) for c, e in zip(cells, result.capacity_soh)]
        # result.state (ChargeState), result.soc_pct, result.runtime_min (None unless
        # discharging), result.discharge_active / discharge_started_at, result.event
        # (DischargeEvent when one ended: duration_s, ah, wh, min_string_v, min_cell_mv,
        # weakest_cells), result.weakest (WeakestCells: by_resistance_rise, by_voltage_sag,
        # by_temperature), result.runaway (RunawayState: active, hot_cells, string_hot, since),
        # result.insulation_low
        # per cell: cells[i].soc.soc_pct, cells[i].soh (SohEstimate: soh_pct, method, at)

The single estimators, usable alone:
- charge_state: ChargeStateTracker, step_charge_state(tracker, I, vpc, dt_s, battery,
  hall_ok, relay_closed); classify() for one reading (hysteresis + dwell: no flicker).
- soc: SocState, step_soc(state, I, vpc, dt_s, battery, capacity_fraction, now): coulomb
  counting against C10 with a charge acceptance that falls near full (charged_soc()), held
  below 100 % until the float tail current says "charged", set to the rate's remainder at the
  end voltage under load (rate_remainder_pct()), OCV correction (into the OCV's band) after
  rest_before_ocv_s of rest. soc_from_ocv(), peukert_factor().
- load_deviation: LoadDeviation, step_load_deviation(state, soc_pct, I, vpc, R_uohm,
  reference_vpc, dt_s, battery, capacity_fraction) -> (state, corrected SOC): during a discharge
  a cell's departure from the string's median voltage under load (loaded_reference_vpc), grown
  since the discharge settled, corrects its count, weighed against the count's uncertainty
  (step_cell does it with the reference it is given).
- baseline: ResistanceBaseline, step_baseline(b, R_uohm, now, BaselineParams, steady):
  median of samples spread over a commissioning window; baseline_uohm() (learned or provisional).
- soh: SohEstimate(soh_pct, method: SohMethod RESISTANCE|CAPACITY|NONE, at),
  soh_from_resistance(R_avg, baseline, at, SohParams), soh_from_capacity(...);
  capacity: CapacityRun, start_run/step_run/finish_run over one discharge.
- runtime: runtime_min(soc_pct, I, battery, capacity_fraction) = C·(SOC/100 − (1 − C_I/C)) / |I|
  in minutes, C_I Peukert's capacity at I; ups_runtime_min(strings); linear_runtime_min().
- discharge: DischargeState, step_discharge(state, now, dt_s, V, I, cell_mv, battery,
  DischargeParams) -> (state, DischargeEvent | None); DischargeTally, the one count of an
  event's Ah, Wh and lowest voltages (flowed(dt_s), scan(V, I, cell_mv, under_load), event()).
- weakest: string_weakest(rises, cell_mv, cell_temps_c, discharging, count) -> WeakestCells;
  ups_weakest([(string_id, WeakestCells), ...]).
- runaway: RunawayState, step_runaway(state, now, dt_s, I, charging, cell_temps_c, ambient_c,
  battery, RunawayParams).
- insulation: insulation_low(kohm, was_low, InsulationParams).
"""

from battery.analytics.baseline import ResistanceBaseline, baseline_uohm, step_baseline
from battery.analytics.capacity import CapacityRun, finish_run, start_run, step_run
from battery.analytics.cell_step import (
    CellEstimate,
    CellView,
    HeldReadings,
    rise_of,
    step_cell,
    step_cell_paced,
    view_of,
    with_capacity,
)
from battery.analytics.charge_state import ChargeStateTracker, classify, step_charge_state
from battery.analytics.discharge import DischargeEvent, DischargeState, DischargeTally, step_discharge
from battery.analytics.insulation import insulation_low
from battery.analytics.load_deviation import LoadDeviation, loaded_reference_vpc, step_load_deviation
from battery.analytics.params import (
    AnalyticsParams,
    BaselineParams,
    BatteryParams,
    DischargeParams,
    InsulationParams,
    RunawayParams,
    SohParams,
    analytics_params,
    params_for,
)
from battery.analytics.runaway import RunawayState, step_runaway
from battery.analytics.runtime import linear_runtime_min, runtime_min, ups_runtime_min
from battery.analytics.soc import SocState, charged_soc, peukert_factor, rate_remainder_pct, soc_from_ocv, step_soc
from battery.analytics.soh import SohEstimate, SohMethod, soh_from_capacity, soh_from_resistance
from battery.analytics.string_step import StringAnalytics, StringMeasurement, StringResult, step_string
from battery.analytics.weakest import WeakestCells, string_weakest, ups_weakest

__all__ = [
    "AnalyticsParams",
    "BaselineParams",
    "BatteryParams",
    "CapacityRun",
    "CellEstimate",
    "CellView",
    "HeldReadings",
    "ChargeStateTracker",
    "DischargeEvent",
    "DischargeParams",
    "DischargeState",
    "DischargeTally",
    "InsulationParams",
    "LoadDeviation",
    "ResistanceBaseline",
    "RunawayParams",
    "RunawayState",
    "SocState",
    "SohEstimate",
    "SohMethod",
    "SohParams",
    "StringAnalytics",
    "StringMeasurement",
    "StringResult",
    "WeakestCells",
    "analytics_params",
    "baseline_uohm",
    "charged_soc",
    "classify",
    "finish_run",
    "insulation_low",
    "linear_runtime_min",
    "loaded_reference_vpc",
    "params_for",
    "peukert_factor",
    "rate_remainder_pct",
    "rise_of",
    "runtime_min",
    "soc_from_ocv",
    "soh_from_capacity",
    "soh_from_resistance",
    "start_run",
    "step_baseline",
    "step_cell",
    "step_cell_paced",
    "step_charge_state",
    "step_discharge",
    "step_load_deviation",
    "step_run",
    "step_runaway",
    "step_soc",
    "step_string",
    "string_weakest",
    "ups_runtime_min",
    "ups_weakest",
    "view_of",
    "with_capacity",
]
