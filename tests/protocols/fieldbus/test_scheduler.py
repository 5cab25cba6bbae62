"""The bus scheduler (protocols/fieldbus/scheduler.py): schedule, command priority, misses, outages.

Most tests drive one scan at a time with `scan()` against a small transport double that records
the requests it is asked to carry out; the real Modbus RTU path over a pty is covered by
tests/protocols/fieldbus/test_rtu_transport.py, and one test here runs the simulator's transport.
"""

from __future__ import annotations

import threading
import time

import pytest

from battery.readings import StringScan
from battery.site import BatteryType, BusConfig, StringConfig
from protocols.fieldbus.bus_messages import (
    BusPortLost,
    BusPortReopened,
    DeviceCommunicationLost,
    DeviceCommunicationRecovered,
    IoModuleScan,
    OutputWritten,
    SetOutput,
)
from protocols.fieldbus.rtu_codec import IoModuleState
from protocols.fieldbus.scheduler import BusScheduler, ScanSchedule
from protocols.fieldbus.transport import FieldBusTransport, NoAnswer, PortLost
from sim.faults import DeviceOffline
from sim.gateway_transport import SimTransport, drop_shared_site
from tests.factories import site_topology
from tests.support import wait_for

IO_MODULE = 101


def _string(sid: str, address: int) -> StringConfig:
    return StringConfig(id=sid, index=address, name=sid, ups_id="U1", bus="b1", address=address,
                        battery=BatteryType(2, 100.0, 4), hall_range_a=100, climate_sensor=False)  # fmt: skip


STRINGS = (_string("A1", 1), _string("A2", 2))


