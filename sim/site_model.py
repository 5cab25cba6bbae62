"""A simulated data center built from a Topology: every string and BM-LC IO module on its bus.

Conventions:
- Output ON = disconnect. When an IO module output that the topology assigns to a string
  (master_controller.outputs, function "disconnect") is switched ON, that string's breaker
  opens: current 0, the string leaves the UPS bus and its batteries rest. Switching it OFF
  closes the breaker again. (A de-energised relay keeps the string connected, so a dead IO
  module never drops a battery string.)
- Determinism: string `k` (its topology index) gets the seed `seed * 1000 + k`, so the same
  topology and seed give the same batteries, spreads and noise in every process.
- The demo's aging battery: the string with index 2 (else the second string of the topology,
  else the only one) has its middle battery aging at DEMO_AGING_PER_DAY, so its resistance
  climbs visibly while `btms run` shows the site.
- Each string's room climate differs a little (mean 22..24 °C, humidity 40..50 %RH).
"""

from __future__ import annotations

import random
import threading

from battery.site import StringConfig, Topology
from sim.io_module import OutputListener, SimulatedIoModule
from sim.string_model import DEMO_AGING_PER_DAY, RoomClimate, SimulatedString

DEMO_AGING_STRING_INDEX = 2


def demo_aging_string(topology: Topology) -> StringConfig | None:
    """The string that carries the demo's aging battery (see the module docstring)."""
    strings = topology.strings
    for s in strings:
        if s.index == DEMO_AGING_STRING_INDEX:
            return s
    if len(strings) >= 2:
        return strings[1]
    return strings[0] if strings else None


class SimulatedSite:
    def __init__(self, topology: Topology, seed: int = 0) -> None:
        self.topology = topology
        self.seed = seed
        self.lock = threading.RLock()  # for callers that share the site between threads
        aging = demo_aging_string(topology)
        self._strings: dict[str, SimulatedString] = {}
        self._strings_by_bus: dict[str, dict[int, SimulatedString]] = {b.id: {} for b in topology.buses}
        for config in topology.strings:
            climate_rng = random.Random(seed * 1000 + config.index + 500)
            climate = RoomClimate(
                mean_c=22.0 + 2.0 * climate_rng.random(),
                humidity_pct=40.0 + 10.0 * climate_rng.random(),
            )
            string = SimulatedString(
                config,
                seed * 1000 + config.index,
                aging_cell=(config.battery.count + 1) // 2 if config is aging else None,
                aging_per_day=DEMO_AGING_PER_DAY,
                climate=climate,
            )
            self._strings[config.id] = string
            self._strings_by_bus.setdefault(config.bus, {})[config.address] = string

        self._io_by_bus: dict[str, dict[int, SimulatedIoModule]] = {b.id: {} for b in topology.buses}
        self._io_by_id: dict[str, SimulatedIoModule] = {}
        mc = topology.master_controller
        if mc is not None:
            disconnects: dict[tuple[str, int], str] = {
                (o.module, o.output): o.string
                for o in mc.outputs
                if o.function == "disconnect" and o.string is not None
            }
            for module_config in mc.io_modules:
                targets = {
                    output: self._strings[string_id]
                    for (module_id, output), string_id in disconnects.items()
                    if module_id == module_config.id
                }
                module = SimulatedIoModule(module_config.address, _disconnect_listener(targets))
                self._io_by_id[module_config.id] = module
                self._io_by_bus.setdefault(mc.bus, {})[module_config.address] = module

    def advance(self, now: float) -> None:
        """Step every string's physics to wall-clock UNIX time `now`."""
        with self.lock:
            for string in self._strings.values():
                string.advance(now)

    def string(self, string_id: str) -> SimulatedString:
        try:
            return self._strings[string_id]
        except KeyError:
            raise KeyError(f"no simulated string {string_id!r} in topology {self.topology.source or '?'}") from None

    @property
    def strings(self) -> dict[str, SimulatedString]:
        return dict(self._strings)

    def strings_on_bus(self, bus_id: str) -> dict[int, SimulatedString]:
        """String masters on a bus, keyed by their device address."""
        return dict(self._strings_by_bus.get(bus_id, {}))

    def io_modules_on_bus(self, bus_id: str) -> dict[int, SimulatedIoModule]:
        """BM-LC IO modules on a bus, keyed by their device address."""
        return dict(self._io_by_bus.get(bus_id, {}))

    def io_module(self, module_id: str) -> SimulatedIoModule:
        try:
            return self._io_by_id[module_id]
        except KeyError:
            raise KeyError(f"no simulated IO module {module_id!r} in the master controller") from None

    def set_alarm_input(self, alarm: str, on: bool, string_id: str | None = None) -> None:
        """Switch the detector input(s) that the topology names `alarm` (e.g. "leakage")."""
        mc = self.topology.master_controller
        matches = [
            i for i in (mc.inputs if mc else ()) if i.alarm == alarm and (string_id is None or i.string == string_id)
        ]
        if not matches:
            where = f" for string {string_id}" if string_id else ""
            raise KeyError(f"topology has no digital input with alarm {alarm!r}{where}")
        for i in matches:
            self._io_by_id[i.module].set_input(i.input, on)

    def schedule_discharge(self, ups_id: str, start: float, duration_s: float, current_per_string_a: float) -> None:
        """A mains failure of one UPS: each of its strings delivers `current_per_string_a`."""
        with self.lock:
            for config in self.topology.ups(ups_id).strings:
                self._strings[config.id].load_profile.schedule_discharge(start, duration_s, current_per_string_a)


def _disconnect_listener(targets: dict[int, SimulatedString]) -> OutputListener:
    def on_output_change(output: int, on: bool) -> None:
        string = targets.get(output)
        if string is not None:
            string.set_relay(not on)  # output ON = disconnect

    return on_output_change
