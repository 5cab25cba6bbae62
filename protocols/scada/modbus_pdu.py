"""Modbus request and response PDUs for the functions the SCADA server serves.

The checks follow the order of the Modbus application protocol specification: a function the
server does not serve answers exception 1 (illegal function); a quantity out of its range, a
byte count that does not match it or a PDU of the wrong length answers exception 3 (illegal
data value); the address range is checked afterwards, by the unit (exception 2). An exception
response carries the request's function code with bit 0x80 set (0x83 for function 3).

Served: 3 read holding registers and 4 read input registers (1..125 registers), 6 write
single register, 16 write multiple registers (1..123 registers). The map has no coils or
discrete inputs, so functions 1, 2, 5 and 15 are not served (exception 1, before any check of
their quantity).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum


class ExceptionCode(IntEnum):
    ILLEGAL_FUNCTION = 1
    ILLEGAL_DATA_ADDRESS = 2
    ILLEGAL_DATA_VALUE = 3
    SERVER_DEVICE_FAILURE = 4
    GATEWAY_PATH_UNAVAILABLE = 0x0A


READ_HOLDING_REGISTERS = 3
READ_INPUT_REGISTERS = 4
WRITE_SINGLE_REGISTER = 6
WRITE_MULTIPLE_REGISTERS = 16

READ_FUNCTIONS = frozenset({READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS})
WRITE_FUNCTIONS = frozenset({WRITE_SINGLE_REGISTER, WRITE_MULTIPLE_REGISTERS})
SERVED_FUNCTIONS = READ_FUNCTIONS | WRITE_FUNCTIONS

MAX_READ_REGISTERS = 125  # 250 data bytes: what fits a 253-byte response PDU
MAX_WRITE_REGISTERS = 123  # 246 data bytes: what fits a 253-byte request PDU

_ADDRESS_COUNT = struct.Struct(">HH")  # starting address, quantity (or value for function 6)
_MULTIPLE_HEADER = struct.Struct(">HHB")  # starting address, quantity, byte count


@dataclass(frozen=True)
class Request:
    """A well-formed request: `values` are the registers to write (empty for a read)."""

    function: int
    address: int
    count: int
    values: tuple[int, ...] = ()


def parse_request(pdu: bytes) -> Request | ExceptionCode:
    """The request a PDU asks for, or the exception it must be answered with."""
    function = pdu[0]
    if function not in SERVED_FUNCTIONS:
        return ExceptionCode.ILLEGAL_FUNCTION
    body = pdu[1:]
    if function in READ_FUNCTIONS:
        if len(body) != _ADDRESS_COUNT.size:
            return ExceptionCode.ILLEGAL_DATA_VALUE
        address, count = _ADDRESS_COUNT.unpack(body)
        if not 1 <= count <= MAX_READ_REGISTERS:
            return ExceptionCode.ILLEGAL_DATA_VALUE
        return Request(function, address, count)
    if function == WRITE_SINGLE_REGISTER:
        if len(body) != _ADDRESS_COUNT.size:
            return ExceptionCode.ILLEGAL_DATA_VALUE
        address, value = _ADDRESS_COUNT.unpack(body)
        return Request(function, address, 1, (value,))
    if len(body) < _MULTIPLE_HEADER.size:
        return ExceptionCode.ILLEGAL_DATA_VALUE
    address, count, byte_count = _MULTIPLE_HEADER.unpack_from(body)
    data = body[_MULTIPLE_HEADER.size :]
    if not 1 <= count <= MAX_WRITE_REGISTERS or byte_count != 2 * count or len(data) != byte_count:
        return ExceptionCode.ILLEGAL_DATA_VALUE
    return Request(function, address, count, struct.unpack(f">{count}H", data))


def exception_response(function: int, code: ExceptionCode) -> bytes:
    return bytes(((function | 0x80) & 0xFF, int(code)))


def read_response(function: int, words: list[int]) -> bytes:
    return struct.pack(f">BB{len(words)}H", function, 2 * len(words), *words)


def write_response(request: Request) -> bytes:
    """Function 6 echoes address and value; function 16 answers address and quantity."""
    if request.function == WRITE_SINGLE_REGISTER:
        return struct.pack(">BHH", request.function, request.address, request.values[0])
    return struct.pack(">BHH", request.function, request.address, request.count)
