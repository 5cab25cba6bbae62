"""The Modbus TCP server with real clients: mbpoll (libmodbus) and the pymodbus client.

The server runs in its own event-loop thread (as in the ModbusServer actor) and is fed with
StringStatus/UpsStatus messages built here; every value read is compared with the message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient

from battery.alarms.records import AlarmNotice
from battery.codes import CellFault, Health
from battery.commands import AcknowledgeAlarm, SetStringRelay
from battery.site import BusConfig, ModbusTcpConfig, Topology
from protocols.scada import modbus_map as mm
from tests.factories import (
    sample_string_status,
    sample_topology,
    sample_ups_status,
)
from tests.scada_support import ServerThread, mbpoll, mbpoll_values

pytestmark = pytest.mark.integration


@pytest.fixture
def site() -> Topology:
    return sample_topology(
        upses=2,
        strings_per_ups=2,
        cells=4,
        modbus=ModbusTcpConfig(host="127.0.0.1", port=0, write_enabled=True, write_clients=("127.0.0.1",)),
    )


@pytest.fixture
def server(site: Topology) -> Iterator[ServerThread]:
    st = ServerThread(site)
    yield st
    st.close()


def test_mbpoll_reads_string_cell_and_ups_registers(server: ServerThread, site: Topology) -> None:
    status = sample_string_status(site, "s2", scan_no=77)
    ups = sample_ups_status(site, "ups1")
    server.apply(status, ups)

    head = mbpoll_values(mbpoll(server.port, 102, 0, 22).stdout)
    assert head[0] == 1 and head[1] == Health.OK and head[10] == 4 and head[15] == 0 and head[18] == 77
    assert (head[2] << 16 | head[3]) == round(status.voltage_v * 100)
    assert mm.decode(mm.RegType.INT32, [head[4], head[5]]) == round(status.current_a * 100)
    assert head[6] == round(status.soc_pct) and head[7] == round(status.balance_pct * 100)
    assert head[12] == 0xFFFF and mm.decode(mm.RegType.INT16, [head[11]]) is None  # s2 has no BM-TH
    assert (head[16] << 16 | head[17]) == int(status.timestamp)

    # signed 32-bit, high word first, as libmodbus decodes it
    current = subprocess.run(
        [
            "mbpoll",
            "-m",
            "tcp",
            "-a",
            "102",
            "-0",
            "-r",
            "4",
            "-c",
            "1",
            "-t",
            "4:int",
            "-B",
            "-1",
            "-p",
            str(server.port),
            "127.0.0.1",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert mbpoll_values(current.stdout)[4] == round(status.current_a * 100)

    cell3 = mbpoll_values(mbpoll(server.port, 102, 300, 9, kind="3").stdout)  # input registers: same data
    assert cell3[300] == 1 and cell3[301] == status.cell_voltage_mv[2]
    assert (cell3[302] << 16 | cell3[303]) == status.cell_resistance_uohm[2]
    assert mm.decode(mm.RegType.INT16, [cell3[304]]) == status.cell_temperature_dc[2]
    assert (cell3[305], cell3[306]) == (status.cell_soc_pct[2], status.cell_soh_pct[2])

    u = mbpoll_values(mbpoll(server.port, 1, 0, 10).stdout)
    assert u[0] == 1 and mm.decode(mm.RegType.INT32, [u[3], u[4]]) == round(ups.current_a * 100) and u[9] == 2


def test_mbpoll_sees_exception_codes(server: ServerThread) -> None:
    unknown_unit = mbpoll(server.port, 9, 0, 2)
    assert unknown_unit.returncode != 0 and "Gateway path unavailable" in unknown_unit.stderr
    past_last_cell = mbpoll(server.port, 101, 4 * 100 + 11, 1)  # 4 cells: 411 is past the span
    assert past_last_cell.returncode != 0 and "Illegal data address" in past_last_cell.stderr


def _ask(port: int, unit: int, pdu: bytes) -> bytes:
    """One request PDU on a raw socket (clients refuse to send a bad quantity) -> the answer's PDU."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(struct.pack(">HHHB", 0x1234, 0, 1 + len(pdu), unit) + pdu)
        sock.settimeout(5)
        data = b""
        while len(data) < 7 or len(data) < 6 + struct.unpack(">H", data[4:6])[0]:
            chunk = sock.recv(300)
            assert chunk, f"connection closed after {data.hex()}"
            data += chunk
    transaction_id, protocol, length, answered_unit = struct.unpack(">HHHB", data[:7])
    assert (transaction_id, protocol, answered_unit) == (0x1234, 0, unit)
    return data[7 : 6 + length]


