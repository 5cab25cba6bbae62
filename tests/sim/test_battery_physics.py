"""The simulator's battery against the literature it claims: rate effect, temperature, OCV
hysteresis and relaxation, ageing not locked, spread; and the truth the benchmark reads."""

import math
import statistics
import threading

import pytest

from battery.site import BatteryType, StringConfig
from protocols.fieldbus.device_maps import CELL_STATUS_BALANCING, INSULATION_WINDOW, cell_register
from sim import battery_model as bm
from sim import battery_params as p
from sim.faults import InsulationFault
from sim.rtu_devices import SiteClock, StringMasterSlave
from sim.string_model import INSULATION_STATUS_LOW, INSULATION_STATUS_OK, RoomClimate, SimulatedString
from sim.truth import runtime_to_cutoff_s, string_truth

T0 = 1_700_000_000.0
MINUTE = 60.0
HOUR = 3600.0


def make_string(count=4, ah=100.0, seed=3, temperature_c=25.0, insulation_sensor=False):
    config = StringConfig(
        id="P1",
        index=1,
        name="P1",
        ups_id="U1",
        bus="bus1",
        address=1,
        battery=BatteryType(12, ah, count),
        hall_range_a=500,
        climate_sensor=True,
        insulation_sensor=insulation_sensor,
    )
    s = SimulatedString(config, seed, climate=RoomClimate(mean_c=temperature_c, daily_swing_c=0.0))
    s.advance(T0)
    return s


class OneStringSite:
    """What a SiteClock drives: one string and the lock the site would share."""

    def __init__(self, string):
        self.string = string
        self.lock = threading.RLock()

    def advance(self, now):
        self.string.advance(now)


def string_master(s):
    return StringMasterSlave(s.config, s, SiteClock(OneStringSite(s), now=lambda: s.now))


def delivered_ah(c_rate, temperature_c=25.0):
    s = make_string(temperature_c=temperature_c)
    current = c_rate * 100.0
    return current * runtime_to_cutoff_s(s, current) / HOUR


def test_capacity_falls_with_the_rate_as_vrla_peukert_exponents_say():
    slow, fast = delivered_ah(0.05), delivered_ah(1.0)
    exponent = 1.0 + math.log(slow / fast) / math.log(1.0 / 0.05)  # Peukert: C ~ I^(1-k)
    assert 1.1 <= exponent <= 1.3
    assert delivered_ah(0.1) == pytest.approx(100.0, rel=0.05)  # the C10 rating holds


def test_a_cold_battery_delivers_less_by_the_temperature_coefficient():
    warm, cold = delivered_ah(0.1, 25.0), delivered_ah(0.1, 10.0)
    per_kelvin = (1.0 - cold / warm) / 15.0
    assert 0.006 <= per_kelvin <= 0.01


def test_a_rest_after_a_high_rate_discharge_gives_charge_back():
    s = make_string()
    first = runtime_to_cutoff_s(s, 100.0)
    s.load_profile.schedule_discharge(T0 + 10, first + 60, 100.0)
    s.advance(T0 + 10 + first + 30)
    assert s.cut_off
    s.load_profile.schedule_idle(T0 + 10 + first + 60, 4 * HOUR)
    s.advance(T0 + 10 + first + 60 + 4 * HOUR)  # resting: the bound charge diffuses to the plates
    assert runtime_to_cutoff_s(s, 100.0) > 10 * MINUTE  # the recovery effect Peukert's law lacks


def _rest_after(s, start, discharge_s, current_a, rest_s):
    s.load_profile.schedule_discharge(start, discharge_s, current_a)
    s.load_profile.schedule_idle(start + discharge_s, rest_s)


def test_rested_voltage_relaxes_towards_equilibrium_with_the_diffusion_time_constant():
    s = make_string()
    end = T0 + 10 + 15 * MINUTE
    _rest_after(s, T0 + 10, 15 * MINUTE, 50.0, 12 * HOUR)
    readings = {}
    for minutes in (10, 60, 600):
        s.advance(end + minutes * MINUTE)
        readings[minutes] = sum(s.true_cell_voltages())
    left = (readings[600] - readings[60]) / (readings[600] - readings[10])
    assert readings[10] < readings[60] < readings[600]
    assert left == pytest.approx(math.exp(-50 * MINUTE / p.KIBAM_TIME_CONSTANT_S), abs=0.08)  # tens of minutes


def _offsets_from_equilibrium(s):
    """Each battery's rested voltage minus the OCV its plates' charge would have without hysteresis."""
    bank = s.bank
    equilibrium = [e + bank.ocv_slope_v * a for e, a in zip(bank.ocv_empty_v, bank.available())]
    return [v - e for v, e in zip(s.true_cell_voltages(), equilibrium)]


