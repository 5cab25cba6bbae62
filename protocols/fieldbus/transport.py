"""The seam between the FieldBus actor and whatever carries its bytes.

A transport polls the devices of one bus. The FieldBus actor owns the schedule (scan period,
command priority, stale marking, alarms on silence); a transport only knows how to read a
string master and write an IO module output. Two transports exist: the in-process simulator
(`sim://`, sim/gateway_transport.py) and Modbus RTU over a serial line (issue 3).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from battery.readings import StringScan
from battery.site import StringConfig


class TransportError(Exception):
    """A request could not be carried out (timeout, CRC error, port gone). Says which device."""


class FieldBusTransport(ABC):
    @abstractmethod
    def poll_string(self, string: StringConfig, scan_no: int, timestamp: float) -> StringScan:
        """Read everything of one string master. A silent device gives `responded=False`."""

    @abstractmethod
    def write_output(self, device_address: int, output: int, on: bool) -> None:
        """Set one relay output (1..8) of a BM-LC IO module. Raises TransportError."""

    @abstractmethod
    def read_inputs(self, device_address: int) -> tuple[bool, ...] | None:
        """The 8 digital inputs of a BM-LC IO module, or None if it did not answer."""

    def close(self) -> None:
        """Release the port. Idempotent."""
