"""The battery physics as pure functions: shapes and figures a battery engineer would check."""

import pytest

from sim import battery_model as bm


def test_cells_per_battery_follows_nominal_voltage():
    assert [bm.cells_per_battery(v) for v in (2, 6, 12)] == [1, 3, 6]


@pytest.mark.parametrize("bad", [0, 3, -2])
def test_cells_per_battery_rejects_non_lead_acid_voltages(bad):
    with pytest.raises(ValueError, match="multiple of 2 V"):
        bm.cells_per_battery(bad)


def test_open_circuit_voltage_rises_with_soc_between_empty_and_full():
    assert bm.open_circuit_voltage(0.0, 6) == pytest.approx(11.76)
    assert bm.open_circuit_voltage(1.0, 6) == pytest.approx(12.78)
    assert bm.open_circuit_voltage(0.4, 6) < bm.open_circuit_voltage(0.6, 6)


def test_knee_only_below_twenty_percent_and_deepest_when_empty():
    assert bm.knee_sag(0.5, 6) == 0.0
    assert 0.0 < bm.knee_sag(0.1, 6) < bm.knee_sag(0.0, 6) == pytest.approx(6 * bm.KNEE_DEPTH_V)


@pytest.mark.parametrize("volts, ah", [(12, 7), (12, 100), (12, 200), (6, 200), (2, 1000), (2, 3000)])
def test_new_resistance_is_inside_the_cell_sensor_range(volts, ah):
    r = bm.nominal_resistance_ohm(volts, ah)
    assert 0.1e-3 <= r <= 50e-3


def test_resistance_falls_with_capacity_and_rejects_zero_capacity():
    assert bm.nominal_resistance_ohm(12, 200) < bm.nominal_resistance_ohm(12, 100)
    with pytest.raises(ValueError, match="capacity"):
        bm.nominal_resistance_ohm(12, 0)


def test_float_current_is_about_one_milliamp_per_ah_and_doubles_per_ten_kelvin():
    assert bm.float_current_a(100, 20.0) == pytest.approx(0.1)
    assert bm.float_current_a(100, 30.0) == pytest.approx(2 * bm.float_current_a(100, 20.0))


def test_charge_demand_decays_to_the_float_current_when_full():
    assert bm.charge_demand_a(100, 1.0, 0.1) == pytest.approx(0.1)
    assert bm.charge_demand_a(100, 0.5, 0.1) > bm.charge_demand_a(100, 0.9, 0.1) > 0.1


def test_polarization_sign_follows_current_and_saturates():
    assert bm.polarization_target_v(10, 100) == pytest.approx(bm.POLARIZATION_V_PER_CELL_AT_01C)
    assert bm.polarization_target_v(-1000, 100) == -bm.POLARIZATION_MAX_V_PER_CELL


def test_relax_is_stable_for_any_step():
    assert bm.relax(10.0, 0.0, 1e9, 60.0) == pytest.approx(0.0)
    assert 0.0 < bm.relax(10.0, 0.0, 60.0, 60.0) < 10.0


def test_thermal_time_constant_is_the_same_for_every_size():
    for cells, ah in ((6, 100), (1, 1000)):
        tau = bm.heat_capacity_j_per_k(cells, ah) * bm.thermal_resistance_k_per_w(cells, ah)
        assert tau == pytest.approx(bm.THERMAL_TIME_CONSTANT_S)


def test_aging_raises_resistance_and_fades_capacity_with_a_floor():
    assert bm.aged_resistance_ohm(1.0, 0.03, 10) == pytest.approx(1.3)
    assert bm.aged_capacity_ah(100, 1.3) == pytest.approx(85.0)
    assert bm.aged_capacity_ah(100, 10.0) == pytest.approx(30.0)
