"""Modbus RTU slave logic for simulated devices: request frame in, response frame out.

Pure functions (no I/O, no clock) so that framing, CRC and exception answers are unit-tested
alone; `sim/rtu_server.py` adds the line, the wire pacing and the faults.

Why our own dispatch instead of a pymodbus server: on a shared RS-485 line a slave must stay
silent for every address that is not its own, and pymodbus's SimDevice server answers unknown
ids (PROTOCOLS.md §1). Here only the devices in the mapping answer; the others stay silent,
as real hardware does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

READ_COILS = 1
READ_DISCRETE_INPUTS = 2
READ_HOLDING_REGISTERS = 3
READ_INPUT_REGISTERS = 4
WRITE_SINGLE_COIL = 5
WRITE_MULTIPLE_COILS = 15

ILLEGAL_FUNCTION = 1
ILLEGAL_DATA_ADDRESS = 2
ILLEGAL_DATA_VALUE = 3

BROADCAST = 0
_FIXED_LENGTH_FUNCTIONS = (1, 2, 3, 4, 5, 6)
_VARIABLE_LENGTH_FUNCTIONS = (15, 16)  # byte count at offset 6


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """Modbus CRC-16 (poly 0xA001, init 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ b) & 0xFF]
    return crc


def with_crc(frame: bytes) -> bytes:
    return frame + crc16(frame).to_bytes(2, "little")


def crc_ok(frame: bytes) -> bool:
    return len(frame) >= 4 and crc16(frame[:-2]) == int.from_bytes(frame[-2:], "little")


def request_length(buffer: bytes) -> int | None:
    """Length of the request frame at the start of buffer; None while it cannot be known yet.

    Raises ValueError for a function code whose length we cannot know (garbage on the line).
    """
    if len(buffer) < 2:
        return None
    fc = buffer[1]
    if fc in _FIXED_LENGTH_FUNCTIONS:
        return 8
    if fc in _VARIABLE_LENGTH_FUNCTIONS:
        return None if len(buffer) < 7 else 9 + buffer[6]
    raise ValueError(f"function code {fc} of unknown length")


class SlaveDevice(Protocol):
    """A device as the line sees it. `start` lets a device snapshot its values when a read
    begins at register 0, so that one scan of a string sees one consistent image."""

    def input_registers(self, start: int) -> Sequence[int]: ...

    def coils(self) -> Sequence[bool]: ...

    def discrete_inputs(self) -> Sequence[bool]: ...

    def write_coil(self, index: int, on: bool) -> None: ...

    def answers(self) -> bool: ...  # False: off-line, the device stays silent

    def reply_delay_s(self) -> float: ...  # extra processing time (a slow device)


@dataclass(frozen=True)
class Reply:
    address: int
    function: int
    response: bytes | None  # None: nobody answers (unknown address, off-line device, broadcast)
    delay_s: float = 0.0


def _exception(address: int, fc: int, code: int) -> bytes:
    return with_crc(bytes((address, fc | 0x80, code)))


def _pack_bits(bits: Sequence[bool]) -> bytes:
    out = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def _read(device: SlaveDevice, address: int, fc: int, start: int, count: int) -> bytes:
    if fc in (READ_COILS, READ_DISCRETE_INPUTS):
        bits = device.coils() if fc == READ_COILS else device.discrete_inputs()
        if not 1 <= count <= 2000:
            return _exception(address, fc, ILLEGAL_DATA_VALUE)
        if not bits or start + count > len(bits):
            return _exception(address, fc, ILLEGAL_DATA_ADDRESS)
        data = _pack_bits(bits[start : start + count])
        return with_crc(bytes((address, fc, len(data))) + data)
    if not 1 <= count <= 125:
        return _exception(address, fc, ILLEGAL_DATA_VALUE)
    registers = device.input_registers(start)
    if start + count > len(registers):
        return _exception(address, fc, ILLEGAL_DATA_ADDRESS)
    data = b"".join(v.to_bytes(2, "big") for v in registers[start : start + count])
    return with_crc(bytes((address, fc, len(data))) + data)


def _write_coils(device: SlaveDevice, address: int, fc: int, frame: bytes) -> bytes | None:
    start = int.from_bytes(frame[2:4], "big")
    n_coils = len(device.coils())
    if fc == WRITE_SINGLE_COIL:
        value = int.from_bytes(frame[4:6], "big")
        if value not in (0x0000, 0xFF00):
            return _exception(address, fc, ILLEGAL_DATA_VALUE)
        if start >= n_coils:
            return _exception(address, fc, ILLEGAL_DATA_ADDRESS)
        device.write_coil(start, value == 0xFF00)
        return frame  # the echo of the request is the response
    count = int.from_bytes(frame[4:6], "big")
    if not 1 <= count <= 1968 or frame[6] != (count + 7) // 8:
        return _exception(address, fc, ILLEGAL_DATA_VALUE)
    if start + count > n_coils:
        return _exception(address, fc, ILLEGAL_DATA_ADDRESS)
    packed = frame[7 : 7 + frame[6]]
    for i in range(count):
        device.write_coil(start + i, bool(packed[i // 8] >> (i % 8) & 1))
    return with_crc(frame[:6])


def handle_request(frame: bytes, devices: Mapping[int, SlaveDevice]) -> Reply:
    """Answer one complete request frame (CRC already checked) as the addressed device would."""
    address, fc = frame[0], frame[1]
    if address == BROADCAST:
        for device in devices.values():
            if fc in (WRITE_SINGLE_COIL, WRITE_MULTIPLE_COILS) and device.answers() and device.coils():
                _write_coils(device, 0, fc, frame)
        return Reply(address, fc, None)
    device = devices.get(address)
    if device is None or not device.answers():
        return Reply(address, fc, None)
    if fc in (READ_COILS, READ_DISCRETE_INPUTS, READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS):
        start, count = int.from_bytes(frame[2:4], "big"), int.from_bytes(frame[4:6], "big")
        response: bytes | None = _read(device, address, fc, start, count)
    elif fc in (WRITE_SINGLE_COIL, WRITE_MULTIPLE_COILS):
        response = _write_coils(device, address, fc, frame)
    else:
        response = _exception(address, fc, ILLEGAL_FUNCTION)
    return Reply(address, fc, response, device.reply_delay_s())
