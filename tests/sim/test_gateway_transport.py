"""The sim:// field bus transport: what the FieldBus actor sees of the simulated site."""

import pickle
import time

import pytest

from battery.readings import StringScan
from protocols.fieldbus.transport import TransportError
from sim.faults import DeviceOffline, ImplausibleValue, SlowDevice
from sim.gateway_transport import SimTransport, drop_shared_site, shared_site, site_name
from tests.factories import site_topology


@pytest.fixture
def topology():
    drop_shared_site("site-test")
    yield site_topology()
    drop_shared_site("site-test")


def transports(topology):
    return {b.id: SimTransport(b, topology) for b in topology.buses}


def test_site_name_from_port():
    assert site_name("sim://demo") == "demo"
    for bad in ("sim://", "/dev/ttyUSB0"):
        with pytest.raises(ValueError, match="sim://NAME"):
            site_name(bad)


def test_transports_of_one_url_share_one_site(topology):
    t = transports(topology)
    assert t["bus1"].site is t["bus2"].site is shared_site("site-test", topology)


def test_poll_string_gives_a_full_picklable_scan(topology):
    bus1 = transports(topology)["bus1"]
    s1 = topology.string("S1")
    scan = bus1.poll_string(s1, 1, 1234.5)
    assert isinstance(scan, StringScan) and scan.responded
    assert (scan.string_id, scan.scan_no, scan.timestamp) == ("S1", 1, 1234.5)
    assert len(scan.cell_voltage_mv) == len(scan.cell_resistance_uohm) == len(scan.cell_temperature_dc) == 24
    assert all(13500 <= v <= 13800 for v in scan.cell_voltage_mv)
    assert scan.relay_closed and scan.hall_ok and scan.ambient_dc is not None
    assert pickle.loads(pickle.dumps(scan)) == scan


def test_site_advances_once_per_scan_number(topology):
    clock = [1_700_000_000.0]
    bus1 = SimTransport(topology.buses[0], topology, clock=lambda: clock[0])
    s1, s2 = topology.string("S1"), topology.string("S2")
    bus1.poll_string(s1, 1, 0.0)
    clock[0] += 5.0
    bus1.poll_string(s2, 1, 0.0)
    assert bus1.site.string("S1").now == 1_700_000_000.0  # same scan: no second step
    bus1.poll_string(s1, 2, 0.0)
    assert bus1.site.string("S2").now == 1_700_000_005.0


def test_default_clock_is_the_wall_clock(topology):
    bus1 = transports(topology)["bus1"]
    before = time.time()
    bus1.poll_string(topology.string("S1"), 1, 0.0)
    assert before <= bus1.site.string("S1").now <= time.time()


def test_a_string_on_another_bus_does_not_answer(topology):
    bus1 = transports(topology)["bus1"]
    assert not bus1.poll_string(topology.string("S3"), 1, 0.0).responded


def test_offline_device_does_not_answer_until_cleared(topology):
    bus1 = transports(topology)["bus1"]
    bus1.site.string("S2").inject(DeviceOffline())
    assert not bus1.poll_string(topology.string("S2"), 1, 0.0).responded
    assert bus1.poll_string(topology.string("S1"), 1, 0.0).responded
    bus1.site.string("S2").clear_faults(DeviceOffline)
    assert bus1.poll_string(topology.string("S2"), 2, 0.0).responded


def test_slow_device_beyond_the_bus_timeout_is_silent(topology):
    bus1 = transports(topology)["bus1"]  # timeout_s 0.2
    device = bus1.site.string("S1")
    device.inject(SlowDevice(0.05))
    assert bus1.poll_string(topology.string("S1"), 1, 0.0).responded
    device.clear_faults()
    device.inject(SlowDevice(5.0))
    started = time.monotonic()
    assert not bus1.poll_string(topology.string("S1"), 2, 0.0).responded
    assert time.monotonic() - started < 1.0  # waited the bus timeout, not the device


def test_injected_fault_reaches_the_scan(topology):
    bus1 = transports(topology)["bus1"]
    shared_site("site-test", topology).string("S1").inject(ImplausibleValue(2))
    assert bus1.poll_string(topology.string("S1"), 1, 0.0).cell_temperature_dc[1] == 3000


def test_disconnect_output_written_over_the_bus_opens_the_string(topology):
    bus1 = transports(topology)["bus1"]
    bus1.write_output(101, 1, True)
    scan = bus1.poll_string(topology.string("S1"), 1, 0.0)
    assert not scan.relay_closed
    assert scan.current_ca == pytest.approx(0, abs=10)
    bus1.write_output(101, 1, False)
    assert bus1.poll_string(topology.string("S1"), 2, 0.0).relay_closed


def test_write_to_missing_or_offline_module_raises_transport_error(topology):
    t = transports(topology)
    with pytest.raises(TransportError, match="bus bus2: no IO module answered at address 101"):
        t["bus2"].write_output(101, 1, True)
    with pytest.raises(TransportError, match="outputs 1..8, not 9"):
        t["bus1"].write_output(101, 9, True)
    t["bus1"].site.io_module("lc1").inject(DeviceOffline())
    with pytest.raises(TransportError):
        t["bus1"].write_output(101, 1, True)
    assert t["bus1"].read_inputs(101) is None


def test_read_inputs_shows_a_leak(topology):
    bus1 = transports(topology)["bus1"]
    assert bus1.read_inputs(101) == (False,) * 8
    bus1.site.set_alarm_input("leakage", True)
    assert bus1.read_inputs(101)[2] is True
    assert bus1.read_inputs(55) is None


def test_closed_transport_refuses_work(topology):
    bus1 = transports(topology)["bus1"]
    bus1.close()
    bus1.close()
    with pytest.raises(TransportError, match="closed"):
        bus1.poll_string(topology.string("S1"), 1, 0.0)


def test_explicit_site_is_used_instead_of_the_registry(topology):
    from sim.site_model import SimulatedSite

    own = SimulatedSite(topology, seed=3)
    assert SimTransport(topology.buses[0], topology, own).site is own
