"""The simulated data center built from a topology: buses, addresses, IO modules, conventions."""

import pytest

from sim.io_module import SimulatedIoModule
from sim.site_model import SimulatedSite, demo_aging_string
from tests.factories import site_topology

T0 = 1_700_000_000.0


def test_strings_and_io_modules_are_keyed_by_address_on_their_bus():
    site = SimulatedSite(site_topology())
    assert sorted(site.strings_on_bus("bus1")) == [1, 2]
    assert sorted(site.strings_on_bus("bus2")) == [5]
    assert site.strings_on_bus("bus2")[5] is site.string("S3")
    assert sorted(site.io_modules_on_bus("bus1")) == [101]
    assert site.io_modules_on_bus("bus2") == {}


def test_unknown_string_is_named_in_the_error():
    with pytest.raises(KeyError, match="S9"):
        SimulatedSite(site_topology()).string("S9")


def test_string_with_index_2_carries_the_aging_battery():
    topology = site_topology()
    assert demo_aging_string(topology).id == "S2"
    site = SimulatedSite(topology)
    site.advance(T0)
    site.advance(T0 + 10 * 86400)
    r2 = site.string("S2").cell_resistance_ohm
    r1 = site.string("S1").cell_resistance_ohm
    middle = 12 - 1  # (24 + 1) // 2
    others = sorted(r for k, r in enumerate(r2) if k != middle)
    assert r2[middle] > max(others) and r2[middle] > 1.25 * others[len(others) // 2]
    assert max(r1) < 1.2 * min(r1)


def test_disconnect_output_on_opens_the_assigned_string_breaker():
    site = SimulatedSite(site_topology())
    site.advance(T0)
    lc1 = site.io_module("lc1")
    lc1.set_output(2, True)
    site.advance(T0 + 30)
    assert not site.string("S2").relay_closed and site.string("S1").relay_closed
    assert site.string("S2").measure().current_ca == pytest.approx(0, abs=10)
    lc1.set_output(8, True)  # the siren opens no breaker
    assert site.string("S1").relay_closed
    lc1.set_output(2, False)
    assert site.string("S2").relay_closed


def test_alarm_inputs_are_found_by_name():
    site = SimulatedSite(site_topology())
    site.set_alarm_input("leakage", True)
    assert site.io_module("lc1").inputs == [False, False, True, False, False, False, False, False]
    site.set_alarm_input("fire", True)
    assert site.io_module("lc1").inputs[3]
    with pytest.raises(KeyError, match="no digital input with alarm 'smoke'"):
        site.set_alarm_input("smoke", True)


def test_ups_discharge_reaches_each_of_its_strings_only():
    site = SimulatedSite(site_topology())
    site.advance(T0)
    site.schedule_discharge("U1", T0 + 10, 600, 20.0)
    site.advance(T0 + 60)
    assert site.string("S1").current_a == site.string("S2").current_a == -20.0
    assert site.string("S3").current_a > 0


def test_same_seed_same_site_other_seed_other_batteries():
    a, b, c = (SimulatedSite(site_topology(), seed=s) for s in (0, 0, 1))
    for site in (a, b, c):
        site.advance(T0)
    assert a.string("S1").measure() == b.string("S1").measure()
    assert a.string("S1").cell_resistance_ohm != c.string("S1").cell_resistance_ohm


def test_io_module_validates_numbers_and_notifies_listeners():
    changes = []
    m = SimulatedIoModule(7, lambda n, on: changes.append((n, on)))
    m.set_output(8, True)
    assert m.outputs[7] and changes == [(8, True)]
    with pytest.raises(ValueError, match="IO module 7: output must be 1..8, got 9"):
        m.set_output(9, True)
    with pytest.raises(ValueError, match="input must be 1..8, got 0"):
        m.set_input(0, True)
    with pytest.raises(ValueError, match="address"):
        SimulatedIoModule(0)
