"""Modbus TCP framing: the 7-byte MBAP header in front of every PDU.

A TCP stream carries frames back to back with no other delimiter, so a request may arrive in
pieces and several may arrive in one segment (clients pipeline). `next_frame` takes the first
complete frame off a buffer; a header that cannot belong to a Modbus frame raises
`FramingError`, because the stream cannot be resynchronised after it.

Header: transaction id (echoed in the answer), protocol id (0 = Modbus), length (the bytes that
follow: the unit id and the PDU), unit id. A PDU is at most 253 bytes (a 260-byte ADU), so
the length field is at most 254.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER = struct.Struct(">HHHB")  # transaction id, protocol id, length, unit id
HEADER_SIZE = HEADER.size  # 7
MODBUS_PROTOCOL_ID = 0
MAX_PDU_SIZE = 253
MAX_LENGTH_FIELD = 1 + MAX_PDU_SIZE  # the unit id and the PDU: 254
MAX_FRAME_SIZE = HEADER_SIZE - 1 + MAX_LENGTH_FIELD  # 260, the largest Modbus TCP ADU


class FramingError(ValueError):
    """The bytes at the head of the stream are not a Modbus TCP header."""


@dataclass(frozen=True)
class Frame:
    transaction_id: int
    protocol_id: int
    unit_id: int
    pdu: bytes


def next_frame(buffer: bytes | bytearray) -> tuple[Frame | None, int]:
    """(the first complete frame, its size in bytes), or (None, 0) while it is incomplete."""
    if len(buffer) < HEADER_SIZE:
        return None, 0
    transaction_id, protocol_id, length, unit_id = HEADER.unpack_from(buffer)
    if length > MAX_LENGTH_FIELD:
        raise FramingError(
            f"MBAP length {length} is more than {MAX_LENGTH_FIELD} (a PDU of at most {MAX_PDU_SIZE} bytes)"
        )
    if length < 2:
        raise FramingError(f"MBAP length {length} leaves no room for a function code")
    size = HEADER_SIZE - 1 + length
    if len(buffer) < size:
        return None, 0
    return Frame(transaction_id, protocol_id, unit_id, bytes(buffer[HEADER_SIZE:size])), size


def frame_bytes(transaction_id: int, unit_id: int, pdu: bytes) -> bytes:
    """A frame to send: the answer carries the request's transaction id and unit id."""
    return HEADER.pack(transaction_id, MODBUS_PROTOCOL_ID, 1 + len(pdu), unit_id) + pdu
