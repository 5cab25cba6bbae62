"""One cell's estimators stepped together: SOH follows an averaged resistance, not each sample."""

from __future__ import annotations

from dataclasses import replace

import pytest

from battery.analytics import (
    AnalyticsParams,
    BaselineParams,
    CellEstimate,
    SohEstimate,
    SohMethod,
    params_for,
    rise_of,
    step_cell,
    step_cell_paced,
    with_capacity,
)
from battery.analytics.cell_step import judge_phase

PARAMS = AnalyticsParams(params_for(12, 100.0), baseline=BaselineParams(window_s=60.0, samples=6))


def run(cell, resistances, t0=0.0):
    sohs = set()
    for k, r in enumerate(resistances):
        cell = step_cell(cell, t0 + k, 0.2, 13.6, r, PARAMS)
        sohs.add(round(cell.soh.soh_pct))
    return cell, sohs


def test_soh_ignores_scatter_and_follows_a_real_rise():
    cell, _ = run(CellEstimate(), [4000] * 120)  # commissioning: baseline 4000 µΩ
    assert cell.baseline.final and cell.soh.method == SohMethod.RESISTANCE
    scatter = [4195 if k % 2 else 4215 for k in range(600)]  # ±10 µΩ around +5.1 %
    assert {round(100 * (1 - (r / 4000 - 1) / 0.5)) for r in scatter} == {89, 90}  # raw samples flicker
    cell, _ = run(cell, scatter * 3, t0=120.0)  # six time constants: the average settles at 4205 µΩ
    cell, settled = run(cell, scatter, t0=1920.0)
    assert len(settled) == 1, "SOH moved by a whole percent from one scan to the next"
    risen, _ = run(cell, [5000] * 300, t0=2520.0)  # +25 %: 63 % of the step after one time constant
    assert 4700 < risen.resistance_avg_uohm < 4800  # 4205 + 63 % of 795 µΩ


def test_a_gap_restarts_the_average_and_is_not_integrated():
    gap = PARAMS.battery.max_gap_s + 10
    cell = step_cell(CellEstimate(), 0.0, 0.2, 13.6, 4000, PARAMS)
    assert step_cell(cell, gap, 0.2, 13.6, 4400, PARAMS).resistance_avg_uohm == 4400.0
    cell = step_cell(CellEstimate(), 0.0, -50.0, 12.0, 4000, PARAMS)
    assert step_cell(cell, gap, -50.0, 12.0, 4400, PARAMS).soc.soc_pct == cell.soc.soc_pct


def test_resistance_read_under_discharge_does_not_age_the_cell():
    """At the end of a discharge the BM-CS reads an emptied battery's resistance (up to half
    again its full value) plus polarisation: the average, the baseline and the SOH learn from
    float readings only."""
    cell, _ = run(CellEstimate(), [4000] * 120)  # commissioning on float
    before = cell.soh_resistance
    for k in range(600):  # ten minutes at 0.5 C, the reading climbing by half
        cell = step_cell(cell, 120.0 + k, -50.0, 11.6, 4000 + 4 * k, PARAMS)
    assert cell.resistance_avg_uohm == 4000.0 and cell.soh_resistance == before
    assert cell.soc.soc_pct < 95.0  # the SOC did count the discharge


def discharged_10_ah(cell):
    for k in range(3600):  # one hour at the rated 10 A
        cell = step_cell(cell, float(k), -10.0, 12.3, 4000, PARAMS)
    return cell


def test_a_capacity_measured_to_the_end_voltage_scales_the_soc_count():
    measured = with_capacity(CellEstimate(), SohEstimate(80.0, SohMethod.CAPACITY, 0.0, to_end_voltage=True))
    assert 100.0 - discharged_10_ah(measured).soc.soc_pct == pytest.approx(12.5, abs=0.01)  # 10 Ah of 80


def test_a_capacity_extrapolated_from_a_partial_discharge_is_shown_but_does_not_scale_the_count():
    estimated = with_capacity(CellEstimate(), SohEstimate(80.0, SohMethod.CAPACITY, 0.0))
    assert estimated.soh.soh_pct == 80.0
    assert 100.0 - discharged_10_ah(estimated).soc.soc_pct == pytest.approx(10.0, abs=0.01)