class FakeTransport(FieldBusTransport):
    """Answers from every device unless told otherwise; a string read takes two requests."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.silent: set[int] = set()
        self.port_up = True
        self.connected = False
        self.open_attempts = 0
        self.closed = False
        self.during_request: dict[str, object] = {}  # request name -> callable run while it is on the wire
        self.request_s = 0.0

    @property
    def is_open(self) -> bool:
        return self.connected

    def open(self) -> None:
        self.open_attempts += 1
        if not self.port_up:
            raise PortLost("cannot open /dev/ttyFAKE")
        self.connected = True

    def _request(self, name: str, address: int) -> None:
        if not self.connected:
            raise PortLost("port /dev/ttyFAKE is not open")
        self.requests.append(name)
        action = self.during_request.pop(name, None)
        if action is not None:
            action()
        if self.request_s:
            time.sleep(self.request_s)  # the time the request holds the line
        if not self.port_up:
            self.connected = False
            raise PortLost("port /dev/ttyFAKE is lost: unplugged")
        if address in self.silent:
            raise NoAnswer("timeout")

    def read_string(self, string: StringConfig, scan_no: int, timestamp: float) -> StringScan:
        self._request(f"{string.id} part 1", string.address)
        self.between_requests()
        self._request(f"{string.id} part 2", string.address)
        return StringScan(string.id, scan_no, timestamp, responded=True, voltage_cv=800)

    def read_io_module(self, device_address: int) -> IoModuleState:
        self._request(f"io {device_address}", device_address)
        return IoModuleState((False,) * 8, (True,) + (False,) * 7)

    def write_output(self, device_address: int, output: int, on: bool) -> None:
        self._request(f"write {device_address}/{output}={'on' if on else 'off'}", device_address)

    def close(self) -> None:
        self.closed = True


class Bus:
    """A scheduler over a FakeTransport and what it reported (from whichever thread)."""

    def __init__(self, miss_limit: int = 3, scan_period_s: float = 1.0) -> None:
        config = BusConfig(id="b1", port="/dev/ttyFAKE", scan_period_s=scan_period_s, miss_limit=miss_limit)
        self.transport = FakeTransport()
        self.scans: list[StringScan] = []
        self.io: list[IoModuleScan] = []
        self.events: list[object] = []
        self.lock = threading.Lock()
        self.scheduler = BusScheduler(config, STRINGS, (IO_MODULE,), self.transport, self._add(self.scans),
                                      self._add(self.events), on_io_scan=self._add(self.io))  # fmt: skip

    def _add(self, target: list):
        def add(item: object) -> None:
            with self.lock:
                target.append(item)

        return add

    def of_type(self, kind: type) -> list:
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)]

    def last_scan_of(self, string_id: str) -> StringScan:
        return [s for s in self.scans if s.string_id == string_id][-1]


# ---- the absolute schedule ---------------------------------------------------------------------


def test_slots_are_absolute_so_the_scan_time_does_not_drift_the_schedule():
    schedule = ScanSchedule(1.0, start=100.0)
    assert schedule.due == 100.0
    assert schedule.advance(100.3) == 0 and schedule.due == 101.0
    assert schedule.advance(101.45) == 0 and schedule.due == 102.0  # not 101.45 + 1
    assert schedule.advance(102.9) == 0 and schedule.due == 103.0


def test_an_overrun_skips_the_missed_slots_instead_of_bursting():
    schedule = ScanSchedule(1.0, start=100.0)
    assert schedule.advance(103.5) == 3  # slots 101, 102 and 103 passed during the scan
    assert schedule.due == 104.0
    assert schedule.advance(104.2) == 0 and schedule.due == 105.0


def test_a_period_of_zero_runs_flat_out():
    schedule = ScanSchedule(0.0, start=5.0)
    assert schedule.advance(7.25) == 0 and schedule.due == 7.25


def test_the_thread_waits_for_the_next_slot_after_an_overrun():
    bus = Bus(scan_period_s=0.1)
    starts: list[float] = []
    numbers: list[int] = []
    bus.transport.during_request["A1 part 1"] = lambda: time.sleep(0.35)  # the first scan overruns 3 slots

    def note_start(scan: StringScan) -> None:
        if scan.string_id == "A1":
            starts.append(time.monotonic())
            numbers.append(scan.scan_no)

    bus.scheduler.on_scan = note_start
    bus.scheduler.start()
    try:
        wait_for(lambda: len(starts) >= 3, what="three scans")
    finally:
        bus.scheduler.stop()
    assert starts[2] - starts[1] >= 0.09  # the next scans keep the period: no catching up in a burst
    assert numbers[:3] == [1, 2, 3]  # scans are numbered as they are done; skipped slots are not scans


# ---- misses and outages --------------------------------------------------------------------------


def test_a_silent_device_is_stale_every_scan_lost_once_and_recovered_once():
    bus = Bus(miss_limit=3)
    bus.transport.connected = True
    bus.transport.silent.add(2)
    for _ in range(2):
        bus.scheduler.scan()
    assert bus.of_type(DeviceCommunicationLost) == []  # two misses are not an outage yet
    assert not bus.last_scan_of("A2").responded and bus.last_scan_of("A1").responded
    for _ in range(3):
        bus.scheduler.scan()
    lost = bus.of_type(DeviceCommunicationLost)
    assert len(lost) == 1  # at the third miss, and not again at the fourth or fifth
    assert (lost[0].device_address, lost[0].misses, lost[0].reason) == (2, 3, "timeout")
    assert lost[0].device == "string A2 (BM-SS)"
    assert [s.responded for s in bus.scans if s.string_id == "A2"] == [False] * 5
    # The verdict the string master raises its alarm on: from the miss_limit-th silent scan on.
    assert [s.communication_lost for s in bus.scans if s.string_id == "A2"] == [False, False, True, True, True]
    assert not any(s.communication_lost for s in bus.scans if s.string_id == "A1")
    assert all(s.cell_voltage_mv == () for s in bus.scans if s.string_id == "A2")
    bus.transport.silent.clear()
    bus.scheduler.scan()
    bus.scheduler.scan()
    recovered = bus.of_type(DeviceCommunicationRecovered)
    assert len(recovered) == 1 and recovered[0].device_address == 2 and recovered[0].outage_s >= 0
    assert bus.last_scan_of("A2").responded and not bus.last_scan_of("A2").communication_lost


def test_misses_must_be_in_a_row():
    bus = Bus(miss_limit=2)
    bus.transport.connected = True
    for silent in (True, False, True, False, True):
        bus.transport.silent = {IO_MODULE} if silent else set()
        bus.scheduler.scan()
    assert bus.of_type(DeviceCommunicationLost) == []
    assert [i.responded for i in bus.io] == [False, True, False, True, False]
    assert not any(i.communication_lost for i in bus.io)
    assert bus.io[1].outputs[0] is True and bus.io[0].inputs == ()


def test_a_lost_port_is_reported_once_not_as_each_device_and_is_reopened_with_backoff():
    bus = Bus(miss_limit=2)
    bus.scheduler.scan()
    bus.transport.port_up = False
    for _ in range(6):
        bus.scheduler.scan()  # the first of these loses the port in the middle of A1
    assert len(bus.of_type(BusPortLost)) == 1
    assert bus.of_type(DeviceCommunicationLost) == []  # the port is the report, not each device
    assert not any(s.responded for s in bus.scans[2:]) and len(bus.scans) == 14
    # Yet each device's data is missing as much: its scans say "communication lost" from the
    # miss_limit-th silent one, so every string (and IO module) raises its alarm as before.
    assert [s.communication_lost for s in bus.scans if s.string_id == "A1"] == [False] * 2 + [True] * 5
    assert [i.communication_lost for i in bus.io] == [False] * 2 + [True] * 5
    assert bus.transport.open_attempts < 6  # not hammered once per scan
    bus.transport.port_up = True
    wait_for(lambda: bus.scheduler.scan() or bus.of_type(BusPortReopened), timeout=2, what="the port reopened")
    assert len(bus.of_type(BusPortReopened)) == 1 and len(bus.of_type(BusPortLost)) == 1
    bus.scheduler.scan()
    assert bus.last_scan_of("A1").responded and bus.last_scan_of("A2").responded
    assert not bus.last_scan_of("A1").communication_lost and not bus.io[-1].communication_lost


def test_a_port_that_cannot_be_opened_at_start_is_reported_once():
    bus = Bus()
    bus.transport.port_up = False
    bus.scheduler.scan()
    bus.scheduler.scan()
    lost = bus.of_type(BusPortLost)
    assert len(lost) == 1 and lost[0].reason == "cannot open /dev/ttyFAKE"
    assert [s.responded for s in bus.scans] == [False] * 4 and bus.transport.requests == []


def test_the_simulated_bus_counts_misses_with_the_same_scheduler():
    """A sim:// bus goes through the same scheduler: one outage report, one recovery."""
    drop_shared_site("site-test")
    try:
        topology = site_topology()
        bus = topology.buses[0]  # miss_limit 3
        transport = SimTransport(bus, topology)
        events: list[object] = []
        scans: list[StringScan] = []
        scheduler = BusScheduler(bus, topology.strings[:2], (IO_MODULE,), transport, scans.append, events.append)
        transport.site.string("S2").inject(DeviceOffline())
        for _ in range(4):
            scheduler.scan()
        transport.site.string("S2").clear_faults(DeviceOffline)
        scheduler.scan()
    finally:
        drop_shared_site("site-test")
    lost = [e for e in events if isinstance(e, DeviceCommunicationLost)]
    assert len(lost) == 1 and lost[0].device_address == 2 and lost[0].misses == 3
    assert len([e for e in events if isinstance(e, DeviceCommunicationRecovered)]) == 1
    assert [s.responded for s in scans if s.string_id == "S2"] == [False] * 4 + [True]
    assert [s.communication_lost for s in scans if s.string_id == "S2"] == [False, False, True, True, False]
    assert [s.scan_no for s in scans if s.string_id == "S1"] == [1, 2, 3, 4, 5]