def _registers_pdu(function: int, address: int, values: list[int]) -> bytes:
    return struct.pack(f">BHHB{len(values)}H", function, address, len(values), 2 * len(values), *values)


@pytest.mark.parametrize(
    ("pdu", "answer"),
    [
        pytest.param(struct.pack(">BHH", 3, 0, 0), bytes([0x83, 3]), id="read holding, 0 registers"),
        pytest.param(struct.pack(">BHH", 3, 0, 126), bytes([0x83, 3]), id="read holding, 126 registers"),
        pytest.param(struct.pack(">BHH", 4, 0, 0), bytes([0x84, 3]), id="read input, 0 registers"),
        pytest.param(struct.pack(">BHH", 4, 100, 126), bytes([0x84, 3]), id="read input, 126 registers"),
        pytest.param(struct.pack(">BHH", 3, 0, 2000), bytes([0x83, 3]), id="read holding, 2000 registers"),
        pytest.param(struct.pack(">BHB", 3, 0, 1), bytes([0x83, 3]), id="read, PDU one byte short"),
        pytest.param(struct.pack(">BHH", 3, 400, 125), bytes([0x83, 2]), id="read, 125 registers past the span"),
        pytest.param(struct.pack(">BHHB", 16, 20, 0, 0), bytes([0x90, 3]), id="write multiple, 0 registers"),
        pytest.param(
            struct.pack(">BHHB", 16, 0, 124, 246) + bytes(246), bytes([0x90, 3]), id="write multiple, quantity 124"
        ),
        pytest.param(
            struct.pack(">BHHBH", 16, 20, 1, 4, 0), bytes([0x90, 3]), id="write multiple, byte count not 2 x quantity"
        ),
        pytest.param(
            _registers_pdu(16, 0, [0] * 123), bytes([0x90, 2]), id="write multiple, 123 registers on read-only ones"
        ),
        pytest.param(struct.pack(">BHHB", 6, 20, 0, 0), bytes([0x86, 3]), id="write single, one byte too many"),
        pytest.param(struct.pack(">BHH", 1, 0, 0), bytes([0x81, 1]), id="read coils (not served), 0 coils"),
        pytest.param(struct.pack(">BHH", 1, 0, 2001), bytes([0x81, 1]), id="read coils (not served), 2001 coils"),
        pytest.param(struct.pack(">BHH", 2, 0, 1), bytes([0x82, 1]), id="read discrete inputs (not served)"),
        pytest.param(struct.pack(">BHH", 5, 0, 0xFF00), bytes([0x85, 1]), id="write coil (not served)"),
        pytest.param(struct.pack(">BHHBB", 15, 0, 1, 1, 1), bytes([0x8F, 1]), id="write coils (not served)"),
        pytest.param(bytes([0x2B, 0x0E, 1, 0]), bytes([0xAB, 1]), id="encapsulated interface (not served)"),
        pytest.param(bytes([0]), bytes([0x80, 1]), id="function 0"),
    ],
)
def test_quantity_and_function_errors_answer_the_function_with_0x80_and_the_spec_exception(
    server: ServerThread, pdu: bytes, answer: bytes
) -> None:
    assert _ask(server.port, 101, pdu) == answer


