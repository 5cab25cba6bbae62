"""The battery physics as pure functions: shapes and figures a battery engineer would check."""

import math
import random

import pytest

from sim import battery_model as bm
from sim import battery_params as p


def test_cells_per_battery_follows_nominal_voltage():
    assert [bm.cells_per_battery(v) for v in (2, 6, 12)] == [1, 3, 6]


@pytest.mark.parametrize("bad", [0, 3, -2])
def test_cells_per_battery_rejects_non_lead_acid_voltages(bad):
    with pytest.raises(ValueError, match="multiple of 2 V"):
        bm.cells_per_battery(bad)


def test_open_circuit_voltage_is_specific_gravity_plus_0_84_volt_per_cell():
    assert bm.open_circuit_voltage(0.0, 6) == pytest.approx(6 * (1.12 + 0.84))
    assert bm.open_circuit_voltage(1.0, 6) == pytest.approx(6 * (1.29 + 0.84))
    assert bm.open_circuit_voltage(0.4, 6) < bm.open_circuit_voltage(0.6, 6)


def test_charge_branch_rests_higher_than_discharge_branch():
    gap = bm.open_circuit_voltage(0.5, 1, 1.0) - bm.open_circuit_voltage(0.5, 1, -1.0)
    assert gap == pytest.approx(2 * p.OCV_HYSTERESIS_V_PER_CELL)


def test_hysteresis_moves_towards_the_branch_of_the_current_in_the_charge_passed():
    h = bm.hysteresis_step(1.0, -p.HYSTERESIS_CHARGE_FRACTION * 100.0, 100.0)  # 10 Ah out of 100 Ah
    assert h == pytest.approx(-1.0 + 2.0 * math.exp(-1.0))
    assert bm.hysteresis_step(h, 1000.0, 100.0) == pytest.approx(1.0)
    assert bm.hysteresis_step(0.3, 0.0, 100.0) == 0.3


def test_knee_only_below_twenty_percent_and_deepest_when_empty():
    assert bm.knee_sag(0.5, 6) == 0.0
    assert 0.0 < bm.knee_sag(0.1, 6) < bm.knee_sag(0.0, 6) == pytest.approx(6 * p.KNEE_DEPTH_V)
    assert bm.knee_sag(-0.2, 6) == bm.knee_sag(0.0, 6)


@pytest.mark.parametrize("volts, ah", [(12, 7), (12, 100), (12, 200), (6, 200), (2, 1000), (2, 3000)])
def test_new_resistance_is_inside_the_cell_sensor_range(volts, ah):
    r = bm.nominal_resistance_ohm(volts, ah)
    assert 0.1e-3 <= r <= 50e-3


def test_resistance_falls_with_capacity_and_rejects_zero_capacity():
    assert bm.nominal_resistance_ohm(12, 200) < bm.nominal_resistance_ohm(12, 100)
    with pytest.raises(ValueError, match="capacity"):
        bm.nominal_resistance_ohm(12, 0)


def test_resistance_rises_when_empty_and_when_cold():
    assert bm.resistance_factor(1.0, 25.0) == 1.0
    assert bm.resistance_factor(0.0, 25.0) == pytest.approx(1.0 + p.RESISTANCE_EMPTY_RISE)
    assert bm.resistance_factor(1.0, 15.0) == pytest.approx(1.0 + 10 * p.RESISTANCE_COLD_PER_K)
    assert bm.resistance_factor(1.0, 35.0) == 1.0


def test_float_current_is_about_one_milliamp_per_ah_and_doubles_per_ten_kelvin():
    assert bm.float_current_a(100, 20.0) == pytest.approx(0.1)
    assert bm.float_current_a(100, 30.0) == pytest.approx(2 * bm.float_current_a(100, 20.0))


def test_charge_demand_decays_to_the_float_current_when_full():
    assert bm.charge_demand_a(100, 1.0, 0.1) == pytest.approx(0.1)
    assert bm.charge_demand_a(100, 0.5, 0.1) > bm.charge_demand_a(100, 0.9, 0.1) > 0.1


def test_charge_efficiency_falls_in_the_gassing_region():
    assert bm.charge_efficiency(0.5) == p.CHARGE_EFFICIENCY
    assert bm.charge_efficiency(1.0) == pytest.approx(p.CHARGE_EFFICIENCY_FULL)
    assert p.CHARGE_EFFICIENCY_FULL < bm.charge_efficiency(0.95) < p.CHARGE_EFFICIENCY