def test_baseline_and_soh_are_judged_once_per_period_on_each_cell_s_own_phase():
    """At a 1 s scan the average is stepped every scan but judged every judge_every_s: the SOH
    stays within a hundredth of a percent of judging every scan, and cells judge in turn."""
    every_scan = replace(PARAMS, soh=replace(PARAMS.soh, judge_every_s=1.0))
    period = PARAMS.soh.judge_every_s
    cells = {phase: CellEstimate(judge_phase_s=judge_phase(phase, PARAMS)) for phase in range(3)}
    reference = CellEstimate()
    judged: dict[int, set[int]] = {phase: set() for phase in cells}
    for t in range(1200):  # commissioning at 4000 µΩ, then a rise to 4600 µΩ
        r = 4000 if t < 120 else 4600
        reference = step_cell(reference, float(t), 0.2, 13.6, r, every_scan)
        for phase, cell in cells.items():
            cells[phase] = cell = step_cell(cell, float(t), 0.2, 13.6, r, PARAMS)
            if cell.judged_at == t:
                judged[phase].add(t)
            assert abs(cell.soh.soh_pct - reference.soh.soh_pct) < 1.0  # lags at most a period of a 15 % step
    for times in judged.values():  # after the first reading's judgment, one per period
        assert len(times) <= 1200 / period + 1
        assert all(b - a == period for a, b in zip(sorted(times)[1:], sorted(times)[2:], strict=False))
    assert judged[0] != judged[1] != judged[2]  # each cell on its own phase
    assert abs(cells[0].soh.soh_pct - reference.soh.soh_pct) < 0.05
    assert cells[0].baseline.learned_uohm == reference.baseline.learned_uohm == 4000
    assert cells[0].rise == pytest.approx(rise_of(reference, every_scan), abs=0.001)


def test_paced_on_float_steps_once_per_period_and_learns_from_every_reading():
    """On float a paced cell steps once per judging period, on its phase, and stays with a cell
    stepped every scan: its average learns from the mean of the readings held in between (one
    reading of ten would settle on 4195 or 4215 µΩ of this scatter, not 4205)."""
    period = PARAMS.soh.judge_every_s
    every_scan = CellEstimate(judge_phase_s=judge_phase(3, PARAMS))
    paced, held, steps = every_scan, None, 0
    for t in range(2400):  # commissioning at 4000 µΩ, then ±10 µΩ around 4205 µΩ
        r = 4000 if t < 120 else (4195 if t % 2 else 4215)
        every_scan = step_cell(every_scan, float(t), 0.2, 13.6, r, PARAMS)
        before = paced
        paced, held = step_cell_paced(paced, held, float(t), 0.2, 13.6, r, PARAMS)
        steps += paced is not before
    assert steps <= 2400 / period + 1
    assert paced.baseline.learned_uohm == every_scan.baseline.learned_uohm == 4000
    assert paced.resistance_avg_uohm == pytest.approx(every_scan.resistance_avg_uohm, abs=1.0)
    assert paced.resistance_avg_uohm == pytest.approx(4205, abs=1.0)
    assert paced.soh.soh_pct == pytest.approx(every_scan.soh.soh_pct, abs=0.05)
    assert paced.soc.soc_pct == every_scan.soc.soc_pct == 100.0


def test_paced_cell_counts_a_discharge_from_its_first_scan():
    """A reading off float is stepped every scan, after the held float readings: the charge of a
    discharge that starts between two float steps is counted from its first scan, as when every
    scan was stepped (stepped from the last float step instead, it would count up to nine
    seconds of 50 A too many)."""
    every_scan = paced = CellEstimate(judge_phase_s=judge_phase(7, PARAMS))
    held = None
    for t in range(200):  # float, then 0.5 C from t = 96
        current_a, battery_v = (0.2, 13.6) if t < 96 else (-50.0, 12.0)
        every_scan = step_cell(every_scan, float(t), current_a, battery_v, 4000, PARAMS)
        paced, held = step_cell_paced(paced, held, float(t), current_a, battery_v, 4000, PARAMS)
        if t >= 96:
            assert paced.last_at == t and held is None
            assert paced.soc.soc_pct == pytest.approx(every_scan.soc.soc_pct, abs=1e-9)
    assert every_scan.soc.soc_pct < 99.0  # the discharge was counted (1.4 Ah of 100)


def test_paced_cell_steps_a_reading_after_a_gap_at_once():
    cell, held = step_cell_paced(CellEstimate(), None, 0.0, 0.2, 13.6, 4000, PARAMS)
    cell, held = step_cell_paced(cell, held, 1.0, 0.2, 13.6, 4100, PARAMS)
    assert held is not None and cell.last_at == 0.0  # held: not yet this cell's turn
    after_gap = PARAMS.battery.max_gap_s + 10.0
    cell, held = step_cell_paced(cell, held, after_gap, 0.2, 13.6, 4400, PARAMS)
    assert held is None and cell.last_at == after_gap
    assert cell.resistance_avg_uohm == 4400.0  # a gap restarts the average with the new reading
