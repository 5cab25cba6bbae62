"""The aggregator's Modbus TCP view, read with mbpoll from a real server on loopback, fed with the
live views the gateway proxies send (no broker, no PostgreSQL: tests/aggregator/test_modbus_aggregate.py
runs the whole aggregator)."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from typing import Any

import pytest

from aggregator.alarm_rules import active_alarm_counts
from aggregator.messages import EdgeNodeView
from aggregator.modbus_config import ModbusViewConfig
from aggregator.modbus_registers import BY_NAME, base_address, decode_text, register_table
from aggregator.modbus_server import AggregatorModbusServer
from battery.codes import ChargeState
from battery.quantities import quantity
from protocols.scada import modbus_map as mm
from tests.gateway_process import REPO
from tests.scada_support import mbpoll, mbpoll_values

NOW = 1_767_000_000.0
NA16 = 0xFFFF
NA_I32 = [0x8000, 0x0000]

GW_A = EdgeNodeView(
    "gw-a",
    True,
    "",
    NOW - 3,
    {
        "": {},
        "UPS-A": {"ups.voltage": 410.5, "ups.current": -12.34, "ups.soc": 87.5, "ups.health": "OK"},
        "UPS-A:S10": {"string.voltage": 99.0, "string.health": "STALE", "string.state": None},
        "UPS-A:S2": {
            "string.voltage": 409.87,
            "string.current": -3.21,
            "string.soc": 64.5,
            "string.soh": 91.0,
            "string.state": "DISCHARGE",
            "string.health": "OK",
        },
    },
    {"UPS-A:S2": int(NOW * 1000) - 1500},
    {},
)
GW_B_OFFLINE = EdgeNodeView(
    "gw-b",
    False,
    "NDEATH: the gateway's link died",
    NOW - 42,
    {"UPS-B": {"ups.voltage": 400.0, "ups.health": "OK"}, "UPS-B:S1": {"string.voltage": 401.0, "string.health": "OK"}},
    {},
    {},
)


class ViewServer:
    """The server in a daemon thread's loop, with a clock the test sets."""

    def __init__(self, config: ModbusViewConfig) -> None:
        self.now = NOW
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = AggregatorModbusServer(config, clock=lambda: self.now)
        self.call(self.server.start())
        self.port = self.server.port

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def do(self, fn: Any, *args: Any) -> None:
        async def go() -> None:
            fn(*args)

        self.call(go())

    def close(self) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@pytest.fixture
def view() -> Any:
    server = ViewServer(ModbusViewConfig(host="127.0.0.1", port=0, gateways=("gw-a", "gw-b", "gw-never")))
    try:
        server.do(server.server.apply_view, GW_A)
        server.do(server.server.apply_view, GW_B_OFFLINE)
        yield server
    finally:
        server.close()


def read(port: int, unit: int, name: str, index: int = 1, kind: str = "4") -> list[int]:
    """The words of one register of block `index`, read with mbpoll."""
    r = BY_NAME[name]
    address = base_address(r, index)
    done = mbpoll(port, unit, address, r.size, kind)
    assert done.returncode == 0, done.stdout + done.stderr
    values = mbpoll_values(done.stdout)
    return [values[a] & 0xFFFF for a in range(address, address + r.size)]


def value(port: int, unit: int, name: str, index: int = 1) -> int | None:
    return mm.decode(BY_NAME[name].type, read(port, unit, name, index))


def wire(key: str, v: float) -> int:
    """What the gateway's own map serves for this value: the registry's scale."""
    return quantity(key).to_wire(v)  # type: ignore[return-value]


def test_the_site_unit_lists_the_gateways_in_the_configured_order_by_id(view) -> None:
    p = view.port
    assert value(p, 100, "site_gateway_count") == 3
    assert value(p, 100, "site_online_count") == 1
    assert value(p, 100, "site_time") == int(NOW)
    ids = [decode_text(read(p, 100, "directory_gateway_id", n)) for n in (1, 2, 3)]
    assert ids == ["gw-a", "gw-b", "gw-never"]
    assert [value(p, 100, "directory_online", n) for n in (1, 2, 3)] == [1, 0, 0]
    assert decode_text(read(p, 2, "gateway_id")) == "gw-b"  # each unit names its gateway too


def test_a_gateway_unit_serves_its_upses_and_strings_at_the_gateway_maps_scales(view) -> None:
    p = view.port
    assert value(p, 1, "gateway_online") == 1
    assert value(p, 1, "gateway_silent_s") == 3
    assert value(p, 1, "gateway_status") == 2  # string S10 is stale
    assert (value(p, 1, "gateway_ups_count"), value(p, 1, "gateway_string_count")) == (1, 2)
    assert decode_text(read(p, 1, "ups_id")) == "UPS-A"
    assert value(p, 1, "ups_status") == 1 and value(p, 1, "ups_stale") == 0
    assert value(p, 1, "ups_voltage") == wire("ups.voltage", 410.5) == 41050
    assert value(p, 1, "ups_current") == wire("ups.current", -12.34)
    assert value(p, 1, "ups_soc") == wire("ups.soc", 87.5)
    assert value(p, 1, "ups_string_count") == 2
    # S2 before S10: numbers in ids compare as numbers.
    assert [decode_text(read(p, 1, "string_id", s)) for s in (1, 2)] == ["S2", "S10"]
    assert value(p, 1, "string_ups", 1) == 1
    assert value(p, 1, "string_status", 1) == 1 and value(p, 1, "string_stale", 1) == 0
    assert value(p, 1, "string_voltage", 1) == wire("string.voltage", 409.87)
    assert value(p, 1, "string_current", 1) == wire("string.current", -3.21)
    assert value(p, 1, "string_soc", 1) == wire("string.soc", 64.5)
    assert value(p, 1, "string_soh", 1) == wire("string.soh", 91.0)
    assert value(p, 1, "string_state", 1) == ChargeState.DISCHARGE
    assert value(p, 1, "string_timestamp", 1) == int(NOW) - 2
    # The stale string: status error, stale, its last voltage not served as current.
    assert value(p, 1, "string_status", 2) == 2 and value(p, 1, "string_stale", 2) == 1
    assert read(p, 1, "string_voltage", 2) == NA_I32
    # Input registers (function 4) read the same words as holding registers (function 3).
    assert read(p, 1, "string_voltage", 1, kind="3") == read(p, 1, "string_voltage", 1)