def test_the_largest_quantities_are_served(server: ServerThread, site: Topology) -> None:
    server.apply(sample_string_status(site, "s1"))
    read = _ask(server.port, 101, struct.pack(">BHH", 3, 300, 109))  # cells 3 and 4 to the end of the span
    assert read[:2] == bytes([3, 218])
    assert _ask(server.port, 101, struct.pack(">BHH", 4, 0, 125))[:2] == bytes([4, 250])
    assert _ask(server.port, 104, _registers_pdu(16, 20, [0])) == struct.pack(">BHH", 16, 20, 1)
    assert _ask(server.port, 104, struct.pack(">BHH", 6, 20, 1)) == struct.pack(">BHH", 6, 20, 1)
    assert [c.closed for c in server.commands] == [False, True]


def test_pymodbus_client_values_and_exceptions(server: ServerThread, site: Topology) -> None:
    status = sample_string_status(site, "s1")
    server.apply(status, sample_string_status(site, "s3", health=Health.STALE))

    async def scenario() -> dict[str, Any]:
        c = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=3, retries=0)
        await c.connect()
        try:
            out: dict[str, Any] = {}
            out["cell4"] = (await c.read_holding_registers(400, count=9, device_id=101)).registers
            out["ambient"] = (await c.read_holding_registers(11, count=2, device_id=101)).registers
            out["stale"] = (await c.read_holding_registers(0, count=22, device_id=103)).registers
            out["stale_cell"] = (await c.read_input_registers(100, count=9, device_id=103)).registers
            out["gateway"] = (await c.read_holding_registers(0, count=13, device_id=100)).registers
            out["unit"] = (await c.read_holding_registers(0, count=1, device_id=42)).exception_code
            out["addr"] = (await c.read_holding_registers(12_000, count=1, device_id=101)).exception_code
            out["coil"] = (await c.read_coils(0, count=1, device_id=101)).exception_code
            out["readonly"] = (await c.write_register(1, 5, device_id=101)).exception_code
            out["bad_value"] = (await c.write_register(20, 7, device_id=101)).exception_code
            out["off"] = (await c.write_register(20, 0, device_id=104)).isError()
            return out
        finally:
            c.close()

    out = server.call(scenario())
    v = out["cell4"]
    assert v[0] == 1 and v[1] == status.cell_voltage_mv[3] and (v[2] << 16 | v[3]) == status.cell_resistance_uohm[3]
    assert mm.decode(mm.RegType.INT16, out["ambient"][:1]) == round(status.ambient_c * 10)
    assert out["ambient"][1] == round(status.humidity_pct * 10)
    stale = out["stale"]
    assert stale[1] == 2 and stale[15] == 1 and stale[2:4] == [0x8000, 0] and stale[6] == 0xFFFF
    assert out["stale_cell"][:5] == [2, 0xFFFF, 0xFFFF, 0xFFFF, 0x8000]
    gw = out["gateway"]
    assert gw[0] == 2 and gw[9] == 3 and gw[10] == 4 and gw[11] == 2 and gw[12] == mm.MAP_VERSION  # s2, s3, s4 stale
    assert (out["unit"], out["addr"], out["coil"], out["readonly"], out["bad_value"]) == (10, 2, 1, 2, 3)
    assert out["off"] is False
    assert server.commands == [
        SetStringRelay(string_id="s4", closed=False, reason="Modbus TCP write by 127.0.0.1: switch string off")
    ]


def test_writes_refused_for_clients_not_listed() -> None:
    t = sample_topology(
        modbus=ModbusTcpConfig(host="127.0.0.1", port=0, write_enabled=True, write_clients=("10.1.2.3",))
    )
    st = ServerThread(t)
    try:

        async def write() -> int:
            c = AsyncModbusTcpClient("127.0.0.1", port=st.port, timeout=3, retries=0)
            await c.connect()
            try:
                return (await c.write_register(20, 0, device_id=101)).exception_code
            finally:
                c.close()

        assert st.call(write()) == 1
        assert st.commands == []
    finally:
        st.close()


