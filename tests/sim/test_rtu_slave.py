"""The simulator's Modbus RTU slave logic (sim/rtu_slave.py) and the field bus's outage bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pymodbus.framer import FramerRTU

from protocols.fieldbus.outages import DeviceWatch
from sim.rtu_slave import crc16, crc_ok, handle_request, request_length, with_crc


class FakeIo:
    """A device with 6 registers and 8 coils; records writes."""

    def __init__(self, online: bool = True) -> None:
        self.online = online
        self.outputs = [False] * 8

    def input_registers(self, start: int) -> Sequence[int]:
        return [0x4C43, 0x0102, 8, 8, 0, sum(1 << i for i, o in enumerate(self.outputs) if o)]

    def coils(self) -> Sequence[bool]:
        return self.outputs

    def discrete_inputs(self) -> Sequence[bool]:
        return [True] + [False] * 7

    def write_coil(self, index: int, on: bool) -> None:
        self.outputs[index] = on

    def answers(self) -> bool:
        return self.online

    def reply_delay_s(self) -> float:
        return 0.0


def test_crc_matches_the_spec_example_and_pymodbus():
    frame = bytes.fromhex("01030000000A")
    assert with_crc(frame) == bytes.fromhex("01030000000AC5CD")
    data = bytes(range(40))
    assert crc16(data).to_bytes(2, "little") == FramerRTU.compute_CRC(data).to_bytes(2, "big")
    assert crc_ok(with_crc(data)) and not crc_ok(with_crc(data)[:-1] + b"\x00")


def test_request_length_needs_the_byte_count_of_variable_frames():
    assert request_length(b"\x01") is None
    assert request_length(b"\x01\x04") == 8
    assert request_length(b"\x01\x0f\x00\x00\x00") is None
    assert request_length(b"\x01\x0f\x00\x00\x00\x08\x01") == 10
    with pytest.raises(ValueError, match="function code 99"):
        request_length(b"\x01\x63")


def test_read_input_registers_answers_only_its_own_address():
    devices = {5: FakeIo()}
    reply = handle_request(with_crc(bytes.fromhex("050400000002")), devices)
    assert reply.response == with_crc(bytes.fromhex("0504044C430102"))
    assert handle_request(with_crc(bytes.fromhex("060400000002")), devices).response is None
    devices[5].online = False
    assert handle_request(with_crc(bytes.fromhex("050400000002")), devices).response is None


def test_exceptions_for_bad_range_and_unknown_function():
    devices = {5: FakeIo()}
    beyond = handle_request(with_crc(bytes.fromhex("050400040003")), devices)
    assert beyond.response == with_crc(bytes.fromhex("058402"))
    unknown = handle_request(with_crc(bytes.fromhex("050600000001")), devices)
    assert unknown.response == with_crc(bytes.fromhex("058601"))
    bad_value = handle_request(with_crc(bytes.fromhex("050500011234")), devices)
    assert bad_value.response == with_crc(bytes.fromhex("058503"))


def test_coil_writes_and_bit_reads():
    io = FakeIo()
    request = with_crc(bytes.fromhex("05050002FF00"))
    assert handle_request(request, {5: io}).response == request  # echo
    assert io.outputs[2] is True
    multiple = with_crc(bytes.fromhex("050F000000080101"))
    assert handle_request(multiple, {5: io}).response == with_crc(bytes.fromhex("050F00000008"))
    assert io.outputs == [True] + [False] * 7
    inputs = handle_request(with_crc(bytes.fromhex("050200000008")), {5: io})
    assert inputs.response == with_crc(bytes.fromhex("05020101"))


def test_broadcast_writes_without_answering():
    io = FakeIo()
    reply = handle_request(with_crc(bytes.fromhex("00050007FF00")), {5: io})
    assert reply.response is None and io.outputs[7] is True


def test_device_watch_reports_loss_once_and_recovery_once():
    watch = DeviceWatch("b1", 3, "string A1 (BM-SS)", miss_limit=3)
    assert watch.missed(10.0, "timeout") is None
    assert watch.missed(11.0, "timeout") is None
    lost = watch.missed(12.0, "timeout")
    assert lost is not None and lost.misses == 3 and lost.reason == "timeout"
    assert watch.missed(13.0, "timeout") is None  # no second report
    recovered = watch.answered(20.0)
    assert recovered is not None and recovered.outage_s == pytest.approx(8.0)
    assert watch.answered(21.0) is None
    assert watch.missed(22.0, "timeout") is None  # the count starts again from zero
