"""The scenarios of bench/analytics.py, each on its own fresh string (40 x 12 V 100 Ah, C10).

float        days of float charge: nothing should happen.
short        a 15-minute discharge at 0.5 C, then recharge.
deep         0.2 C until 80 % of the rated capacity is drawn, then recharge; runtime checked
             when the true SOC crosses 50 % and 20 %.
ageing       a year of float, five batteries ageing faster than the rest (each its own
             resistance rise; its capacity fade drawn from the model's joint law), then a
             capacity test: 0.2 C to the UPS's cutoff. SOC and SOH judged at its end.
runaway      one battery in thermal runaway on float, until a cell reaches its temperature limit.
insulation   the string's insulation to ground falls to 20 kΩ over half an hour (BM-GS).
rest         30 minutes at 0.5 C, then the breaker open for 4 hours (the OCV correction meets
             the relaxation and the hysteresis of the rested voltage), then recharge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from battery.alarms.limits import cell_limits_for
from bench.analytics_run import T0, Run
from sim.faults import InsulationFault, ThermalRunaway
from sim.truth import runtime_to_cutoff_s, string_truth

HOUR = 3600.0
DAY = 86400.0

# The ageing scenario's fast-ageing batteries: resistance rise per year at 25 °C.
AGEING_RISE_PER_YEAR = {7: 0.90, 13: 0.25, 22: 0.60, 30: 0.15, 36: 0.40}
RUNAWAY_CELL = 17


@dataclass(frozen=True)
class Size:
    """How long each scenario runs and how often it is scanned (the gateway's scan is 1 s)."""

    count: int = 40
    float_days: float = 3.0
    float_scan_s: float = 30.0
    short_scan_s: float = 1.0
    short_after_s: float = 3 * HOUR
    deep_scan_s: float = 5.0
    deep_after_s: float = 12 * HOUR
    ageing_days: float = 365.0
    ageing_scan_s: float = 900.0  # the longest step the estimators still integrate
    test_scan_s: float = 5.0  # around the capacity test at the end of the year
    runaway_scan_s: float = 5.0
    runaway_horizon_s: float = 3 * DAY
    insulation_scan_s: float = 5.0
    rest_scan_s: float = 5.0
    rest_after_s: float = 8 * HOUR


FULL = Size()
QUICK = Size(
    count=12,
    float_days=0.25,
    float_scan_s=60.0,
    short_scan_s=10.0,
    short_after_s=HOUR,
    deep_scan_s=60.0,
    deep_after_s=2 * HOUR,
    ageing_days=20.0,
    ageing_scan_s=900.0,
    test_scan_s=60.0,
    runaway_scan_s=60.0,
    insulation_scan_s=30.0,
    rest_scan_s=60.0,
    rest_after_s=HOUR,
)


@dataclass(frozen=True)
class RuntimeCheck:
    soc_level_pct: float
    true_soc_pct: float
    true_s: float
    estimated_s: float | None
    rate_soc_pct: float  # runtime left over runtime from full at this current (Peukert's "SOC")

    @property
    def error_pct(self) -> float | None:
        if self.estimated_s is None:
            return None
        return 100.0 * (self.estimated_s - self.true_s) / self.true_s


@dataclass
class Outcome:
    run: Run
    lines: list[str] = field(default_factory=list)
    runtime: list[RuntimeCheck] = field(default_factory=list)
    ranking: tuple[list[int], list[int], dict[int, float]] | None = None  # truth, estimate, rises
    end_soc_error_pct: float | None = None
    runaway_lead_s: float | None = None
    insulation_alarm_s: float | None = None


def float_days(size: Size) -> Outcome:
    run = Run.new("float", count=size.count)
    run.scan_until(T0 + size.float_days * DAY, size.float_scan_s)
    return Outcome(run, [f"{size.float_days:g} days of float, scanned every {size.float_scan_s:g} s"])


def short_discharge(size: Size) -> Outcome:
    run = Run.new("short", count=size.count)
    run.scan_until(T0 + 600, size.short_scan_s)
    start = run.discharge(15 * 60, 50.0)
    run.scan_until(start + 15 * 60 + size.short_after_s, size.short_scan_s)
    return Outcome(run, [f"15 min at 50 A (0.5 C), scanned every {size.short_scan_s:g} s"])


def deep_discharge(size: Size) -> Outcome:
    run = Run.new("deep", count=size.count)
    current = 0.2 * run.string.config.battery.capacity_ah
    run.scan_until(T0 + 600, size.deep_scan_s)
    from_full = runtime_to_cutoff_s(run.string, current)
    assert from_full is not None
    duration = 0.8 * run.string.config.battery.capacity_ah / current * HOUR
    start = run.discharge(duration, current)
    outcome = Outcome(run, [f"{current:g} A (0.2 C) for {duration / HOUR:g} h, scanned every {size.deep_scan_s:g} s"])
    levels = [50.0, 20.0]

    def check_runtime(r: Run, e) -> bool:
        true_soc = r.samples[-1].soc_true_pct
        if levels and true_soc <= levels[0] and r.string.current_a < 0:
            true_s = runtime_to_cutoff_s(r.string, current)
            assert true_s is not None
            est = None if e.runtime_min is None else 60.0 * e.runtime_min
            outcome.runtime.append(RuntimeCheck(levels.pop(0), true_soc, true_s, est, 100.0 * true_s / from_full))
        return False

    run.scan_until(start + duration + size.deep_after_s, size.deep_scan_s, check_runtime)
    return outcome


def ageing_year(size: Size) -> Outcome:
    ageing = {cell: rise / 365.25 for cell, rise in AGEING_RISE_PER_YEAR.items() if cell <= size.count}
    run = Run.new("ageing", count=size.count, aging_cells=ageing)
    run.scan_until(T0 + size.ageing_days * DAY, size.ageing_scan_s)
    run.scan_until(run.t + HOUR, size.test_scan_s)  # the hour before the test at the fine scan
    assert run.last is not None
    on_float = run.last.cell_soh_resistance_pct  # the resistance SOH where it belongs: full, on float
    current = 0.2 * run.string.config.battery.capacity_ah
    run.discharge(10 * HOUR, current)
    run.scan_until(run.t + 10 * HOUR, size.test_scan_s, lambda r, e: r.string.cut_off)
    end = run.samples[-1]
    outcome = Outcome(run, [f"{size.ageing_days:g} days scanned every {size.ageing_scan_s:g} s, then {current:g} A "
                            f"to cutoff scanned every {size.test_scan_s:g} s"])  # fmt: skip
    outcome.end_soc_error_pct = end.soc_est_pct - end.soc_true_pct
    run.scan_until(run.t + 15 * 60, size.test_scan_s)  # the event ends and its capacities reach the cells
    truth = string_truth(run.string).batteries
    rises = {k: truth[k - 1].resistance_rise for k in range(1, size.count + 1)}
    # The target names the ranking by resistance rise over the baseline (IEEE 1188): the
    # gateway's weakest five by that criterion, read after the test, against the true rises.
    true_order = sorted(range(1, size.count + 1), key=lambda k: (-rises[k], k))[:5]
    assert run.last is not None
    outcome.ranking = (true_order, list(run.last.weakest_by_resistance), rises)
    est_soh = run.last.cell_soh_pct
    est_order = sorted(range(1, size.count + 1), key=lambda k: (_value(est_soh[k - 1]), k))[:5]
    cap_order = sorted(range(1, size.count + 1), key=lambda k: (truth[k - 1].soh_capacity, k))[:5]
    methods = sorted(set(run.last.cell_soh_method))
    r_order = sorted(range(1, size.count + 1), key=lambda k: (_value(on_float[k - 1]), k))[:5]
    outcome.lines += [
        "weakest five, true resistance rise: " + ", ".join(f"#{k} +{100 * rises[k]:.0f} %" for k in true_order),
        "weakest five, estimated by resistance rise after the test: "
        + ", ".join(f"#{k}" for k in run.last.weakest_by_resistance),
        "weakest five, true capacity SOH: "
        + ", ".join(f"#{k} {100 * truth[k - 1].soh_capacity:.1f} % (R +{100 * rises[k]:.0f} %)" for k in cap_order),
        f"weakest five, estimated SOH ({'/'.join(methods)}): "
        + ", ".join(f"#{k} {_value(est_soh[k - 1]):.1f} %" for k in est_order),
        "weakest five, estimated resistance SOH on float before the test: "
        + ", ".join(f"#{k} {_value(on_float[k - 1]):.1f} %" for k in r_order),
        f"resistance SOH after the test (read empty): {_spread(run.last.cell_soh_resistance_pct)}",
        _soh_errors(est_soh, [b.soh_capacity for b in truth]),
    ]
    return outcome


def _spread(values: tuple[float | None, ...]) -> str:
    known = [v for v in values if v is not None]
    return f"{min(known):.1f}..{max(known):.1f} %" if known else "none"


def _soh_errors(estimated: tuple[float | None, ...], true: list[float]) -> str:
    errors = [e - 100.0 * t for e, t in zip(estimated, true) if e is not None]
    if not errors:
        return "no battery has an SOH estimate"
    rms = (sum(e * e for e in errors) / len(errors)) ** 0.5
    return f"SOH estimate - true capacity SOH over {len(errors)} batteries: RMS {rms:.1f}, max {max(map(abs, errors)):.1f} points"


def _value(soh: float | None) -> float:
    return 200.0 if soh is None else soh


def runaway(size: Size) -> Outcome:
    run = Run.new("runaway", count=size.count)
    limit_c = cell_limits_for(run.string.config.battery).temperature_high.threshold / 10.0
    run.scan_until(T0 + HOUR, size.runaway_scan_s)
    start = run.t
    cell = min(RUNAWAY_CELL, size.count // 2)
    run.string.inject(ThermalRunaway(cell))
    warned: list[float] = []

    def watch(r: Run, e) -> bool:
        if e.runaway and not warned:
            warned.append(r.t)
        return max(r.string.cell_temperature_c) >= limit_c

    run.scan_until(start + size.runaway_horizon_s, size.runaway_scan_s, watch)
    reached = run.t if max(run.string.cell_temperature_c) >= limit_c else None
    outcome = Outcome(run)
    hot = f"reached {limit_c:g} °C after {(reached - start) / HOUR:.2f} h" if reached else "never reached the limit"
    warn = f"warned after {(warned[0] - start) / HOUR:.2f} h" if warned else "no warning"
    outcome.lines.append(f"battery {cell} in runaway: {hot}; {warn} (scans every {size.runaway_scan_s:g} s)")
    if warned and reached:
        outcome.runaway_lead_s = reached - warned[0]
    return outcome


def insulation(size: Size) -> Outcome:
    run = Run.new("insulation", count=size.count, insulation_sensor=True)
    limit = run.estimators.params.insulation.low_limit_kohm
    run.scan_until(T0 + 600, size.insulation_scan_s)
    start = run.t
    run.string.inject(InsulationFault(to_kohm=20.0, over_s=1800.0))
    seen: dict[str, float] = {}

    def watch(r: Run, e) -> bool:
        if "crossed" not in seen and r.string.insulation_kohm < limit:
            seen["crossed"] = r.t
        if e.insulation_low and "alarm" not in seen:
            seen["alarm"] = r.t
        return "alarm" in seen and "crossed" in seen

    run.scan_until(start + 2 * HOUR, size.insulation_scan_s, watch)
    outcome = Outcome(run)
    if "alarm" in seen:
        outcome.insulation_alarm_s = seen["alarm"] - start
    crossed, alarm = (_after(seen.get(k), start) for k in ("crossed", "alarm"))
    outcome.lines.append(
        f"20 MΩ -> 20 kΩ over 30 min: true value below the gateway's {limit:g} kΩ after {crossed}, "
        f"alarm after {alarm} (scans every {size.insulation_scan_s:g} s)"
    )
    return outcome


def rest_after_discharge(size: Size) -> Outcome:
    run = Run.new("rest", count=size.count)
    run.scan_until(T0 + 600, size.rest_scan_s)
    start = run.discharge(30 * 60, 50.0)
    run.scan_until(start + 30 * 60, size.rest_scan_s)
    run.string.set_relay(False)
    run.scan_until(run.t + 4 * HOUR, size.rest_scan_s)
    rested = run.samples[-1]
    run.string.set_relay(True)
    run.scan_until(run.t + size.rest_after_s, size.rest_scan_s)
    outcome = Outcome(run, [f"30 min at 50 A (0.5 C), 4 h open, recharge; scanned every {size.rest_scan_s:g} s"])
    outcome.lines.append(
        f"after 4 h at rest: SOC estimated {rested.soc_est_pct:.1f} %, true {rested.soc_true_pct:.1f} %"
    )
    return outcome


def _after(t: float | None, start: float) -> str:
    return "-" if t is None else f"{t - start:.0f} s"


SCENARIOS = (float_days, short_discharge, deep_discharge, ageing_year, runaway, insulation, rest_after_discharge)