def test_rested_voltage_after_a_charge_sits_above_the_one_after_a_discharge():
    discharged = make_string()
    _rest_after(discharged, T0 + 10, 5 * HOUR, 10.0, 10 * HOUR)
    discharged.advance(T0 + 15 * HOUR)
    recharged = make_string()
    recharged.load_profile.schedule_discharge(T0 + 10, 7 * HOUR, 10.0)
    recharged.load_profile.schedule_idle(T0 + 10 + 9 * HOUR, 10 * HOUR)  # 2 h of recharge first
    recharged.advance(T0 + 10 + 19 * HOUR)
    assert 0.3 < min(recharged.cell_soc) and max(recharged.cell_soc) < 0.8
    branch = 6 * p.OCV_HYSTERESIS_V_PER_CELL
    assert max(_offsets_from_equilibrium(discharged)) < -0.8 * branch
    assert min(_offsets_from_equilibrium(recharged)) > 0.5 * branch


def test_capacity_fade_and_resistance_rise_are_correlated_but_not_locked():
    s = make_string(count=120)
    s.bank.age(5 * bm.SECONDS_PER_YEAR)
    s.advance(T0 + 60)
    batteries = string_truth(s).batteries
    rises = [b.resistance_rise for b in batteries]
    fades = [1.0 - b.capacity_ah / b.new_capacity_ah for b in batteries]
    assert all(r > 0 for r in rises) and all(f > 0 for f in fades)
    correlation = statistics.correlation([math.log(r) for r in rises], [math.log(f) for f in fades])
    assert 0.4 < correlation < 0.9
    ratios = sorted(f / r for r, f in zip(rises, fades))
    assert ratios[-12] > 1.5 * ratios[12]  # no fixed fade per unit of resistance rise to invert


def test_batteries_of_one_string_spread():
    batteries = string_truth(make_string(count=120)).batteries
    capacities = [b.new_capacity_ah for b in batteries]
    resistances = [b.new_resistance_ohm for b in batteries]
    assert 0.01 < statistics.stdev(capacities) / statistics.mean(capacities) < 0.03
    assert 0.03 < statistics.stdev(resistances) / statistics.mean(resistances) < 0.07
    assert all(0.95 < b.capacity_ah / b.new_capacity_ah <= 1.0 + 1e-9 for b in batteries)


def test_truth_is_the_weakest_battery_and_a_runtime_probe_leaves_the_string_alone():
    s = make_string()
    s.load_profile.schedule_discharge(T0 + 10, HOUR, 30.0)
    s.advance(T0 + 10 + 30 * MINUTE)
    before = string_truth(s)
    assert before.soc == min(s.cell_soc) and before.current_a == -30.0
    assert 0.8 < before.soc < 0.9  # 15 Ah out of 100 Ah
    assert runtime_to_cutoff_s(s, 30.0) > 30 * MINUTE
    assert string_truth(s) == before


def test_insulation_fault_falls_over_its_time_and_the_bm_gs_flags_it_in_its_registers():
    s = make_string(count=40, insulation_sensor=True)
    slave = string_master(s)
    healthy = slave.input_registers(0)
    assert healthy[INSULATION_WINDOW + 2] == pytest.approx(p.HEALTHY_INSULATION_KOHM, rel=0.05)
    assert healthy[INSULATION_WINDOW + 3] == INSULATION_STATUS_OK
    s.inject(InsulationFault(to_kohm=20.0, over_s=HOUR))
    s.advance(T0 + 30 * MINUTE)
    assert s.insulation_kohm == pytest.approx(math.sqrt(p.HEALTHY_INSULATION_KOHM * 20.0), rel=0.01)
    s.advance(T0 + 2 * HOUR)
    low = slave.input_registers(0)
    assert low[INSULATION_WINDOW + 2] == pytest.approx(20, abs=1)
    assert low[INSULATION_WINDOW + 3] == INSULATION_STATUS_LOW  # below 100 Ω/V of 480 V


def test_a_battery_floating_high_is_balanced_and_the_cell_sensor_says_so():
    s = make_string(count=40)
    s.advance(T0 + 2 * HOUR)
    m = s.measure()
    bled = [i for i, on in enumerate(m.cell_balancing) if on]
    assert bled and len(bled) < 40
    slave = string_master(s)
    registers = slave.input_registers(0)
    flags = [bool(registers[cell_register(k + 1, 4)] & CELL_STATUS_BALANCING) for k in range(40)]
    assert flags == list(m.cell_balancing)
    s.load_profile.schedule_discharge(T0 + 2 * HOUR + 10, HOUR, 20.0)
    s.advance(T0 + 2 * HOUR + 20)
    assert not any(s.measure().cell_balancing)  # the bleed only works at the charger's set point
