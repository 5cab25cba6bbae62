"""bench/analytics.py: every scenario runs (shortened) and the last line carries the figures."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.analytics_run import Run
from bench.analytics_scores import RANK_RISE, match_events, ranking_exact, soc_error
from tests.support import REPO

KEYS = {
    "bench",
    "soc_rms_pct",
    "soc_max_pct",
    "runtime_err_pct_at_50",
    "discharges_detected",
    "discharges_true",
    "weakest_rank_exact",
    "runaway_warning_lead_s",
    "insulation_alarm_s",
}


def test_quick_run_prints_every_scenario_and_ends_with_the_figures():
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "analytics.py"), "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures) == KEYS and figures["bench"] == "analytics"
    for scenario in ("float", "short", "deep", "ageing", "runaway", "insulation", "rest"):
        assert any(line.startswith(f"[{scenario}]") for line in lines), scenario
    assert figures["discharges_true"] == 4  # short, deep, the capacity test and the one before a rest
    assert 0 < figures["soc_max_pct"] < 50 and figures["insulation_alarm_s"] > 0


def test_a_run_records_estimates_beside_the_truth_and_scores_its_discharge():
    run = Run.new("probe", count=4)
    run.scan_until(run.t + 60, 5.0)
    start = run.discharge(600, 20.0)
    run.scan_until(start + 1200, 5.0)
    assert run.scans == len(run.samples) == 12 + 240
    assert [(d.start, d.end) for d in run.true_discharges] == [(start + 4.5, start + 604.5)]
    (match,), false_events = match_events(run)
    assert match.detected and match.within_one_scan and false_events == 0
    error = soc_error(run)
    assert 0.0 < error.max_pct < 10.0 and error.rms_pct <= error.max_pct


def test_ranking_is_judged_only_on_batteries_with_a_clear_resistance_rise():
    rises = {1: 0.5, 2: RANK_RISE, 3: 0.05, 4: 0.0, 5: 0.3}
    assert ranking_exact([1, 2, 3, 4, 5], [1, 2, 4, 3, 5], rises)  # 3 and 4 rose too little to count
    assert not ranking_exact([1, 2, 3, 4, 5], [2, 1, 3, 4, 5], rises)
