"""The simulator's fault control channel over its real loopback socket: bad requests get an
error naming what is wrong, change nothing, and leave the connection usable."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sim.control import MAX_REQUEST_BYTES, ControlServer, run_fault_cli
from sim.fieldbus_sim import SimulatedFieldBuses
from sim.site_model import SimulatedSite
from tests.support import small_topology


class RawControl:
    """A client that can send anything, one line at a time, as a buggy script would."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rwb")

    def send_line(self, raw: bytes) -> dict:
        self.file.write(raw + b"\n")
        self.file.flush()
        reply = self.file.readline()
        assert reply, "the simulator closed the control connection"
        return json.loads(reply)

    def send(self, **request: object) -> dict:
        return self.send_line(json.dumps(request).encode())

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@contextmanager
def running_sim(tmp_path: Path) -> Iterator[tuple[SimulatedSite, ControlServer]]:
    """A simulated field with its control server on a free loopback port."""
    topology = small_topology(tmp_path, upses=1, strings_per_ups=2, cells=4)  # U1: U1S1, U1S2; io1; bus sim
    site = SimulatedSite(topology, seed=1)
    field = SimulatedFieldBuses(topology, site, tmp_path / "sim", listen="tcp")
    server = ControlServer(field)
    field.start()
    server.start()
    try:
        yield site, server
    finally:
        server.stop()
        field.stop()


@pytest.fixture(scope="module")
def shared_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimulatedSite, ControlServer]]:
    """One simulator for the requests that must change nothing (each test checks it answers)."""
    with running_sim(tmp_path_factory.mktemp("sim")) as sim:
        yield sim


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[SimulatedSite, ControlServer]]:
    with running_sim(tmp_path) as sim:
        yield sim


@pytest.fixture
def control(shared_sim) -> Iterator[RawControl]:
    client = RawControl(shared_sim[1].port)
    yield client
    client.close()


DISCHARGE = {"cmd": "discharge", "ups": "U1", "duration_s": 60, "current_a": 10}

BAD_REQUESTS = [
    ({**DISCHARGE, "current_a": -5}, "discharge: current_a must be more than 0, got -5"),
    ({**DISCHARGE, "current_a": 0}, "current_a must be more than 0"),
    ({**DISCHARGE, "duration_s": "long"}, "discharge: duration_s must be a number, got \"long\""),
    ({**DISCHARGE, "duration_s": None}, "duration_s must be a number, got null"),
    ({**DISCHARGE, "current_a": True}, "current_a must be a number, got true"),
    ({**DISCHARGE, "ups": "U9"}, "no UPS 'U9'"),
    ({**DISCHARGE, "ups": ["U1"]}, "discharge: ups must be text, got [\"U1\"]"),
    ({"cmd": "discharge", "ups": "U1", "current_a": 10}, "discharge needs 'duration_s'"),
    ({**DISCHARGE, "current": 10}, "discharge: unknown parameter 'current'; it takes ups, duration_s, current_a"),
    ({"cmd": "melt"}, "unknown command 'melt'; known: clear, discharge, inject"),
    ({"cmd": 7}, "unknown command 7"),
    ({"no_cmd": 1}, "a request needs 'cmd'; known: clear, discharge, inject"),
    ({"cmd": "input", "module": "io1", "input": "x", "on": True}, "input: input must be a whole number, got \"x\""),
    ({"cmd": "input", "module": "io1", "input": None, "on": True}, "input must be a whole number, got null"),
    ({"cmd": "input", "module": "io1", "input": 2.5, "on": True}, "input must be a whole number, got 2.5"),
    ({"cmd": "input", "module": "io1", "input": 9, "on": True}, "input must be 1..8, got 9"),
    ({"cmd": "input", "module": "io1", "input": 2, "on": "yes"}, "input: on must be true or false, got \"yes\""),
    ({"cmd": "input", "module": "io9", "input": 2, "on": True}, "no simulated IO module 'io9'"),
    ({"cmd": "io_offline", "module": "io1", "offline": "no"}, "io_offline: offline must be true or false, got \"no\""),
    ({"cmd": "noise", "bus": "sim", "fraction": 2}, "bus noise must be a fraction 0..1, got 2"),
    ({"cmd": "noise", "bus": "sim", "fraction": "lots"}, "noise: fraction must be a number, got \"lots\""),
    ({"cmd": "noise", "bus": "nope", "fraction": 0.5}, "no bus 'nope'"),
    ({"cmd": "unplug", "bus": {}}, "unplug: bus must be text, got {}"),
    ({"cmd": "clear", "string": "U1S1", "fault": ["open_cell"]}, "clear: fault must be text, got [\"open_cell\"]"),
    ({"cmd": "clear", "string": "U1S1", "fault": "melt"}, "unknown fault 'melt'"),
    ({"cmd": "inject", "string": "U1S1", "fault": "open_cell", "args": [1]}, "inject: args must be a mapping, got [1]"),
    ({"cmd": "inject", "string": "U1S1", "fault": "open_cell", "args": {"cell": "x"}},
     "fault open_cell: cell must be a whole number, got \"x\""),
    ({"cmd": "inject", "string": "U1S1", "fault": "open_cell", "args": {}}, "fault open_cell needs 'cell'"),
    ({"cmd": "inject", "string": "U1S1", "fault": "open_cell", "args": {"cell": 1, "volts": 2}},
     "fault open_cell: unknown field 'volts'; it takes cell"),
    ({"cmd": "inject", "string": "U1S1", "fault": "open_cell", "args": {"cell": 0}}, "cell numbers start at 1, got 0"),
    ({"cmd": "inject", "string": "U1S1", "fault": "open_cell", "args": {"cell": 99}}, "U1S1 has 4 batteries"),
    ({"cmd": "inject", "string": "U1S9", "fault": "open_cell", "args": {"cell": 1}}, "no simulated string 'U1S9'"),
    ({"cmd": "inject", "string": "U1S1", "fault": "slow", "args": {"delay_s": -1}}, "delay must be >= 0 s"),
    ({"cmd": "inject", "string": "U1S1", "fault": "insulation", "args": {"to_kohm": 0}},
     "insulation fault: to_kohm must be > 0 kΩ, got 0"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "says"), BAD_REQUESTS, ids=lambda v: json.dumps(v)[:60] if isinstance(v, dict) else ""
)
def test_a_bad_request_gets_an_error_naming_it_and_the_connection_stays_usable(control, request_, says) -> None:
    reply = control.send(**request_)
    assert reply["ok"] is False
    assert says in reply["error"], reply["error"]
    assert control.send(cmd="status")["ok"] is True


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b"hello", "a request is one JSON object per line: Expecting value"),
        (b'{"cmd": "status"', "a request is one JSON object per line"),
        (b"[1, 2]", "a request is one JSON object per line, got a list"),
        (b'"status"', "a request is one JSON object per line, got text"),
        (b'{"cmd": "st\xffatus"}', "a request must be UTF-8 text"),
        (b"[" * 30_000 + b"]" * 30_000, "a request is one JSON object per line: nested too deeply"),
        (b'{"cmd": "noise", "bus": "sim", "fraction": ' + b"9" * 10_000 + b"}", "a request is one JSON object"),
        (b'{"cmd": "discharge", "ups": "U1", "duration_s": NaN, "current_a": 10}', "duration_s must be a finite number"),
        ((b'{"cmd": "inject", "string": "U1S1", "fault": "drifting_sensor", "args": '
          b'{"cell": 1, "quantity": "voltage", "counts_per_hour": Infinity}}'), "counts_per_hour must be a finite number"),
    ],
    ids=lambda v: v[:40].decode(errors="replace") if isinstance(v, bytes) else "",
)  # fmt: skip
def test_a_malformed_line_gets_an_error_and_the_connection_stays_usable(control, line, says) -> None:
    reply = control.send_line(line)
    assert reply["ok"] is False
    assert says in reply["error"], reply["error"]
    assert control.send(cmd="status")["ok"] is True


