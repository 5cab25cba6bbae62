"""Runtime remaining with Peukert's law."""

from __future__ import annotations

import pytest

from battery.analytics import linear_runtime_min, params_for, runtime_min, ups_runtime_min

P = params_for(12, 100.0)  # C10: I_rated 10 A, k 1.15


def test_at_the_rated_current_peukert_and_linear_agree():
    assert runtime_min(100.0, -10.0, P) == pytest.approx(600.0)
    assert linear_runtime_min(100.0, -10.0, 100.0) == pytest.approx(600.0)


def test_peukert_makes_runtime_at_1c_shorter_than_linear():
    peukert = runtime_min(50.0, -100.0, P)
    linear = linear_runtime_min(50.0, -100.0, 100.0)
    assert peukert < linear
    assert peukert == pytest.approx(60.0 * 0.5 * 10.0 * (100.0 / (100.0 * 10.0)) ** 1.15)


def test_no_runtime_unless_discharging():
    assert runtime_min(80.0, 5.0, P) is None
    assert runtime_min(80.0, -0.5, P) is None  # below the rest current: no discharge
    assert runtime_min(None, -50.0, P) is None


def test_a_measured_smaller_capacity_shortens_runtime():
    assert runtime_min(50.0, -50.0, P, capacity_fraction=0.8) == pytest.approx(0.8 * runtime_min(50.0, -50.0, P))


def test_a_ups_runs_as_long_as_its_shortest_string():
    assert ups_runtime_min([30.0, None, 12.5]) == 12.5
    assert ups_runtime_min([None]) is None
