"""A simulated BM-LC IO module: 8 relay outputs and 8 digital inputs, numbered 1..8.

Outputs are what the gateway writes (string disconnection, warning light, siren); inputs are
what detectors report (leakage, fire ...). The site model listens to output changes to open a
string's breaker (see sim.site_model for the convention).
"""

from __future__ import annotations

from collections.abc import Callable

from battery.site import IOS_PER_MODULE
from sim.faults import DeviceOffline, DigitalInputActive

OutputListener = Callable[[int, bool], None]  # (output 1..8, on)


class SimulatedIoModule:
    def __init__(self, address: int, on_output_change: OutputListener | None = None) -> None:
        if not 1 <= address <= 247:
            raise ValueError(f"IO module address must be 1..247, got {address}")
        self.address = address
        self.outputs: list[bool] = [False] * IOS_PER_MODULE
        self.inputs: list[bool] = [False] * IOS_PER_MODULE
        self.online = True
        self._listeners: list[OutputListener] = [on_output_change] if on_output_change else []

    def add_output_listener(self, listener: OutputListener) -> None:
        self._listeners.append(listener)

    def set_output(self, n: int, on: bool) -> None:
        """Switch relay output `n` (1..8), as a Modbus coil write would."""
        self._check(n, "output")
        self.outputs[n - 1] = bool(on)
        for listener in self._listeners:
            listener(n, bool(on))

    def set_input(self, n: int, on: bool) -> None:
        """Set the contact of digital input `n` (1..8): what a detector does."""
        self._check(n, "input")
        self.inputs[n - 1] = bool(on)

    def inject(self, fault: DigitalInputActive | DeviceOffline) -> None:
        if isinstance(fault, DigitalInputActive):
            self.set_input(fault.input, True)
        elif isinstance(fault, DeviceOffline):
            self.online = False
        else:
            raise TypeError(f"IO module {self.address}: {fault!r} is not an IO module fault")

    def clear_faults(self) -> None:
        """All inputs off, module on-line again (outputs keep what the gateway wrote)."""
        self.inputs = [False] * IOS_PER_MODULE
        self.online = True

    def _check(self, n: int, what: str) -> None:
        if not 1 <= n <= IOS_PER_MODULE:
            raise ValueError(f"IO module {self.address}: {what} must be 1..{IOS_PER_MODULE}, got {n}")
