"""Physics sanity of a simulated string, as a battery engineer would check it on a real one."""

import math

import pytest

from battery.site import BatteryType, StringConfig
from sim import battery_model as bm
from sim.faults import (
    DeviceOffline,
    DriftingSensor,
    HallSensorDisconnected,
    ImplausibleValue,
    OpenCell,
    SlowDevice,
    ThermalRunaway,
)
from sim.load_profile import LoadProfile
from sim.string_model import SimulatedString

T0 = 1_700_000_000.0
HOUR = 3600.0
DAY = 86400.0


def make_string(count=40, volts=12, ah=100.0, seed=1, aging_cell=None, climate_sensor=True):
    config = StringConfig(
        id="A1",
        index=1,
        name="A1",
        ups_id="U1",
        bus="bus1",
        address=1,
        battery=BatteryType(volts, ah, count),
        hall_range_a=300,
        climate_sensor=climate_sensor,
    )
    s = SimulatedString(config, seed, aging_cell=aging_cell)
    s.advance(T0)
    return s


def mean(values):
    return sum(values) / len(values)


def test_float_voltage_of_12v_batteries_is_13_5_to_13_8_v_with_a_spread():
    s = make_string()
    s.advance(T0 + 10)
    m = s.measure()
    assert all(13500 <= v <= 13800 for v in m.cell_voltage_mv), m.cell_voltage_mv
    assert max(m.cell_voltage_mv) - min(m.cell_voltage_mv) > 20  # every battery floats differently
    assert m.voltage_cv == pytest.approx(sum(m.cell_voltage_mv) / 10, abs=20)
    assert 0 < m.current_ca < 50  # float current: ~0.1 A for 100 Ah
    assert len(m.cell_resistance_uohm) == len(m.cell_temperature_dc) == len(m.cell_responded) == 40


def test_float_voltage_of_2v_cells_is_2_25_to_2_30_v():
    s = make_string(count=120, volts=2, ah=1000.0)
    s.advance(T0 + 10)
    m = s.measure()
    assert all(2250 <= v <= 2300 for v in m.cell_voltage_mv)
    assert 100 <= min(m.cell_resistance_uohm) and max(m.cell_resistance_uohm) <= 50000


def test_noise_is_a_few_counts_at_sensor_resolution():
    s = make_string()
    s.advance(T0 + 10)
    scans = [s.measure() for _ in range(20)]
    widest = {"cell_voltage_mv": 10, "cell_resistance_uohm": 30, "cell_temperature_dc": 6}
    for field, limit in widest.items():
        first_battery = [getattr(m, field)[0] for m in scans]
        assert len(set(first_battery)) > 1, field  # the reading moves between scans ...
        assert max(first_battery) - min(first_battery) <= limit, field  # ... by a few counts only


def test_same_seed_same_string():
    a, b = make_string(seed=7), make_string(seed=7)
    a.advance(T0 + 5)
    b.advance(T0 + 5)
    assert a.measure() == b.measure()
    assert make_string(seed=8).measure().cell_resistance_uohm != a.measure().cell_resistance_uohm


def test_discharge_sags_by_ir_at_once_then_falls_with_soc_and_heats_the_batteries():
    s = make_string()
    start, current = T0 + 60, 50.0
    s.load_profile.schedule_discharge(start, 1800, current)
    s.advance(start - 1)
    before = s.measure()
    s.advance(start + 1)
    first = s.measure()
    ir = [current * r for r in s.cell_resistance_ohm]
    for k in range(5):
        rested = bm.open_circuit_voltage(s.cell_soc[k], 6)
        assert first.cell_voltage_mv[k] / 1000 == pytest.approx(rested - ir[k], abs=0.08)
    assert first.current_ca == pytest.approx(-5000, abs=20)
    s.advance(start + 1500)
    late = s.measure()
    assert mean(late.cell_voltage_mv) < mean(first.cell_voltage_mv) - 300
    assert late.voltage_cv < first.voltage_cv < before.voltage_cv
    assert max(s.cell_soc) < 0.82  # 50 A x 25 min from 100 Ah
    assert mean(late.cell_temperature_dc) > mean(before.cell_temperature_dc) + 10  # > +1 °C


