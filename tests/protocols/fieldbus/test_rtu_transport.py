"""The gateway's real serial code (pyserial + pymodbus RTU) against the simulator on a pty pair.

Nothing is patched: the simulator serves real Modbus RTU frames, paced at the baud rate, on a
pseudo-terminal (or a loopback TCP socket); the bus scheduler opens the other end through the
RTU transport, like a USB adapter.
"""

from __future__ import annotations

import dataclasses
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from battery.readings import StringScan
from battery.site import (
    BatteryType,
    BusConfig,
    GatewayConfig,
    IoModuleConfig,
    MasterControllerConfig,
    OutputConfig,
    StringConfig,
    Topology,
    UpsConfig,
)
from protocols.fieldbus.bus_messages import (
    BusPortLost,
    BusPortReopened,
    DeviceCommunicationLost,
    DeviceCommunicationRecovered,
    IoModuleScan,
    OutputWritten,
    SetOutput,
)
from protocols.fieldbus.discovery import discover
from protocols.fieldbus.rtu_transport import ModbusRtuTransport
from protocols.fieldbus.scheduler import BusScheduler
from sim.control import ControlClient, ControlError, ControlServer, run_fault_cli
from sim.fieldbus_sim import SimulatedFieldBuses
from sim.site_model import SimulatedSite
from topology.loader import check_topology

pytestmark = pytest.mark.integration

CELLS = 8


def _topology() -> Topology:
    bus = BusConfig(id="rs485", port="/dev/ttyUSB0", baudrate=115200, timeout_s=0.1, scan_period_s=0.05, miss_limit=2)
    strings = tuple(
        StringConfig(
            id=sid,
            index=i,
            name=sid,
            ups_id="U1",
            bus="rs485",
            address=i,
            battery=BatteryType(2, 200.0, CELLS),
            hall_range_a=500,
            climate_sensor=(i == 1),
        )  # fmt: skip
        for i, sid in ((1, "A1"), (2, "A2"))
    )
    mc = MasterControllerConfig(bus="rs485", address=100, io_modules=(IoModuleConfig("lc1", 101),),
                                outputs=(OutputConfig("lc1", 1, "disconnect", "A1"),))  # fmt: skip
    return Topology(GatewayConfig("gw", "gw"), (bus,), (UpsConfig("U1", 1, "U1", strings),), mc)


