"""Modbus TCP connections under load and abuse: the connection cap, the idle timeout, pipelined
and split frames, frames too long to be Modbus, and a gateway limited to 1024 open files.

Frames are crafted by hand on raw sockets (the clients we have neither pipeline nor send
broken frames); mbpoll stands for the SCADA that must still get its answer.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import pytest
import structlog

from battery.site import ModbusTcpConfig
from tests.e2e_support import mbpoll, running_gateway, save_topology
from tests.factories import sample_string_status, sample_topology
from tests.gateway_process import write_demo_topology
from tests.scada_support import ServerThread, mbpoll_values
from tests.scada_support import mbpoll as mbpoll_read
from tests.support import free_port, wait_for

pytestmark = pytest.mark.integration

CAP = 4
CELLS = 4
OVER_CAP_MESSAGE = "connection limit reached"


def read_frame(transaction_id: int, unit: int, address: int, count: int, function: int = 3) -> bytes:
    return struct.pack(">HHHBBHH", transaction_id, 0, 6, unit, function, address, count)


def recv_exactly(sock: socket.socket, size: int, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"the server closed the connection after {len(data)} of {size} bytes"
        data += chunk
    return data


def recv_answer(sock: socket.socket) -> tuple[int, int, bytes]:
    """(transaction id, unit id, PDU) of the next answer."""
    transaction_id, protocol, length, unit = struct.unpack(">HHHB", recv_exactly(sock, 7))
    assert protocol == 0
    return transaction_id, unit, recv_exactly(sock, length - 1)


def registers(pdu: bytes) -> list[int]:
    assert pdu[0] in (3, 4) and pdu[1] == len(pdu) - 2, pdu.hex()
    return list(struct.unpack(f">{pdu[1] // 2}H", pdu[2:]))


def closed_by_server(sock: socket.socket, within_s: float) -> bool:
    """True if the server closes the connection within the time (EOF or reset)."""
    sock.settimeout(within_s)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


@pytest.fixture
def server() -> Iterator[ServerThread]:
    site = sample_topology(
        upses=1,
        strings_per_ups=1,
        cells=CELLS,
        modbus=ModbusTcpConfig(host="127.0.0.1", port=0, max_connections=CAP, idle_timeout_s=30.0),
    )
    st = ServerThread(site)
    st.apply(sample_string_status(site, "s1", scan_no=5))
    yield st
    st.close()


# -- the connection cap ---------------------------------------------------------------------


def test_cap_plus_ten_idle_connections_close_the_oldest_and_a_fresh_client_is_answered(server: ServerThread) -> None:
    idle = [connect(server.port) for _ in range(CAP + 10)]
    try:
        for n, sock in enumerate(idle[:10]):
            assert closed_by_server(sock, within_s=5), f"idle connection {n} (of the oldest 10) is still open"
        for n, sock in enumerate(idle[10:], start=10):  # the newest CAP are kept and answer
            sock.sendall(read_frame(n, 101, 10, 1))
            assert recv_answer(sock) == (n, 101, struct.pack(">BBH", 3, 2, CELLS))
        fresh = mbpoll_read(server.port, 101, 0, 22)
        assert fresh.returncode == 0, fresh.stderr
        assert mbpoll_values(fresh.stdout)[18] == 5  # string_scan_counter
        assert server.server.connection_count <= CAP
    finally:
        for sock in idle:
            sock.close()


def test_the_over_cap_message_is_logged_once_not_per_connection(server: ServerThread) -> None:
    with structlog.testing.capture_logs() as logs:
        idle = [connect(server.port) for _ in range(CAP + 40)]
        try:
            last_evicted = idle[39]  # admitting the 44th closed the 40th; the newest CAP stay
            wait_for(
                lambda: closed_by_server(last_evicted, within_s=0.05),
                timeout=10,
                what="the server to close the connections over its cap",
            )
        finally:
            for sock in idle:
                sock.close()
    over_cap = [e for e in logs if OVER_CAP_MESSAGE in e["event"]]
    assert len(over_cap) == 1, over_cap  # 40 evictions, one line (the next one may come a minute later)
    assert over_cap[0]["log_level"] == "error" and over_cap[0]["max_connections"] == CAP


def test_an_idle_connection_is_closed_after_the_timeout_and_an_active_one_is_not() -> None:
    site = sample_topology(
        upses=1, strings_per_ups=1, cells=2, modbus=ModbusTcpConfig(host="127.0.0.1", port=0, idle_timeout_s=1.0)
    )
    st = ServerThread(site)
    try:
        quiet, busy = connect(st.port), connect(st.port)
        opened = time.monotonic()
        for n in range(12):  # a request every 0.2 s for 2.2 s keeps `busy` open
            if n:
                time.sleep(0.2)  # pacing a client, not waiting for the server
            busy.sendall(read_frame(n, 101, 10, 1))
            assert recv_answer(busy)[0] == n
        assert closed_by_server(quiet, within_s=0.01)
        assert 1.0 <= time.monotonic() - opened
        assert not closed_by_server(busy, within_s=0.1)
        assert closed_by_server(busy, within_s=5)  # and once it stops asking, it goes too
        assert st.server.connection_count == 0
    finally:
        st.close()


# -- framing: pipelined, split, too long ------------------------------------------------------


@pytest.mark.parametrize("requests", [2, 3, 10, 50])
def test_pipelined_requests_in_one_segment_are_all_answered_in_order(server: ServerThread, requests: int) -> None:
    """Each request reads a different register, so an answer cannot be mistaken for another's."""
    frames = [read_frame(1000 + n, 101, 100 * (1 + n % CELLS) + n % 9, 1) for n in range(requests)]
    with connect(server.port) as sock:
        expected = []
        for frame in frames:  # one at a time first
            sock.sendall(frame)
            expected.append(registers(recv_answer(sock)[2])[0])
        sock.sendall(b"".join(frames))
        answers = [recv_answer(sock) for _ in range(requests)]
    assert [a[0] for a in answers] == [1000 + n for n in range(requests)]
    assert [registers(a[2])[0] for a in answers] == expected
    assert len(set(expected)) > min(requests, 9) // 2  # different registers, mostly different values