def test_alarm_bits_counts_and_acknowledge_by_modbus(server: ServerThread, site: Topology) -> None:
    server.apply(sample_string_status(site, "s1"))
    raised = AlarmNotice(
        event="raised",
        alarm_id=12,
        kind="cell_voltage_high",
        title="Voltage high",
        ups_id="ups1",
        string_id="s1",
        cell_index=2,
        value=14.9,
        limit=14.4,
        from_time=time.time(),
        to_time=None,
        acknowledged_by=None,
        acknowledged_at=None,
    )
    hall = AlarmNotice(**{**raised.__dict__, "alarm_id": 13, "kind": "hall_sensor", "cell_index": None})
    server.apply(raised, hall)

    async def scenario() -> tuple[list[int], list[int], list[int], int, int]:
        c = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=3, retries=0)
        await c.connect()
        try:
            head = (await c.read_holding_registers(0, count=22, device_id=101)).registers
            cell2 = (await c.read_holding_registers(200, count=9, device_id=101)).registers
            gw = (await c.read_holding_registers(0, count=9, device_id=100)).registers
            bad = (await c.write_register(20, 99, device_id=100)).exception_code
            ok = (await c.write_register(20, 0xFFFF, device_id=100)).isError()
            return head, cell2, gw, bad, int(ok)
        finally:
            c.close()

    head, cell2, gw, bad, err = server.call(scenario())
    assert head[9] == 1 << mm.STRING_ALARM_BITS["hall_sensor"] and head[21] == 1
    assert cell2[7] == 1 << mm.CELL_ALARM_BITS["cell_voltage_high"]
    assert gw[6:9] == [2, 2, 0b1111]  # 2 active, 2 unacknowledged; cell, string alarm, stale strings, unack
    assert bad == 3 and err == 0
    assert sorted(c.alarm_id for c in server.commands if isinstance(c, AcknowledgeAlarm)) == [12, 13]
    server.apply(AlarmNotice(**{**raised.__dict__, "event": "cleared"}))
    assert server.call(_read(server.port, 101, 207, 1)) == [0]


async def _read(port: int, unit: int, address: int, count: int) -> list[int]:
    c = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=3, retries=0)
    await c.connect()
    try:
        return (await c.read_holding_registers(address, count=count, device_id=unit)).registers
    finally:
        c.close()


def test_string_that_goes_quiet_is_served_stale() -> None:
    t = sample_topology(upses=1, strings_per_ups=1, cells=2)
    st = ServerThread(t, stale_after_s=0.2)
    try:
        st.apply(sample_string_status(t, "s1"))
        assert st.call(_read(st.port, 101, 1, 1)) == [1]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            st.do(st.server.tick)
            if st.call(_read(st.port, 101, 15, 1)) == [1]:
                break
        assert st.call(_read(st.port, 101, 0, 4)) == [1, 2, 0x8000, 0]
    finally:
        st.close()


def test_sixteen_concurrent_clients_and_a_malformed_frame(server: ServerThread, site: Topology) -> None:
    status = sample_string_status(site, "s1")
    server.apply(status)
    with socket.create_connection(("127.0.0.1", server.port), timeout=3) as bad:
        bad.sendall(b"\x00\x01\x00\x00\x00\xff\x65\x03garbage-not-modbus" * 20)
        bad.sendall(struct.pack(">HHHBB", 7, 0, 2, 101, 0x2B))  # a function we do not serve

        async def one_client(k: int) -> list[list[int]]:
            c = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=5, retries=0)
            await c.connect()
            try:
                return [
                    (await c.read_holding_registers(100 * (1 + k % 4), count=9, device_id=101)).registers
                    for _ in range(20)
                ]
            finally:
                c.close()

        async def all_clients() -> list[list[list[int]]]:
            return await asyncio.gather(*(one_client(k) for k in range(16)))

        results = server.call(all_clients())
    assert len(results) == 16
    for k, reads in enumerate(results):
        cell = k % 4
        assert all(r[1] == status.cell_voltage_mv[cell] for r in reads)