# ---- commands -----------------------------------------------------------------------------------


def test_a_command_waiting_goes_on_the_wire_before_the_first_poll():
    bus = Bus()
    bus.transport.connected = True
    bus.scheduler.submit(SetOutput(IO_MODULE, 3, True, "test"))
    bus.scheduler.scan()
    assert bus.transport.requests[0] == "write 101/3=on"
    written = bus.of_type(OutputWritten)
    assert len(written) == 1 and written[0].ok and written[0].error == ""


def test_a_command_jumps_ahead_of_the_rest_of_a_string_read():
    bus = Bus()
    bus.transport.connected = True
    command = SetOutput(IO_MODULE, 1, True, "cell alarm")
    bus.transport.during_request["A1 part 1"] = lambda: bus.scheduler.submit(command)  # arrives mid-string
    bus.scheduler.scan()
    assert bus.transport.requests == ["A1 part 1", "write 101/1=on", "A1 part 2", "A2 part 1", "A2 part 2", "io 101"]


def test_a_failed_write_and_an_impossible_output_each_get_one_answer():
    bus = Bus()
    bus.transport.connected = True
    bus.transport.silent.add(IO_MODULE)
    bus.scheduler.submit(SetOutput(IO_MODULE, 9, True, "test"))  # a BM-LC has outputs 1..8
    bus.scheduler.submit(SetOutput(IO_MODULE, 2, True, "test"))
    bus.scheduler.scan()
    impossible, timed_out = bus.of_type(OutputWritten)
    assert not impossible.ok and "output 9 of device 101 is not 1..8" in impossible.error
    assert not timed_out.ok and timed_out.error == "timeout"
    assert "write 101/9=on" not in bus.transport.requests


