"""Battery analytics measured against the simulator's ground truth.

    python bench/analytics.py [--quick]

Each scenario (bench/analytics_scenarios.py) runs a fresh simulated string (40 x 12 V 100 Ah,
C10) in accelerated time: the model is stepped to each scan's time, no sleeping, and the
gateway's estimators (battery/analytics, driven as the gateway drives them:
bench/analytics_estimators.py) get that scan's BM-SS measurement, nothing else. The
simulator's truth (sim/truth.py) is read next to them for scoring. The simulator's battery
(sim/battery_params.py) is richer than the estimators on purpose: rate effect with recovery,
cold capacity loss, OCV hysteresis and a 50-minute relaxation, ageing not locked to resistance,
spread between batteries. See docs/battery-math.md, "How right: measured against the simulator".

The true SOC is the rating's: the charge a battery would still deliver at the 10-hour rate and
25 °C over what it delivers from full; a string's is its weakest battery's.

Printed per scenario: SOC error (estimate - truth, % points, RMS and maximum) and what else it
measures; last line one JSON object:
{"bench": "analytics", "soc_rms_pct", "soc_max_pct" (the worst scenario's RMS, the largest
error of any scan of any scenario), "runtime_err_pct_at_50" ((estimated - true) / true when the true SOC
crosses 50 % in the 0.2 C discharge), "discharges_detected", "discharges_true",
"weakest_rank_exact", "runaway_warning_lead_s" (warning before the first cell reaches its
temperature limit; null: no warning), "insulation_alarm_s" (from the fault's start)}.
--quick runs every scenario shortened and coarsely scanned (a smoke test, not the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.analytics_scenarios import FULL, QUICK, SCENARIOS, Outcome, Size  # noqa: E402
from bench.analytics_scores import match_events, ranking_exact, rounded, soc_error  # noqa: E402

TARGETS = "targets: SOC RMS <= 3, max <= 6 points; runtime <= 10 % at 50 %; discharges within one scan; "
TARGETS += "weakest five exact for rises >= 20 %; runaway warned before the limit"


def run_all(size: Size) -> tuple[list[Outcome], dict]:
    outcomes: list[Outcome] = []
    for scenario in SCENARIOS:
        started = time.process_time()
        outcome = scenario(size)
        outcomes.append(outcome)
        report(outcome, time.process_time() - started)
    return outcomes, figures(outcomes)


def report(outcome: Outcome, cpu_s: float) -> None:
    run = outcome.run
    error = soc_error(run)
    print(
        f"[{run.name}] {run.scans} scans, {cpu_s:.1f} s CPU; SOC error RMS {error.rms_pct:.2f}, "
        f"max {error.max_pct:.2f} points (at {error.worst_at_s / 3600:.2f} h), bias {error.bias_pct:+.2f}"
    )
    for line in outcome.lines:
        print(f"  {line}")
    for check in outcome.runtime:
        est = "none" if check.estimated_s is None else f"{check.estimated_s / 60:.1f} min"
        err = "-" if check.error_pct is None else f"{check.error_pct:+.1f} %"
        print(
            f"  runtime at true SOC {check.true_soc_pct:.1f} %: true {check.true_s / 60:.1f} min, estimated {est} "
            f"({err}); runtime left of runtime from full at this current: {check.rate_soc_pct:.1f} %"
        )
    matches, false_events = match_events(run)
    for m in matches:
        if m.detected:
            end = "open" if m.end_error_scans is None else f"{m.end_error_scans:+.0f}"
            print(f"  discharge detected: start {m.start_error_scans:+.0f}, end {end} scans from the truth")
        else:
            print("  discharge NOT detected")
    if false_events:
        print(f"  {false_events} discharge event(s) where there was none")
    if outcome.end_soc_error_pct is not None:
        print(f"  SOC error at the end of the capacity test: {outcome.end_soc_error_pct:+.2f} points")


def summary(outcomes: list[Outcome]) -> str:
    """What the JSON line does not carry: detections within one scan, false events."""
    matches = [m for o in outcomes for m in match_events(o.run)[0]]
    false_events = sum(match_events(o.run)[1] for o in outcomes)
    within = sum(1 for m in matches if m.within_one_scan)
    return f"discharges: {within} of {len(matches)} within one scan at start and end; {false_events} false"


def figures(outcomes: list[Outcome]) -> dict:
    errors = [soc_error(o.run) for o in outcomes]
    matches = [m for o in outcomes for m in match_events(o.run)[0]]
    at_50 = next((c for o in outcomes for c in o.runtime if c.soc_level_pct == 50.0), None)
    ranking = next((o.ranking for o in outcomes if o.ranking is not None), None)
    lead = next((o.runaway_lead_s for o in outcomes if o.run.name == "runaway"), None)
    alarm = next((o.insulation_alarm_s for o in outcomes if o.run.name == "insulation"), None)
    return {
        "bench": "analytics",
        "soc_rms_pct": rounded(max(e.rms_pct for e in errors)),
        "soc_max_pct": rounded(max(e.max_pct for e in errors)),
        "runtime_err_pct_at_50": rounded(None if at_50 is None else at_50.error_pct, 1),
        "discharges_detected": sum(1 for m in matches if m.detected),
        "discharges_true": len(matches),
        "weakest_rank_exact": None if ranking is None else ranking_exact(*ranking),
        "runaway_warning_lead_s": rounded(lead, 0),
        "insulation_alarm_s": rounded(alarm, 0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shortened scenarios: a smoke test, not the figures")
    args = parser.parse_args(argv)
    started = time.process_time()
    outcomes, result = run_all(QUICK if args.quick else FULL)
    print(summary(outcomes))
    print(f"total {time.process_time() - started:.1f} s CPU; {TARGETS}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