def test_a_300_degree_cell_reads_not_available_over_modbus(server: ServerThread, site: Topology) -> None:
    s = sample_string_status(site, "s1")
    s = dataclasses.replace(
        s,
        cell_faults=(0, int(CellFault.TEMPERATURE_IMPLAUSIBLE), 0, 0),
        cell_temperature_dc=(s.cell_temperature_dc[0], 3000, *s.cell_temperature_dc[2:]),
    )
    server.apply(s)
    cell2 = mbpoll_values(mbpoll(server.port, 101, 200, 9).stdout)
    assert cell2[204] == 0x8000  # int16 "not available", not 3000 (300.0 °C)
    assert cell2[200] == 1 and cell2[201] == s.cell_voltage_mv[1] and cell2[208] == CellFault.TEMPERATURE_IMPLAUSIBLE
    assert (
        mm.decode(mm.RegType.INT16, [mbpoll_values(mbpoll(server.port, 101, 104, 1).stdout)[104]])
        == s.cell_temperature_dc[0]
    )


def test_acknowledging_a_cleared_alarm_does_not_make_it_active_again(server: ServerThread, site: Topology) -> None:
    server.apply(sample_string_status(site, "s1"))
    raised = AlarmNotice(
        event="raised",
        alarm_id=21,
        kind="cell_voltage_high",
        title="Voltage high",
        ups_id="ups1",
        string_id="s1",
        cell_index=2,
        value=14.9,
        limit=14.4,
        from_time=time.time(),
        to_time=None,
        acknowledged_by=None,
        acknowledged_at=None,
    )
    server.apply(raised)
    assert server.call(_read(server.port, 100, 6, 2)) == [1, 1]
    assert server.call(_read(server.port, 101, 207, 1)) == [1 << mm.CELL_ALARM_BITS["cell_voltage_high"]]
    ended = time.time()
    server.apply(dataclasses.replace(raised, event="cleared", to_time=ended))
    server.apply(
        dataclasses.replace(
            raised, event="acknowledged", to_time=ended, acknowledged_by="op", acknowledged_at=ended + 1
        )
    )
    assert server.call(_read(server.port, 100, 6, 2)) == [0, 0]
    assert server.call(_read(server.port, 101, 207, 1)) == [0]

    # a (re)subscribing server learns already-active alarms from "active" notices
    server.apply(dataclasses.replace(raised, alarm_id=22, event="active", acknowledged_by="op", acknowledged_at=ended))
    assert server.call(_read(server.port, 100, 6, 2)) == [1, 0]
    assert server.call(_read(server.port, 101, 207, 1)) == [1 << mm.CELL_ALARM_BITS["cell_voltage_high"]]


def test_stale_threshold_comes_from_the_bus_scan_period() -> None:
    t = sample_topology(upses=1, strings_per_ups=1, cells=2)
    t = dataclasses.replace(t, buses=(BusConfig(id="bus1", port="sim://bus1", scan_period_s=6.0),))  # 18 s
    st = ServerThread(t, stale_after_s=None)
    try:
        st.apply(sample_string_status(t, "s1"))
        received = time.monotonic()
        st.do(lambda: st.server.tick(now=received + 17.0))
        assert st.call(_read(st.port, 101, 15, 1)) == [0]
        st.do(lambda: st.server.tick(now=received + 19.0))
        assert st.call(_read(st.port, 101, 0, 4)) == [1, 2, 0x8000, 0]
        assert st.call(_read(st.port, 101, 15, 1)) == [1]
        assert st.call(_read(st.port, 100, 9, 1)) == [1]  # stale_string_count
    finally:
        st.close()