def test_polarization_sign_follows_current_and_grows_slower_than_the_current():
    at_01c = bm.polarization_target_v(10, 100)
    assert 0.015 < at_01c < 0.03
    assert bm.polarization_target_v(-10, 100) == pytest.approx(-at_01c)
    assert at_01c < bm.polarization_target_v(100, 100) < 10 * at_01c  # Butler-Volmer, not Ohm


def test_relax_is_stable_for_any_step():
    assert bm.relax(10.0, 0.0, 1e9, 60.0) == pytest.approx(0.0)
    assert 0.0 < bm.relax(10.0, 0.0, 60.0, 60.0) < 10.0


def test_kibam_step_conserves_charge_and_opens_the_gap_it_then_closes():
    soc, d = bm.kibam_step(1.0, 0.0, -50.0, 100.0, 0.46, 3000.0, 1800.0)
    assert soc == pytest.approx(1.0 - 25.0 / 100.0)  # exact coulomb count of the stored charge
    assert d > 0.0 and bm.available_soc(soc, d, 0.46) < soc  # the plates ran ahead
    rested_soc, rested_d = bm.kibam_step(soc, d, 0.0, 100.0, 0.46, 3000.0, 3000.0)
    assert rested_soc == soc and rested_d == pytest.approx(d / math.e)  # relaxes with tau


def test_reference_reserve_is_a_few_percent_of_the_stored_charge():
    u = bm.reference_reserve(p.OCV_EMPTY_V, 0.46, 3000.0, 0.8e-3, 100.0)
    assert 0.05 < u < 0.25  # mostly the diffusion gap the 10-hour current holds open


def test_cold_reserve_is_the_temperature_coefficient_below_25_degrees():
    assert bm.cold_reserve(30.0) == 0.0
    assert bm.cold_reserve(15.0) == pytest.approx(10 * p.CAPACITY_TEMPERATURE_COEFFICIENT)
    assert bm.cold_reserve(-200.0) == p.MAX_COLD_CAPACITY_LOSS


def test_self_discharge_is_three_percent_a_month_at_20_degrees_and_doubles_per_ten_kelvin():
    assert bm.self_discharge_per_s(20.0) * bm.SECONDS_PER_MONTH == pytest.approx(0.03)
    assert bm.self_discharge_per_s(30.0) == pytest.approx(2 * bm.self_discharge_per_s(20.0))


def test_thermal_time_constant_is_the_same_for_every_size():
    for cells, ah in ((6, 100), (1, 1000)):
        tau = bm.heat_capacity_j_per_k(cells, ah) * bm.thermal_resistance_k_per_w(cells, ah)
        assert tau == pytest.approx(p.THERMAL_TIME_CONSTANT_S)


def test_ageing_raises_resistance_and_fades_capacity_with_a_floor_and_heat_accelerates_it():
    assert bm.aged_resistance_ohm(1.0, 0.3, 1.0) == pytest.approx(1.3)
    assert bm.aged_capacity_ah(100, 0.15, 1.0) == pytest.approx(85.0)
    assert bm.aged_capacity_ah(100, 1.0, 10.0) == pytest.approx(100 * p.MIN_CAPACITY_FRACTION)
    assert bm.ageing_acceleration(35.0) == pytest.approx(2.0)


def test_ageing_rates_are_correlated_but_not_locked():
    rng = random.Random(3)
    rates = [bm.ageing_rates(rng) for _ in range(4000)]
    logs = [(math.log(r), math.log(f)) for r, f in rates]
    mx = sum(x for x, _ in logs) / len(logs)
    my = sum(y for _, y in logs) / len(logs)
    sxy = sum((x - mx) * (y - my) for x, y in logs)
    sxx = sum((x - mx) ** 2 for x, _ in logs)
    syy = sum((y - my) ** 2 for _, y in logs)
    assert sxy / math.sqrt(sxx * syy) == pytest.approx(p.AGEING_RATE_CORRELATION, abs=0.05)
    ratios = sorted(f / r for r, f in rates)
    assert ratios[-len(ratios) // 10] > 2 * ratios[len(ratios) // 10]  # no fixed fade per rise
    assert math.exp(mx) == pytest.approx(p.NORMAL_RESISTANCE_RISE_PER_YEAR, rel=0.05)


def test_fade_for_a_given_rise_follows_the_same_law():
    rng = random.Random(5)
    fades = sorted(bm.fade_for_rise(p.NORMAL_RESISTANCE_RISE_PER_YEAR * 4, rng) for _ in range(2000))
    median = fades[len(fades) // 2]
    expected = p.NORMAL_CAPACITY_FADE_PER_YEAR * 4**p.AGEING_RATE_CORRELATION  # regression on the log rise
    assert median == pytest.approx(expected, rel=0.05)
    assert fades[-200] > 1.3 * fades[200]
