"""Serve simulated devices as Modbus RTU slaves on a line, paced like a real RS-485 bus.

A pseudo-terminal carries bytes instantly, so timings measured against it would mean nothing.
Each reply is therefore held back until the moment its last byte would arrive on a real line:
request on the wire, 3.5-character gap, device processing, response on the wire. The line is
then kept silent for another gap before the next request may start. A bus scan against the
simulator thus takes at least its wire time, as it would against hardware.

A gateway whose port runs at another baud rate than the devices gets no answer (on a real
line it would receive garbage): the pty shows the speed the gateway set, so discovery's
baud-rate scan behaves as on hardware.

Bus noise: a chosen fraction of responses is corrupted (one bit flipped), which the gateway
sees as a CRC error, as it would with a bad cable or a missing terminator.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from protocols.fieldbus.rtu_timing import frame_time_s, gap_s
from sim.pty_bridge import LineEndpoint
from sim.rtu_slave import SlaveDevice, crc_ok, handle_request, request_length

_READ_TIMEOUT_S = 0.05
_STALE_PARTIAL_S = 0.05  # a partial frame older than this is garbage (a pty has no real silence)


@dataclass(frozen=True)
class RequestSeen:
    """What the line saw: for tests and the benchmark (command latency, request counts)."""

    at: float  # time.monotonic() when the request's first byte arrived
    address: int
    function: int
    answered: bool
    corrupted: bool


class BusServer:
    """One simulated RS-485 line: an endpoint, the devices on it, pacing and noise."""

    def __init__(
        self,
        bus_id: str,
        endpoint: LineEndpoint,
        devices: Mapping[int, SlaveDevice],
        *,
        baudrate: int = 115200,
        char_bits: int = 10,
        seed: int = 0,
        on_request: Callable[[RequestSeen], None] | None = None,
    ) -> None:
        self.bus_id = bus_id
        self.endpoint = endpoint
        self.devices = dict(devices)
        self.baudrate = baudrate
        self.char_bits = char_bits
        self.noise_fraction = 0.0
        self.on_request = on_request
        self.counters = {"requests": 0, "answered": 0, "corrupted": 0, "garbage": 0}
        self._rng = random.Random(seed)
        self._gap = gap_s(baudrate, char_bits)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._line_free_at = 0.0

    @property
    def port(self) -> str:
        return self.endpoint.port

    def set_noise(self, fraction: float) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"bus noise must be a fraction 0..1, got {fraction}")
        self.noise_fraction = fraction

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"sim-bus-{self.bus_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.endpoint.close()

    def _run(self) -> None:
        buffer = b""
        first_at = last_at = 0.0
        while not self._stop.is_set():
            data = self.endpoint.read(_READ_TIMEOUT_S)
            now = time.monotonic()
            if not data:
                continue
            if buffer and now - last_at > _STALE_PARTIAL_S:
                self.counters["garbage"] += 1
                buffer = b""
            if not buffer:
                first_at = now
            buffer += data
            last_at = now
            buffer = self._serve_frames(buffer, first_at)

    def _serve_frames(self, buffer: bytes, first_at: float) -> bytes:
        while buffer:
            try:
                length = request_length(buffer)
            except ValueError:
                self.counters["garbage"] += 1
                return b""
            if length is None or len(buffer) < length:
                return buffer
            frame, buffer = buffer[:length], buffer[length:]
            if not crc_ok(frame) or self._wrong_baudrate():
                self.counters["garbage"] += 1
                return b""  # resynchronise on the next burst, as a slave does after silence
            self._answer(frame, first_at)
        return buffer

    def _wrong_baudrate(self) -> bool:
        line = self.endpoint.line_baudrate()
        return line is not None and line != self.baudrate

    def _answer(self, frame: bytes, arrived_at: float) -> None:
        start = max(arrived_at, self._line_free_at)
        request_end = start + frame_time_s(len(frame), self.baudrate, self.char_bits)
        reply = handle_request(frame, self.devices)
        self.counters["requests"] += 1
        corrupted = False
        if reply.response is None:
            self._line_free_at = request_end + self._gap
        else:
            response = reply.response
            if self.noise_fraction and self._rng.random() < self.noise_fraction:
                response = _corrupt(response, self._rng)
                corrupted = True
                self.counters["corrupted"] += 1
            done = request_end + self._gap + reply.delay_s + frame_time_s(len(response), self.baudrate, self.char_bits)
            _sleep_until(done)
            self.endpoint.write(response)
            self.counters["answered"] += 1
            self._line_free_at = done + self._gap
        if self.on_request is not None:
            self.on_request(
                RequestSeen(arrived_at, reply.address, reply.function, reply.response is not None, corrupted)
            )


def _corrupt(frame: bytes, rng: random.Random) -> bytes:
    """Flip one bit somewhere after the address byte: the CRC no longer matches."""
    i = rng.randrange(1, len(frame))
    out = bytearray(frame)
    out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def _sleep_until(deadline: float) -> None:
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(left)