def test_an_offline_gateway_reads_not_available_and_how_long_it_has_been_silent(view) -> None:
    p = view.port
    assert value(p, 2, "gateway_online") == 0 and value(p, 2, "gateway_status") == 2
    assert value(p, 2, "gateway_silent_s") == 42
    assert value(p, 2, "ups_status") == 2 and value(p, 2, "ups_stale") == 1
    assert read(p, 2, "ups_voltage") == NA_I32  # its last value is not current
    assert read(p, 2, "string_voltage") == NA_I32 and read(p, 2, "string_state") == [NA16]
    view.now += 5  # a second later or more, the unit is rendered again
    assert value(p, 2, "gateway_silent_s") == 47
    # Configured, never heard of: off-line, silent for an unknown time, no devices.
    assert value(p, 3, "gateway_online") == 0
    assert read(p, 3, "gateway_silent_s") == [NA16, NA16]
    assert value(p, 3, "gateway_ups_count") == 0
    assert value(p, 3, "ups_status") == 0 and read(p, 3, "ups_soc") == [NA16]


def test_alarm_counts_are_served_and_unknown_reads_not_available(view) -> None:
    p = view.port
    assert read(p, 1, "gateway_alarm_active_count") == [NA16]  # PostgreSQL not read yet
    gateway_alarms = [
        {"edge_node": "gw-a", "alarm_id": 1, "event": "raised", "to_time": None},
        {"edge_node": "gw-a", "alarm_id": 2, "event": "acknowledged", "to_time": None},
        {"edge_node": "gw-a", "alarm_id": 3, "event": "cleared", "to_time": NOW},
    ]
    view.do(view.server.set_alarm_counts, active_alarm_counts(gateway_alarms, [{"edge_node": "gw-b"}]))
    assert (value(p, 1, "gateway_alarm_active_count"), value(p, 2, "gateway_alarm_active_count")) == (2, 1)
    assert value(p, 3, "gateway_alarm_active_count") == 0
    assert value(p, 100, "site_alarm_active_count") == 3


def mbpoll_write(port: int, unit: int, address: int, value: int) -> subprocess.CompletedProcess[str]:
    command = ["mbpoll", "-m", "tcp", "-a", str(unit), "-0", "-r", str(address), "-t", "4", "-1", "-o", "2"]
    return subprocess.run(
        [*command, "-p", str(port), "127.0.0.1", str(value)], capture_output=True, text=True, timeout=20
    )


def test_writes_unknown_units_and_addresses_past_a_unit_answer_modbus_exceptions(view) -> None:
    p = view.port
    write = mbpoll_write(p, 1, 0, 1)
    assert write.returncode != 0 and "Illegal function" in write.stdout + write.stderr  # exception 1
    site_write = mbpoll_write(p, 100, 1, 7)
    assert site_write.returncode != 0 and "Illegal function" in site_write.stdout + site_write.stderr
    unknown = mbpoll(p, 4, 0, 1)  # three gateways: units 1..3 and 100
    assert unknown.returncode != 0 and "Gateway path unavailable" in unknown.stdout + unknown.stderr  # 0x0A
    past = mbpoll(p, 1, 2280, 1)
    assert past.returncode != 0 and "Illegal data address" in past.stdout + past.stderr  # exception 2
    assert value(p, 1, "gateway_online") == 1  # nothing was written


def test_without_a_list_the_gateways_heard_of_are_served_sorted_by_id() -> None:
    server = ViewServer(ModbusViewConfig(host="127.0.0.1", port=0))
    try:
        p = server.port
        assert value(p, 100, "site_gateway_count") == 0
        assert "Gateway path unavailable" in mbpoll(p, 1, 0, 1).stderr
        for name in ("gw10", "gw9"):
            server.do(server.server.apply_view, EdgeNodeView(name, True, "", NOW, {}, {}, {}))
        assert [decode_text(read(p, 100, "directory_gateway_id", n)) for n in (1, 2)] == ["gw9", "gw10"]
        assert decode_text(read(p, 2, "gateway_id")) == "gw10"
    finally:
        server.close()


def test_the_register_table_in_the_docs_is_the_registry() -> None:
    assert register_table() in (REPO / "docs" / "aggregator.md").read_text(encoding="utf-8")


def test_the_view_the_modbus_actor_gets_leaves_the_batteries_out() -> None:
    devices = {"UPS-A:S2": {"string.voltage": 409.87, "cell.voltage/1": 12.5, "cell.health/1": "OK"}, "": {"x/y": 1}}
    trimmed = EdgeNodeView("gw-a", True, "", NOW, devices, {}, {}).without_cells()
    assert trimmed.devices == {"UPS-A:S2": {"string.voltage": 409.87}, "": {"x/y": 1}}