class Recorder:
    """Collects what the scheduler reports (from its thread) and waits on conditions with a deadline."""

    def __init__(self) -> None:
        self.scans: list[StringScan] = []
        self.events: list[object] = []
        self.io: list[IoModuleScan] = []
        self._cond = threading.Condition()

    def _add(self, target: list) -> Callable[[object], None]:
        def add(item: object) -> None:
            with self._cond:
                target.append(item)
                self._cond.notify_all()

        return add

    def wait(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout_s):
                raise AssertionError(f"condition not met within {timeout_s} s; events: {self.events}")

    def scans_of(self, string_id: str) -> list[StringScan]:
        return [s for s in self.scans if s.string_id == string_id]

    def of_type(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


@dataclasses.dataclass
class Rig:
    topology: Topology
    site: SimulatedSite
    field: SimulatedFieldBuses
    control: ControlClient
    bus: BusConfig  # with the simulator's port
    rec: Recorder
    poller: BusScheduler | None = None

    def start_poller(self) -> BusScheduler:
        t = self.topology
        self.poller = BusScheduler(self.bus, t.strings, (101,), ModbusRtuTransport(self.bus),
                                   self.rec._add(self.rec.scans), self.rec._add(self.rec.events),
                                   on_io_scan=self.rec._add(self.rec.io))  # fmt: skip
        self.poller.start()
        return self.poller


def _rig(tmp_path: Path, listen: str) -> Iterator[Rig]:
    topology = _topology()
    site = SimulatedSite(topology, seed=3)
    field = SimulatedFieldBuses(topology, site, tmp_path / "sim", listen=listen)  # type: ignore[arg-type]
    control_server = ControlServer(field)
    field.start()
    control_server.start()
    control = ControlClient(control_server.port)
    bus = dataclasses.replace(topology.buses[0], port=field.ports()["rs485"])
    rig = Rig(topology, site, field, control, bus, Recorder())
    try:
        yield rig
    finally:
        if rig.poller is not None:
            rig.poller.stop()
        control.close()
        control_server.stop()
        field.stop()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    yield from _rig(tmp_path, "pty")


def test_scans_carry_every_cell_of_every_string(rig: Rig):
    rig.start_poller()
    rig.rec.wait(lambda: len(rig.rec.scans_of("A2")) >= 3 and len(rig.rec.io) >= 3)
    a1, a2 = rig.rec.scans_of("A1")[-1], rig.rec.scans_of("A2")[-1]
    assert a1.responded and a2.responded
    assert len(a1.cell_voltage_mv) == CELLS and all(a1.cell_responded)
    assert all(2150 <= v <= 2350 for v in a1.cell_voltage_mv), a1.cell_voltage_mv  # 2 V cells in float
    assert a1.voltage_cv == pytest.approx(sum(a1.cell_voltage_mv) / 10, rel=0.02)
    assert a1.ambient_dc is not None and a2.ambient_dc is None  # only A1 has a BM-TH
    assert [s.scan_no for s in rig.rec.scans_of("A1")][:3] == [1, 2, 3]
    assert rig.rec.io[-1].responded and rig.rec.io[-1].outputs == (False,) * 8
    assert rig.rec.events == []


def test_command_reaches_the_relay_and_the_next_scan_shows_it(rig: Rig):
    rig.start_poller()
    rig.rec.wait(lambda: len(rig.rec.scans_of("A1")) >= 1)
    rig.poller.submit(SetOutput(101, 1, True, "cell alarm"))  # type: ignore[union-attr]
    rig.rec.wait(lambda: bool(rig.rec.of_type(OutputWritten)))
    written = rig.rec.of_type(OutputWritten)[0]
    assert written.ok and written.error == ""
    assert written.queued_ms < 100  # waited at most for the request already on the wire
    assert rig.site.string("A1").relay_closed is False
    count = len(rig.rec.scans)
    rig.rec.wait(lambda: any(not s.relay_closed for s in rig.rec.scans[count:] if s.string_id == "A1"))
    rig.rec.wait(lambda: any(i.outputs[0] for i in rig.rec.io))


def test_silent_device_goes_stale_alarms_once_and_recovers_once(rig: Rig):
    rig.start_poller()
    rig.rec.wait(lambda: len(rig.rec.scans_of("A2")) >= 1)
    rig.control.send("inject", string="A2", fault="offline")
    rig.rec.wait(lambda: bool(rig.rec.of_type(DeviceCommunicationLost)))
    mark = len(rig.rec.scans)
    rig.rec.wait(lambda: len([s for s in rig.rec.scans[mark:] if s.string_id == "A2"]) >= 3)
    assert not any(s.responded for s in rig.rec.scans[mark:] if s.string_id == "A2")  # stale, never current
    assert all(s.responded for s in rig.rec.scans[mark:] if s.string_id == "A1")  # the others keep going
    rig.control.send("clear", string="A2")
    rig.rec.wait(lambda: bool(rig.rec.of_type(DeviceCommunicationRecovered)))
    lost = rig.rec.of_type(DeviceCommunicationLost)
    assert len(lost) == 1 and lost[0].device_address == 2 and lost[0].misses == 2
    assert len(rig.rec.of_type(DeviceCommunicationRecovered)) == 1
    stale = [s for s in rig.rec.scans_of("A2") if not s.responded]
    assert all(s.cell_voltage_mv == () for s in stale)


def test_unplugged_port_is_reported_once_and_reopened(rig: Rig):
    rig.start_poller()
    rig.rec.wait(lambda: len(rig.rec.scans_of("A1")) >= 1)
    rig.control.send("unplug", bus="rs485")
    rig.rec.wait(lambda: bool(rig.rec.of_type(BusPortLost)))
    mark = len(rig.rec.scans)
    rig.rec.wait(lambda: len(rig.rec.scans) >= mark + 4)
    assert not any(s.responded for s in rig.rec.scans[mark:])
    reply = rig.control.send("replug", bus="rs485")
    assert reply["port"] == rig.bus.port  # same name: the symlink is back
    rig.rec.wait(lambda: bool(rig.rec.of_type(BusPortReopened)))
    mark = len(rig.rec.scans)
    rig.rec.wait(lambda: any(s.responded for s in rig.rec.scans[mark:]))
    assert len(rig.rec.of_type(BusPortLost)) == 1 and len(rig.rec.of_type(BusPortReopened)) == 1
    assert rig.rec.of_type(DeviceCommunicationLost) == []  # the port is the alarm, not each device


def test_noisy_line_loses_no_scan_and_serves_no_garbage(rig: Rig):
    rig.control.send("noise", bus="rs485", fraction=0.2)
    rig.start_poller()
    rig.rec.wait(lambda: len(rig.rec.scans) >= 30, timeout_s=30)
    status = rig.control.send("status")["buses"]["rs485"]
    assert status["corrupted"] > 0
    answered = [s for s in rig.rec.scans if s.responded]
    assert len(answered) >= len(rig.rec.scans) - 2  # a retry recovers a corrupted frame
    assert all(2150 <= v <= 2350 for s in answered for v in s.cell_voltage_mv)


def test_faults_through_the_control_channel_show_in_the_readings(rig: Rig):
    rig.control.send("inject", string="A1", fault="implausible_value", args={"cell": 3})
    rig.control.send("inject", string="A2", fault="hall_disconnected")
    rig.control.send("input", module="lc1", input=2, on=True)
    with pytest.raises(ControlError, match="unknown fault 'melt'"):
        rig.control.send("inject", string="A1", fault="melt")
    rig.start_poller()
    rig.rec.wait(lambda: len(rig.rec.scans_of("A2")) >= 1 and len(rig.rec.io) >= 1)
    assert rig.rec.scans_of("A1")[-1].cell_temperature_dc[2] == 3000  # 300.0 °C, as in the manual
    assert rig.rec.scans_of("A2")[-1].hall_ok is False
    assert rig.rec.io[-1].inputs[1] is True


def test_discovery_finds_every_simulated_device_and_drafts_a_valid_topology(rig: Rig, tmp_path: Path):
    progress: list[tuple[int, int]] = []
    text = discover(rig.bus.port, addresses=(1, 2, 3, 100, 101), baudrates=(9600, 115200),
                    progress=lambda done, total, _: progress.append((done, total)))  # fmt: skip
    draft = yaml.safe_load(text)
    assert draft["buses"][0]["baudrate"] == 115200  # nobody answers at 9600
    strings = draft["upses"][0]["strings"]
    assert [s["address"] for s in strings] == [1, 2]
    assert strings[0]["battery"]["count"] == CELLS and strings[0]["battery"]["nominal_voltage"] == 2
    assert strings[0]["climate_sensor"] is True and strings[1]["climate_sensor"] is False
    assert draft["master_controller"]["address"] == 100
    assert draft["master_controller"]["io_modules"] == [{"id": "lc1", "address": 101}]
    assert progress[-1] == (10, 10)
    path = tmp_path / "draft.yaml"
    path.write_text(text)
    assert check_topology(path) == []


def test_tcp_line_like_an_rs485_ethernet_converter(tmp_path: Path):
    for rig in _rig(tmp_path, "tcp"):
        assert rig.bus.port.startswith("socket://127.0.0.1:")
        rig.start_poller()
        rig.rec.wait(lambda rig=rig: len(rig.rec.scans_of("A2")) >= 2)
        assert rig.rec.scans_of("A2")[-1].responded


def test_mbpoll_reads_the_device_type_of_a_string_master(rig: Rig):
    """A real third-party RTU master (libmodbus) agrees with our framing and map."""
    result = subprocess.run(
        ["mbpoll", "-m", "rtu", "-b", "115200", "-P", "none", "-a", "1", "-t", "3", "-r", "1", "-c", "3", "-1",
         "-o", "1", rig.bus.port],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "[1]: \t21331" in result.stdout  # 0x5353 "SS"
    assert f"[3]: \t{CELLS}" in result.stdout


def test_fault_cli_talks_to_the_control_channel(rig: Rig):
    lines: list[str] = []
    port = rig.control._sock.getpeername()[1]
    assert run_fault_cli(["--port", str(port), "inject", "string=A1", "fault=open_cell", "cell=2"], lines.append) == 0
    assert any("OpenCell" in line for line in lines)
    assert run_fault_cli(["--port", str(port), "inject", "string=ZZ", "fault=open_cell", "cell=2"], lines.append) == 1
    assert "no simulated string 'ZZ'" in lines[-1]
