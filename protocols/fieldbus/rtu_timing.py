"""Time on the wire of Modbus RTU frames: the yardstick for the simulator's pacing and the benchmark.

A character is start bit + 8 data bits + parity bit (if any) + stop bits. Frames are separated
by at least 3.5 characters of silence; above 19200 baud the Modbus spec fixes that gap at
1.75 ms (RTU over serial line, §2.5.1.1).
"""

from __future__ import annotations

from collections.abc import Iterable

FIXED_GAP_ABOVE_19200_S = 0.00175
REQUEST_BYTES = 8  # address, function, start (2), count (2), CRC (2)


def bits_per_char(parity: str = "N", stopbits: int = 1) -> int:
    if parity not in ("N", "E", "O"):
        raise ValueError(f"parity {parity!r} is not one of N, E, O")
    if stopbits not in (1, 2):
        raise ValueError(f"stop bits {stopbits} is not 1 or 2")
    return 1 + 8 + (0 if parity == "N" else 1) + stopbits


def frame_time_s(n_bytes: int, baudrate: int, char_bits: int = 10) -> float:
    return n_bytes * char_bits / baudrate


def gap_s(baudrate: int, char_bits: int = 10) -> float:
    """The 3.5-character silence that ends a frame."""
    return FIXED_GAP_ABOVE_19200_S if baudrate > 19200 else 3.5 * char_bits / baudrate


def read_response_bytes(register_count: int) -> int:
    return 5 + 2 * register_count  # address, function, byte count, data, CRC (2)


def transaction_time_s(request_bytes: int, response_bytes: int, baudrate: int, char_bits: int = 10) -> float:
    """Request + gap + response + gap: the least time one request/response pair holds the line."""
    return frame_time_s(request_bytes + response_bytes, baudrate, char_bits) + 2 * gap_s(baudrate, char_bits)


def reads_wire_time_s(register_counts: Iterable[int], baudrate: int, char_bits: int = 10) -> float:
    """Wire limit of a series of register reads (FC 3/4), gaps included."""
    return sum(transaction_time_s(REQUEST_BYTES, read_response_bytes(n), baudrate, char_bits) for n in register_counts)