def test_after_a_discharge_voltage_recovers_and_recharge_current_decays():
    s = make_string()
    start = T0 + 60
    s.load_profile.schedule_discharge(start, 1800, 50.0)
    s.advance(start + 1799)
    last = s.measure()
    soc_end = mean(s.cell_soc)
    s.advance(start + 1810)
    recovered = s.measure()
    assert mean(recovered.cell_voltage_mv) > mean(last.cell_voltage_mv) + 500
    assert recovered.current_ca > 500  # recharging at the charger limit (10 A)
    s.advance(start + 1800 + 4 * HOUR)
    later = s.measure()
    s.advance(start + 1800 + 10 * HOUR)
    much_later = s.measure()
    assert recovered.current_ca > later.current_ca > much_later.current_ca > 0
    assert mean(s.cell_soc) > soc_end + 0.2
    assert all(13500 <= v <= 13800 for v in much_later.cell_voltage_mv)


def test_deep_discharge_ends_at_the_ups_low_voltage_cutoff_with_charge_left_at_a_high_rate():
    s = make_string()
    s.load_profile.schedule_discharge(T0 + 10, 4 * HOUR, 50.0)
    s.advance(T0 + 3 * HOUR)
    m = s.measure()
    assert m.current_ca == pytest.approx(0, abs=10)
    assert s.cut_off
    # At 0.5 C the plates run dry first: about a third of the rated charge is left (rate effect).
    assert 0.2 < min(s.cell_soc) < 0.45
    s.advance(T0 + 5 * HOUR)
    assert s.measure().current_ca > 500  # back on mains: recharging


def test_equalize_raises_the_voltage_above_float():
    s = make_string()
    s.load_profile.schedule_equalize(T0 + 10, HOUR)
    s.advance(T0 + 600)
    assert 14000 <= mean(s.measure().cell_voltage_mv) <= 14200


def test_aging_battery_resistance_rises_over_a_month_and_others_barely():
    s = make_string(aging_cell=5)
    new = s.measure().cell_resistance_uohm
    s.advance(T0 + 30 * DAY)
    old = s.measure().cell_resistance_uohm
    assert old[4] > 1.6 * new[4]
    others = [o / n for k, (o, n) in enumerate(zip(old, new)) if k != 4]
    assert max(others) < 1.03


def test_months_in_one_jump_are_stable():
    s = make_string()
    s.load_profile.schedule_discharge(T0 + DAY, HOUR, 40.0)
    s.advance(T0 + 90 * DAY)
    m = s.measure()
    assert all(math.isfinite(t) and 15.0 < t < 35.0 for t in s.cell_temperature_c)
    assert all(13400 <= v <= 13900 for v in m.cell_voltage_mv)
    assert min(s.cell_soc) > 0.999


def test_open_relay_stops_the_current_and_the_batteries_rest():
    s = make_string()
    s.set_relay(False)
    s.advance(T0 + 600)
    m = s.measure()
    assert not m.relay_closed
    assert m.current_ca == pytest.approx(0, abs=10)
    assert all(12600 <= v <= 12950 for v in m.cell_voltage_mv)  # open-circuit voltage, full
    s.set_relay(True)
    s.advance(T0 + 601)
    assert all(13500 <= v <= 13800 for v in s.measure().cell_voltage_mv)


def test_open_cell_reads_zero_volt_and_the_string_current_stops():
    s = make_string()
    s.inject(OpenCell(3))
    s.advance(T0 + 10)
    m = s.measure()
    assert m.cell_voltage_mv[2] <= 5
    assert m.cell_voltage_mv[1] > 12000
    assert m.current_ca == pytest.approx(0, abs=10)
    s.clear_faults(OpenCell)
    s.advance(T0 + 11)
    assert s.measure().cell_voltage_mv[2] > 13000


