"""The `sim://NAME` field bus: the simulator's devices read in-process, no bytes on a wire.

A bus whose port is `sim://demo` reaches the devices of the SimulatedSite registered under
"demo" in this process (`shared_site`), so a test can get the same site object and inject
faults that the FieldBus actor then sees. A device answers only at the address the topology
gives it on this bus, as on a real RS-485 line.

Multi-process note: every process has its own registry. Under multiprocTCPBase each FieldBus
actor builds its own copy of the site from the same topology and seed, so the physics agree,
but a disconnect output written on one bus only opens a string simulated in the same process
(the master controller must share the strings' bus for that to show in-process).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from battery.readings import StringScan
from battery.site import IOS_PER_MODULE, BusConfig, StringConfig, Topology
from protocols.fieldbus.rtu_codec import IoModuleState
from protocols.fieldbus.transport import FieldBusTransport, NoAnswer, TransportError
from sim.site_model import SimulatedSite

SIM_SCHEME = "sim://"

_sites: dict[str, SimulatedSite] = {}
_sites_lock = threading.Lock()


def site_name(port: str) -> str:
    """`sim://demo` -> "demo"; anything else is a configuration error."""
    if not port.startswith(SIM_SCHEME) or not port[len(SIM_SCHEME) :]:
        raise ValueError(f"a simulated bus port must look like 'sim://NAME', got {port!r}")
    return port[len(SIM_SCHEME) :]


def shared_site(name: str, topology: Topology, seed: int = 0) -> SimulatedSite:
    """The one SimulatedSite of this process for `sim://name`.

    Created on first use. Asked again with a different topology (a reloaded topology.yaml),
    the site is rebuilt from it: a site never simulates devices the topology does not have.
    """
    with _sites_lock:
        site = _sites.get(name)
        if site is None or site.topology != topology or site.seed != seed:
            site = SimulatedSite(topology, seed)
            _sites[name] = site
        return site


def drop_shared_site(name: str) -> None:
    """Forget a registered site (tests start from a fresh one)."""
    with _sites_lock:
        _sites.pop(name, None)


class SimTransport(FieldBusTransport):
    def __init__(
        self,
        bus: BusConfig,
        topology: Topology,
        site: SimulatedSite | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` gives the wall-clock UNIX time the physics advances to (benchmarks replace it)."""
        self.bus = bus
        self._clock = clock
        self.site = site if site is not None else shared_site(site_name(bus.port), topology)
        self._strings = self.site.strings_on_bus(bus.id)
        self._io_modules = self.site.io_modules_on_bus(bus.id)
        self._advanced_scan: int | None = None
        self._closed = False

    def read_string(self, string: StringConfig, scan_no: int, timestamp: float) -> StringScan:
        self._check_open()
        if scan_no != self._advanced_scan:
            self.site.advance(self._clock())
            self._advanced_scan = scan_no
        device = self._strings.get(string.address)
        if device is None or not device.online:
            raise NoAnswer("timeout")  # a device that is not on the line stays silent
        delay = device.response_delay_s
        if delay > 0.0:
            time.sleep(min(delay, self.bus.timeout_s))  # the bus waits for the answer
            if delay > self.bus.timeout_s:
                raise NoAnswer("timeout")
        with self.site.lock:
            m = device.measure()
        return StringScan(
            string_id=string.id,
            scan_no=scan_no,
            timestamp=timestamp,
            responded=True,
            voltage_cv=m.voltage_cv,
            current_ca=m.current_ca,
            hall_ok=m.hall_ok,
            ambient_dc=m.ambient_dc,
            humidity_dpct=m.humidity_dpct,
            relay_closed=m.relay_closed,
            cell_voltage_mv=m.cell_voltage_mv,
            cell_resistance_uohm=m.cell_resistance_uohm,
            cell_temperature_dc=m.cell_temperature_dc,
            cell_responded=m.cell_responded,
            insulation_kohm=m.insulation_kohm,  # None without a BM-GS
            cell_balancing=m.cell_balancing,
        )

    def write_output(self, device_address: int, output: int, on: bool) -> None:
        self._check_open()
        module = self._io_modules.get(device_address)
        if module is None or not module.online:
            raise TransportError(
                f"bus {self.bus.id}: no IO module answered at address {device_address} (write output {output})"
            )
        if not 1 <= output <= IOS_PER_MODULE:
            raise TransportError(
                f"bus {self.bus.id}: IO module {device_address} has outputs 1..{IOS_PER_MODULE}, not {output}"
            )
        with self.site.lock:
            module.set_output(output, on)

    def read_io_module(self, device_address: int) -> IoModuleState:
        self._check_open()
        module = self._io_modules.get(device_address)
        if module is None or not module.online:
            raise NoAnswer("timeout")
        with self.site.lock:
            return IoModuleState(tuple(module.inputs), tuple(module.outputs))

    def close(self) -> None:
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError(f"bus {self.bus.id}: the simulated transport is closed")