def test_between_scans_a_command_is_carried_out_at_once_not_at_the_next_slot():
    bus = Bus(scan_period_s=30.0)
    bus.scheduler.start()
    try:
        wait_for(lambda: len(bus.io) >= 1, what="the first scan")
        bus.scheduler.submit(SetOutput(IO_MODULE, 8, True, "siren"))
        written = wait_for(lambda: bus.of_type(OutputWritten), timeout=5, what="the output written")
    finally:
        bus.scheduler.stop()
    assert written[0].ok and written[0].queued_ms < 1000  # the next slot was 30 s away
    assert bus.transport.requests[-1] == "write 101/8=on" and bus.scheduler.scans_done == 1
    assert bus.transport.closed and not bus.scheduler.alive


def test_a_failing_transport_ends_the_thread_and_stop_says_why():
    bus = Bus()

    def broken(*_args: object) -> IoModuleState:
        raise KeyError("a bug")

    bus.transport.read_io_module = broken  # type: ignore[method-assign]
    bus.scheduler.start()
    wait_for(lambda: not bus.scheduler.alive, what="the scheduler thread to end")
    with pytest.raises(RuntimeError, match="bus b1: the scheduler failed"):
        bus.scheduler.stop()
    assert bus.transport.closed


def test_reopening_backs_off_exponentially_up_to_a_cap_and_starts_over_once_open():
    from protocols.fieldbus.outages import REOPEN_BACKOFF_FIRST_S, REOPEN_BACKOFF_MAX_S, PortWatch

    port = PortWatch("b1", "/dev/ttyFAKE")
    waits = []
    for attempt in range(10):
        port.open_failed(1000.0 + attempt, float(attempt), "cannot open")
        waits.append(port.next_attempt - attempt)
    assert waits[:3] == pytest.approx([REOPEN_BACKOFF_FIRST_S, 2 * REOPEN_BACKOFF_FIRST_S, 4 * REOPEN_BACKOFF_FIRST_S])
    assert max(waits) == pytest.approx(REOPEN_BACKOFF_MAX_S)
    reopened = port.opened(1100.0)
    assert reopened is not None and reopened.outage_s == pytest.approx(100.0)  # from the first report
    assert port.opened(1101.0) is None and port.retry_delay_s == REOPEN_BACKOFF_FIRST_S