def test_a_frame_split_across_sends_is_answered_when_complete(server: ServerThread) -> None:
    frame = read_frame(7, 101, 10, 1)
    with connect(server.port) as sock:
        sock.sendall(frame[:3])  # inside the header
        assert not closed_by_server(sock, within_s=0.2)  # nothing to answer yet, nothing closed
        sock.sendall(frame[3:9])
        assert not closed_by_server(sock, within_s=0.2)
        sock.sendall(frame[9:] + read_frame(8, 101, 10, 1) + read_frame(9, 101, 10, 1)[:5])
        assert recv_answer(sock) == (7, 101, struct.pack(">BBH", 3, 2, CELLS))
        assert recv_answer(sock)[0] == 8
        sock.sendall(read_frame(9, 101, 10, 1)[5:])
        assert recv_answer(sock)[0] == 9


def test_a_frame_longer_than_modbus_allows_closes_the_connection(server: ServerThread) -> None:
    with connect(server.port) as sock:  # length 254: a 253-byte PDU, the largest allowed (a malformed read)
        sock.sendall(struct.pack(">HHHB", 1, 0, 254, 101) + bytes([3]) + bytes(252))
        assert recv_answer(sock) == (1, 101, bytes([0x83, 3]))
        sock.sendall(struct.pack(">HHHB", 2, 0, 255, 101) + bytes([3]) + bytes(253))
        assert closed_by_server(sock, within_s=5)
    with connect(server.port) as sock:  # a header that announces 64 KiB is not waited for
        sock.sendall(struct.pack(">HHHB", 3, 0, 0xFFFF, 101) + bytes([3, 0, 0]))
        assert closed_by_server(sock, within_s=5)
    fresh = mbpoll_read(server.port, 101, 10, 1)
    assert fresh.returncode == 0 and mbpoll_values(fresh.stdout)[10] == CELLS


def test_a_frame_of_another_protocol_id_is_skipped_and_the_next_answered(server: ServerThread) -> None:
    other = struct.pack(">HHHBBHH", 1, 7, 6, 101, 3, 10, 1)
    with connect(server.port) as sock:
        sock.sendall(other + read_frame(2, 101, 10, 1))
        assert recv_answer(sock)[0] == 2


# -- a real gateway under `ulimit -n 1024` -------------------------------------------------------


def test_a_gateway_limited_to_1024_files_still_answers_scada_after_1100_idle_connections(tmp_path) -> None:
    topology, data = write_demo_topology(tmp_path, cells=CELLS, scan_period_s=1.0)
    port = free_port()
    data["services"]["modbus"].update({"enabled": True, "host": "127.0.0.1", "port": port})
    save_topology(topology, data)
    with running_gateway(tmp_path, topology, data, max_open_files=1024) as gateway:
        idle: list[socket.socket] = []
        try:
            for _ in range(1100):
                try:
                    idle.append(socket.create_connection(("127.0.0.1", port), timeout=3))
                except OSError:
                    break  # the server stopped accepting
            answer = mbpoll(port, 101, 0, 22)
            assert len(idle) == 1100, f"connection {len(idle) + 1} was not accepted"
            assert answer.returncode == 0, answer.stdout + answer.stderr
            assert answer.registers[10] == CELLS  # string_cell_count
        finally:
            for sock in idle:
                sock.close()
        stderr = gateway.stderr.read_text()
    assert 1 <= stderr.count(OVER_CAP_MESSAGE) <= 2, stderr[-3000:]  # 1,068 evictions
    assert "out of system resource" not in stderr and "Traceback" not in stderr
