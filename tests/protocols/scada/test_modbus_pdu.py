"""Modbus TCP framing and PDUs without sockets: MBAP frames, request checks, a unit's writes."""

from __future__ import annotations

import struct

import pytest

from protocols.scada import modbus_mbap as mbap
from protocols.scada.modbus_pdu import (
    ExceptionCode,
    Request,
    exception_response,
    parse_request,
    read_response,
)
from protocols.scada.modbus_units import RegisterUnit


def frame(transaction_id: int, pdu: bytes, unit: int = 101, protocol: int = 0) -> bytes:
    return struct.pack(">HHHB", transaction_id, protocol, 1 + len(pdu), unit) + pdu


def test_next_frame_takes_one_complete_frame_and_waits_for_a_partial_one() -> None:
    stream = frame(1, b"\x03\x00\x00\x00\x02") + frame(2, b"\x04\x00\x0a\x00\x01")
    first, used = mbap.next_frame(stream)
    assert first == mbap.Frame(1, 0, 101, b"\x03\x00\x00\x00\x02") and used == 12
    second, used2 = mbap.next_frame(stream[used:])
    assert second is not None and second.transaction_id == 2 and used2 == 12
    for cut in range(12):
        assert mbap.next_frame(stream[:cut]) == (None, 0)


@pytest.mark.parametrize(
    ("length", "why"),
    [(255, "more than 254"), (0xFFFF, "more than 254"), (1, "no room for a function code"), (0, "no room")],
)
def test_a_header_that_cannot_be_modbus_is_a_framing_error(length: int, why: str) -> None:
    with pytest.raises(mbap.FramingError, match=why):
        mbap.next_frame(struct.pack(">HHHB", 1, 0, length, 1) + b"\x03")


def test_an_answer_echoes_transaction_and_unit() -> None:
    assert mbap.frame_bytes(0xBEEF, 7, b"\x83\x03") == bytes.fromhex("beef00000003078303")


@pytest.mark.parametrize(
    ("pdu", "expected"),
    [
        (struct.pack(">BHH", 3, 10, 1), Request(3, 10, 1)),
        (struct.pack(">BHH", 4, 0, 125), Request(4, 0, 125)),
        (struct.pack(">BHH", 3, 0, 0), ExceptionCode.ILLEGAL_DATA_VALUE),
        (struct.pack(">BHH", 4, 0, 126), ExceptionCode.ILLEGAL_DATA_VALUE),
        (struct.pack(">BHHB", 3, 0, 1, 0), ExceptionCode.ILLEGAL_DATA_VALUE),  # a byte too many
        (struct.pack(">BHH", 6, 20, 0xFFFF), Request(6, 20, 1, (0xFFFF,))),
        (struct.pack(">BH", 6, 20), ExceptionCode.ILLEGAL_DATA_VALUE),
        (struct.pack(">BHHBHH", 16, 20, 2, 4, 1, 2), Request(16, 20, 2, (1, 2))),
        (struct.pack(">BHHB", 16, 0, 123, 246) + bytes(246), Request(16, 0, 123, (0,) * 123)),
        (struct.pack(">BHHB", 16, 0, 124, 248) + bytes(248), ExceptionCode.ILLEGAL_DATA_VALUE),
        (struct.pack(">BHHB", 16, 20, 0, 0), ExceptionCode.ILLEGAL_DATA_VALUE),
        (struct.pack(">BHHBH", 16, 20, 1, 3, 0) + b"\x00", ExceptionCode.ILLEGAL_DATA_VALUE),
        (struct.pack(">BHHBHH", 16, 20, 1, 2, 0, 0), ExceptionCode.ILLEGAL_DATA_VALUE),  # data longer than its count
        (struct.pack(">BHH", 1, 0, 0), ExceptionCode.ILLEGAL_FUNCTION),  # no coils: the function, not the count
        (struct.pack(">BHH", 15, 0, 1), ExceptionCode.ILLEGAL_FUNCTION),
        (b"\x2b\x0e\x01\x00", ExceptionCode.ILLEGAL_FUNCTION),
    ],
)
def test_parse_request_checks_in_the_order_of_the_specification(pdu: bytes, expected: Request | ExceptionCode) -> None:
    assert parse_request(pdu) == expected


def test_an_exception_response_sets_bit_0x80_of_the_function() -> None:
    assert exception_response(3, ExceptionCode.ILLEGAL_DATA_VALUE) == b"\x83\x03"
    assert exception_response(0x2B, ExceptionCode.ILLEGAL_FUNCTION) == b"\xab\x01"
    assert exception_response(0x83, ExceptionCode.ILLEGAL_FUNCTION) == b"\x83\x01"
    assert read_response(4, [1, 0xFFFF]) == b"\x04\x04\x00\x01\xff\xff"


def test_a_unit_checks_addresses_then_lets_its_action_judge_the_value() -> None:
    written: list[tuple[int, tuple[int, ...], str]] = []

    def action(address: int, values: tuple[int, ...], client: str) -> ExceptionCode | None:
        written.append((address, values, client))
        return None if values[0] in (0, 1) else ExceptionCode.ILLEGAL_DATA_VALUE

    unit = RegisterUnit(words=list(range(30)), writable=frozenset({20}), on_write=action)
    assert unit.serve(Request(3, 28, 2), "c") == b"\x03\x04\x00\x1c\x00\x1d"
    assert unit.serve(Request(3, 29, 2), "c") == b"\x83\x02"
    assert unit.serve(Request(16, 19, 2, (0, 0)), "c") == b"\x90\x02"  # 19 is read-only
    assert unit.serve(Request(6, 20, 1, (7,)), "c") == b"\x86\x03"
    assert unit.serve(Request(6, 20, 1, (1,)), "c") == b"\x06\x00\x14\x00\x01"
    assert written == [(20, (7,), "c"), (20, (1,), "c")] and unit.words[20] == 20  # not stored
