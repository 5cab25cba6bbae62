"""Weakest-cell rankings by resistance rise, voltage sag and temperature."""

from __future__ import annotations

import pytest

from battery.analytics import string_weakest, ups_weakest


def test_every_cell_with_a_20_percent_rise_is_ranked_in_order():
    rises = [0.01 * (i % 7) for i in range(120)]
    for index, rise in {17: 0.35, 3: 0.22, 90: 0.5, 44: 0.2, 101: 0.27}.items():
        rises[index - 1] = rise
    rises[59] = None  # no baseline yet: left out
    ranking = string_weakest(rises, [13500] * 120, [25.0] * 120, discharging=False)
    assert [k for k, _ in ranking.by_resistance_rise] == [90, 17, 101, 3, 44]
    assert ranking.by_resistance_rise[0][1] == pytest.approx(0.5)


def test_voltage_sag_counts_only_under_discharge_and_skips_silent_cells():
    voltages = [12000, 11500, 12010, 0, 11800]
    assert string_weakest([None] * 5, voltages, [None] * 5, discharging=False).by_voltage_sag == ()
    sag = string_weakest([None] * 5, voltages, [None] * 5, discharging=True).by_voltage_sag
    assert sag == ((2, 400.0), (5, 100.0))  # median of the 4 answering cells: 11900 mV


def test_temperature_above_the_string_median():
    temps = [25.0, 25.5, 31.0, 25.0, None, 26.0]
    hot = string_weakest([None] * 6, [0] * 6, temps, discharging=False).by_temperature
    assert hot == ((3, 5.5), (6, 0.5))  # median 25.5 °C; cell 2 at the median is not ranked


def test_a_ups_ranking_merges_its_strings():
    a = string_weakest([0.3, 0.1, 0.25], [0] * 3, [None] * 3, False)
    b = string_weakest([0.28, 0.4, 0.0], [0] * 3, [None] * 3, False)
    merged = ups_weakest([("A", a), ("B", b)], count=3)
    assert [k for k, _ in merged.by_resistance_rise] == [("B", 2), ("A", 1), ("B", 1)]
