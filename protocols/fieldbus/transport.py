"""The seam between the bus scheduler and whatever carries its bytes.

A transport carries out one request at a time for the devices of one bus. The scheduler
(protocols/fieldbus/scheduler.py) owns everything else: the scan schedule, command priority,
miss counting against the bus's miss_limit and the once-only outage reports. Two transports
exist: the in-process simulator (`sim://`, sim/gateway_transport.py) and Modbus RTU over a
serial line (protocols/fieldbus/rtu_transport.py). The scheduler calls a transport from one
thread only.

Each read comes in two views: `read_string` / `read_io_module` raise `NoAnswer` saying why a
device was silent (what the scheduler counts and reports), while `poll_string` / `read_inputs`
just give the stale value (`responded=False` / None) for callers that only need the values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from battery.readings import StringScan
from battery.site import StringConfig
from protocols.fieldbus.rtu_codec import IoModuleState


class TransportError(Exception):
    """A request could not be carried out. The message says which device and why."""


class NoAnswer(TransportError):
    """The device did not answer usefully (timeout, exception response, registers that do not fit
    its map). The message is the reason an outage report gives: "timeout", "Modbus exception 2"."""


class PortLost(TransportError):
    """The line itself is gone (adapter unplugged, pty closed, converter down): no device can
    answer until the port is opened again. Not counted against any device."""


def _no_hook() -> None:
    return None


class FieldBusTransport(ABC):
    between_requests: Callable[[], None] = staticmethod(_no_hook)
    """Called between the requests of one read that needs several (a 120-cell string is five).
    The scheduler sets it to run the commands waiting, so an output waits at most for the
    request already on the wire, never for a whole string."""

    @property
    def is_open(self) -> bool:
        """Whether requests can go out. A transport with nothing to open is always open."""
        return True

    def open(self) -> None:  # noqa: B027 - optional: the simulator has no port
        """(Re)open the port. Raises PortLost when it cannot. Nothing to do by default."""

    @abstractmethod
    def read_string(self, string: StringConfig, scan_no: int, timestamp: float) -> StringScan:
        """Everything of one string master (`responded=True`). Raises NoAnswer or PortLost."""

    @abstractmethod
    def read_io_module(self, device_address: int) -> IoModuleState:
        """Inputs and outputs of one BM-LC IO module. Raises NoAnswer or PortLost."""

    @abstractmethod
    def write_output(self, device_address: int, output: int, on: bool) -> None:
        """Set one relay output (1..8) of a BM-LC IO module. Raises TransportError."""

    def close(self) -> None:  # noqa: B027 - optional: nothing to release by default
        """Release the port. Idempotent."""

    # -- the values only ------------------------------------------------------------------------

    def poll_string(self, string: StringConfig, scan_no: int, timestamp: float) -> StringScan:
        """Like read_string, but a silent device gives `responded=False` (stale, never current)."""
        try:
            return self.read_string(string, scan_no, timestamp)
        except NoAnswer:
            return StringScan(string.id, scan_no, timestamp, responded=False)

    def read_inputs(self, device_address: int) -> tuple[bool, ...] | None:
        """The 8 digital inputs of a BM-LC IO module, or None if it did not answer."""
        try:
            return self.read_io_module(device_address).inputs
        except NoAnswer:
            return None
