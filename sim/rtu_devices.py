"""Simulated devices as Modbus RTU slaves: the physics model seen through the register maps.

Each adapter turns a model object (sim.string_model, sim.io_module) into the register image
that `protocols.fieldbus.device_maps` defines, with the same encoder the gateway's decoder is tested
against. Line-level faults the model does not know (a device pulled off the line by the
control channel, extra reply delay) are flags on the adapter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from battery.readings import StringScan
from battery.site import StringConfig
from protocols.fieldbus import device_maps as dm
from protocols.fieldbus.rtu_codec import encode_io_module, encode_master_controller, encode_string_master

FIRMWARE = 0x0102  # what every simulated device reports: 1.2


def _clamp(value: int, lo: int, hi: int) -> int:
    """A sensor register saturates at its range; a stuck value outside it reads as the limit."""
    return max(lo, min(hi, value))


class SiteClock:
    """Advances the shared physics model at most every `min_step_s`, from any bus thread.

    Lazy on purpose: the model moves when a device is read, so an idle simulator costs no CPU,
    and several bus threads never advance the same model concurrently.
    """

    def __init__(self, site: Any, min_step_s: float = 0.2, now: Callable[[], float] = time.time) -> None:
        self._site = site
        self._min_step_s = min_step_s
        self._now = now
        self._last = float("-inf")
        self.lock: threading.RLock = site.lock  # shared with the control channel's fault injection

    def tick(self) -> None:
        with self.lock:
            now = self._now()
            if now - self._last >= self._min_step_s:
                self._site.advance(now)
                self._last = now


class LineFaults:
    """Faults of one device as the line sees it, set through the control channel."""

    def __init__(self) -> None:
        self.offline = False
        self.extra_delay_s = 0.0


class StringMasterSlave:
    def __init__(self, config: StringConfig, string: Any, clock: SiteClock) -> None:
        self.config = config
        self.string = string
        self.clock = clock
        self.line = LineFaults()
        self._image: list[int] | None = None

    def input_registers(self, start: int) -> Sequence[int]:
        if start == 0 or self._image is None:
            self._image = self._snapshot()
        return self._image

    def _snapshot(self) -> list[int]:
        with self.clock.lock:
            self.clock.tick()
            m = self.string.measure()
        scan = StringScan(
            string_id=self.config.id,
            scan_no=0,
            timestamp=0.0,
            responded=True,
            voltage_cv=m.voltage_cv,
            current_ca=m.current_ca,
            hall_ok=m.hall_ok,
            ambient_dc=m.ambient_dc if self.config.climate_sensor else None,
            humidity_dpct=m.humidity_dpct if self.config.climate_sensor else None,
            relay_closed=m.relay_closed,
            cell_voltage_mv=tuple(_clamp(v, 0, 0xFFFF) for v in m.cell_voltage_mv),
            cell_resistance_uohm=tuple(_clamp(r, 0, 0xFFFF_FFFF) for r in m.cell_resistance_uohm),
            cell_temperature_dc=tuple(_clamp(t, -0x8000, 0x7FFF) for t in m.cell_temperature_dc),
            cell_responded=tuple(m.cell_responded),
            insulation_kohm=m.insulation_kohm if self.config.insulation_sensor else None,
            cell_balancing=m.cell_balancing,
        )
        return encode_string_master(scan, hall_range_a=self.config.hall_range_a,
                                    nominal_voltage=self.config.battery.nominal_voltage,
                                    insulation_status=m.insulation_status, firmware=FIRMWARE)  # fmt: skip

    def coils(self) -> Sequence[bool]:
        return ()

    def discrete_inputs(self) -> Sequence[bool]:
        return ()

    def write_coil(self, index: int, on: bool) -> None:
        raise ValueError(f"a {dm.DeviceKind.STRING_MASTER.value} has no coil {index}")

    def answers(self) -> bool:
        return not self.line.offline and bool(self.string.online)

    def reply_delay_s(self) -> float:
        return self.line.extra_delay_s + self.string.response_delay_s


class IoModuleSlave:
    """A BM-LC: outputs as coils, inputs as discrete inputs, both also as bit-field registers."""

    def __init__(self, module: Any, clock: SiteClock) -> None:
        self.module = module
        self.clock = clock
        self.line = LineFaults()

    def _state(self) -> tuple[tuple[bool, ...], tuple[bool, ...]]:
        with self.clock.lock:
            return tuple(bool(v) for v in self.module.inputs), tuple(bool(v) for v in self.module.outputs)

    def input_registers(self, start: int) -> Sequence[int]:
        inputs, outputs = self._state()
        return encode_io_module(inputs, outputs, firmware=FIRMWARE)

    def coils(self) -> Sequence[bool]:
        return self._state()[1]

    def discrete_inputs(self) -> Sequence[bool]:
        return self._state()[0]

    def write_coil(self, index: int, on: bool) -> None:
        with self.clock.lock:
            self.module.set_output(index + 1, on)

    def answers(self) -> bool:
        return not self.line.offline and bool(self.module.online)

    def reply_delay_s(self) -> float:
        return self.line.extra_delay_s


class MasterControllerSlave:
    def __init__(self, io_module_addresses: Sequence[int]) -> None:
        self.line = LineFaults()
        self._image = encode_master_controller(io_module_addresses, firmware=FIRMWARE)

    def input_registers(self, start: int) -> Sequence[int]:
        return self._image

    def coils(self) -> Sequence[bool]:
        return ()

    def discrete_inputs(self) -> Sequence[bool]:
        return ()

    def write_coil(self, index: int, on: bool) -> None:
        raise ValueError(f"a {dm.DeviceKind.MASTER_CONTROLLER.value} has no coil {index}")

    def answers(self) -> bool:
        return not self.line.offline

    def reply_delay_s(self) -> float:
        return self.line.extra_delay_s