def test_thermal_runaway_raises_temperature_and_float_current_together():
    s = make_string()
    s.advance(T0 + 60)
    before_current = s.current_a
    before_temp = s.cell_temperature_c[9]
    s.inject(ThermalRunaway(10))
    steps = [s.advance(T0 + 60 + h * HOUR) or (s.current_a, s.cell_temperature_c[9]) for h in (4, 8, 12)]
    currents = [c for c, _ in steps]
    temps = [t for _, t in steps]
    assert currents == sorted(currents) and temps == sorted(temps)
    assert temps[-1] > before_temp + 10
    assert currents[-1] > 2 * before_current
    m = s.measure()
    assert m.cell_temperature_dc[9] > max(m.cell_temperature_dc[:9]) + 50
    assert m.current_ca > 2 * round(before_current * 100)


def test_implausible_value_reads_300_degrees():
    s = make_string()
    s.inject(ImplausibleValue(4))
    s.advance(T0 + 1)
    assert s.measure().cell_temperature_dc[3] == 3000


def test_drifting_sensor_wanders_off_from_injection():
    s = make_string()
    s.advance(T0 + 10)
    before = s.measure().cell_voltage_mv
    s.inject(DriftingSensor(2, "voltage", 20.0))
    s.advance(T0 + 10 + 10 * HOUR)
    after = s.measure().cell_voltage_mv
    assert after[1] - before[1] == pytest.approx(200, abs=10)  # float holds the true voltage still
    assert after[2] - before[2] == pytest.approx(0, abs=10)  # its neighbour's sensor is fine


def test_hall_sensor_disconnected_reports_zero_amps():
    s = make_string()
    s.inject(HallSensorDisconnected())
    s.advance(T0 + 10)
    m = s.measure()
    assert not m.hall_ok and m.current_ca == 0
    s.clear_faults()
    assert s.measure().hall_ok


def test_offline_and_slow_device_flags():
    s = make_string()
    s.inject(DeviceOffline())
    s.inject(SlowDevice(0.5))
    assert not s.online and s.response_delay_s == 0.5
    s.clear_faults(DeviceOffline)
    assert s.online and s.response_delay_s == 0.5


def test_fault_on_a_missing_cell_names_string_and_cell():
    s = make_string(count=10)
    with pytest.raises(ValueError, match="string A1 has 10 batteries; OpenCell names cell 11"):
        s.inject(OpenCell(11))


def test_no_climate_sensor_no_ambient_values():
    m = make_string(climate_sensor=False).measure()
    assert m.ambient_dc is None and m.humidity_dpct is None


def test_ambient_and_humidity_in_their_ranges():
    m = make_string().measure()
    assert 150 < m.ambient_dc < 300 and 300 < m.humidity_dpct < 600


def test_load_profile_can_be_shared_in():
    profile = LoadProfile()
    config = make_string().config
    assert SimulatedString(config, 1, load_profile=profile).load_profile is profile


def test_earlier_time_is_ignored():
    s = make_string()
    s.advance(T0 + 100)
    s.advance(T0 + 50)
    assert s.now == T0 + 100


def test_breaker_opening_shows_in_the_very_next_scan():
    s = make_string()
    s.advance(T0 + 10)
    s.set_relay(False)
    m = s.measure()  # no advance in between: the breaker acts at once
    assert not m.relay_closed and m.current_ca == pytest.approx(0, abs=10)


def test_io_module_fault_is_not_a_string_fault():
    from sim.faults import DigitalInputActive

    with pytest.raises(TypeError, match="string A1: .*DigitalInputActive.* is not a string fault"):
        make_string().inject(DigitalInputActive(1))
