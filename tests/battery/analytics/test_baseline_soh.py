"""Resistance baseline from a commissioning window; SOH by resistance and by capacity."""

from __future__ import annotations

import pytest

from battery.analytics import (
    BaselineParams,
    ResistanceBaseline,
    SohMethod,
    SohParams,
    baseline_uohm,
    finish_run,
    params_for,
    soh_from_resistance,
    start_run,
    step_baseline,
    step_run,
)

WINDOW = BaselineParams(window_s=1000.0, samples=10, min_samples=1)


def learn(readings, params=WINDOW, dt_s=10.0, steady=True):
    baseline = ResistanceBaseline()
    for i, r in enumerate(readings):
        baseline = step_baseline(baseline, r, i * dt_s, params, steady)
    return baseline


def test_the_baseline_is_the_median_of_the_window_not_the_first_sample():
    readings = [9000] + [4000] * 200  # a first reading 125 % high: a settling battery
    baseline = learn(readings)
    assert baseline.final
    assert baseline.learned_uohm == 4000.0
    assert len(baseline.samples) == WINDOW.samples


def test_before_the_window_ends_the_baseline_is_provisional_and_still_learning():
    baseline = learn([5000, 4000, 4000], dt_s=100.0)  # 300 s of a 1000 s window
    assert not baseline.final
    assert baseline_uohm(baseline, WINDOW) == 4000.0


def test_once_learned_the_baseline_no_longer_moves():
    baseline = learn([4000] * 150)
    later = step_baseline(baseline, 8000, 10_000.0, WINDOW)
    assert later is baseline


def test_readings_in_a_discharge_are_not_sampled():
    assert learn([6000] * 50, steady=False) == ResistanceBaseline()


def test_resistance_soh_follows_ieee_1188_practice_and_says_so():
    params = SohParams()
    new = soh_from_resistance(4000, 4000.0, 12.0, params)
    assert (new.soh_pct, new.method, new.at) == (100.0, SohMethod.RESISTANCE, 12.0)
    assert soh_from_resistance(4800, 4000.0, 0.0, params).soh_pct == pytest.approx(60.0)  # +20 %: warn
    assert soh_from_resistance(6000, 4000.0, 0.0, params).soh_pct == 0.0  # +50 %: replace
    assert soh_from_resistance(4000, None, 0.0, params).method == SohMethod.NONE


def test_capacity_soh_after_a_discharge_to_the_end_voltage():
    battery = params_for(12, 100.0)
    run = start_run(100.0)
    for _ in range(8 * 360):  # 8 h at the rated 10 A: 80 Ah, then the cell hits its end voltage
        run = step_run(run, -10.0, 2.0, 4000, 10.0, battery)
    run = step_run(run, -10.0, battery.end_vpc - 0.01, 4000, 10.0, battery)
    soh = finish_run(run, 99.0, battery, SohParams())
    assert soh.method == SohMethod.CAPACITY and soh.at == 99.0
    assert soh.soh_pct == pytest.approx(80.0, abs=0.1)
    assert soh.to_end_voltage  # a test to the end voltage: it may rescale the SOC count


def test_a_capacity_from_a_discharge_that_stopped_short_is_marked_so():
    battery = params_for(12, 100.0)
    run = start_run(100.0)
    for _ in range(6 * 360):  # 60 Ah at the rated 10 A, stopped above the end voltage
        run = step_run(run, -10.0, 1.95, 4000, 10.0, battery)
    soh = finish_run(run, 1.0, battery, SohParams())
    assert soh.soh_pct is not None and not soh.to_end_voltage


def test_a_shallow_discharge_gives_no_capacity_soh():
    battery = params_for(12, 100.0)
    run = start_run(100.0)
    for _ in range(360):  # 10 Ah of 100
        run = step_run(run, -10.0, 2.05, 4000, 10.0, battery)
    assert finish_run(run, 1.0, battery, SohParams()).soh_pct is None


def test_each_cell_of_a_series_string_counts_until_its_own_end_voltage():
    """The same current flows through every cell; a weak cell reaches its end voltage first and
    its capacity is what it delivered until then, not what the string went on to deliver."""
    battery = params_for(12, 100.0)
    weak, strong = start_run(100.0), start_run(100.0)
    for k in range(9 * 360):  # 9 h at the rated 10 A; the weak cell is at its end after 8 h
        weak = step_run(weak, -10.0, battery.end_vpc - 0.02 if k >= 8 * 360 else 2.0, 4000, 10.0, battery)
        strong = step_run(strong, -10.0, battery.end_vpc - 0.01 if k == 9 * 360 - 1 else 2.0, 4000, 10.0, battery)
    assert finish_run(weak, 1.0, battery, SohParams()).soh_pct == pytest.approx(80.0, abs=0.1)
    assert finish_run(strong, 1.0, battery, SohParams()).soh_pct == pytest.approx(90.0, abs=0.1)