def test_a_line_over_the_size_limit_is_refused_without_reading_it_whole(control) -> None:
    reply = control.send_line(b'{"cmd": "status", "pad": "' + b"x" * (4 * MAX_REQUEST_BYTES) + b'"}')
    assert reply == {"ok": False, "error": f"a request line is longer than {MAX_REQUEST_BYTES} bytes"}
    assert control.send(cmd="status")["ok"] is True


def test_a_refused_request_changes_nothing_and_good_ones_still_work(sim) -> None:
    site, server = sim
    control = RawControl(server.port)
    assert control.send(**{**DISCHARGE, "current_a": -5})["ok"] is False
    assert control.send(cmd="input", module="io1", input=2, on="yes")["ok"] is False
    assert all(not s.load_profile.events for s in site.strings.values())
    assert site.io_module("io1").inputs[1] is False
    assert control.send(**DISCHARGE) == {"ok": True}
    assert [len(s.load_profile.events) for s in site.strings.values()] == [1, 1]
    overlapping = control.send(**DISCHARGE)
    assert overlapping["ok"] is False and "overlaps" in overlapping["error"]
    assert [len(s.load_profile.events) for s in site.strings.values()] == [1, 1]
    assert control.send(cmd="input", module="io1", input=2, on=True) == {"ok": True}
    assert site.io_module("io1").inputs[1] is True
    injected = control.send(cmd="inject", string="U1S1", fault="drifting_sensor",
                            args={"cell": 2, "quantity": "voltage", "counts_per_hour": -3})  # fmt: skip
    assert injected["ok"] is True and "DriftingSensor(cell=2" in injected["injected"]
    insulation = control.send(cmd="inject", string="U1S2", fault="insulation", args={"to_kohm": 50, "over_s": 0})
    assert insulation["ok"] is True and "InsulationFault(to_kohm=50.0" in insulation["injected"]
    assert site.string("U1S2").insulation_kohm == 50.0
    control.close()


def test_btms_sim_fault_prints_the_reason_and_exits_1(sim) -> None:
    lines: list[str] = []
    port = str(sim[1].port)
    code = run_fault_cli(["--port", port, "discharge", "ups=U1", "duration_s=60", "current_a=-5"], lines.append)
    assert code == 1 and lines == ["error: discharge: current_a must be more than 0, got -5"]
    assert run_fault_cli(["--port", port, "discharge", "ups=U1", "duration_s=60", "current_a=20"], lines.append) == 0


def test_a_failure_of_the_simulator_itself_is_answered_and_the_connection_goes_on(sim, monkeypatch) -> None:
    site, server = sim

    def broken(*args: object) -> None:
        raise RuntimeError("physics step diverged")

    monkeypatch.setattr(site, "schedule_discharge", broken)  # stands for a bug in the simulator
    control = RawControl(server.port)
    reply = control.send(**DISCHARGE)
    assert reply == {"ok": False, "error": "the simulator failed on this request (RuntimeError: physics step diverged)"}
    assert control.send(cmd="status")["ok"] is True
    control.close()
