"""The whole simulated field: every bus of a topology served as Modbus RTU lines (`btms sim`).

Each bus of the topology becomes one line (a pseudo-terminal, or a TCP socket like an
RS-485-to-Ethernet converter) carrying that bus's string masters, the BM-MC and its BM-LC IO
modules, all backed by one `sim.site_model.SimulatedSite`. Whatever `port:` the topology
names, the simulator serves the bus under its own path and prints it; put that path in the
topology the gateway runs with.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from battery.site import Topology
from protocols.fieldbus.rtu_timing import bits_per_char
from sim.pty_bridge import LineEndpoint, PtyEndpoint, TcpEndpoint
from sim.rtu_devices import IoModuleSlave, MasterControllerSlave, SiteClock, StringMasterSlave
from sim.rtu_server import BusServer, RequestSeen
from sim.rtu_slave import SlaveDevice
from sim.site_model import SimulatedSite

Listen = Literal["pty", "tcp"]
STATE_FILE = "sim.json"  # in the run directory: line paths and the control address


class SimulatedFieldBuses:
    def __init__(
        self,
        topology: Topology,
        site: SimulatedSite,
        run_dir: Path,
        *,
        listen: Listen = "pty",
        tcp_ports: dict[str, int] | None = None,
        seed: int = 0,
        on_request: Callable[[RequestSeen], None] | None = None,
    ) -> None:
        if listen not in ("pty", "tcp"):
            raise ValueError(f"listen must be 'pty' or 'tcp', got {listen!r}")
        self.topology = topology
        self.site = site
        self.run_dir = Path(run_dir)
        self.clock = SiteClock(site)
        self.string_slaves: dict[str, StringMasterSlave] = {}
        self.io_slaves: dict[str, IoModuleSlave] = {}
        self.servers: dict[str, BusServer] = {}
        mc = topology.master_controller
        for n, bus in enumerate(topology.buses):
            devices: dict[int, SlaveDevice] = {}
            for config in topology.strings:
                if config.bus == bus.id:
                    slave = StringMasterSlave(config, site.string(config.id), self.clock)
                    self.string_slaves[config.id] = slave
                    devices[config.address] = slave
            if mc is not None and mc.bus == bus.id:
                devices[mc.address] = MasterControllerSlave(tuple(m.address for m in mc.io_modules))
                for module in mc.io_modules:
                    io = IoModuleSlave(site.io_module(module.id), self.clock)
                    self.io_slaves[module.id] = io
                    devices[module.address] = io
            endpoint: LineEndpoint
            if listen == "pty":
                endpoint = PtyEndpoint(self.run_dir / f"{bus.id}.tty")
            else:
                endpoint = TcpEndpoint((tcp_ports or {}).get(bus.id, 0))
            self.servers[bus.id] = BusServer(
                bus.id, endpoint, devices, baudrate=bus.baudrate, char_bits=bits_per_char(bus.parity, bus.stopbits),
                seed=seed * 1000 + n, on_request=on_request,
            )  # fmt: skip

    def start(self) -> None:
        for server in self.servers.values():
            server.start()

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def ports(self) -> dict[str, str]:
        """Bus id -> what to put in that bus's `port:`."""
        return {bus_id: server.port for bus_id, server in self.servers.items()}

    def server(self, bus_id: str) -> BusServer:
        try:
            return self.servers[bus_id]
        except KeyError:
            raise KeyError(f"no bus {bus_id!r} in the simulated topology (buses: {', '.join(self.servers)})") from None


def run_simulator(
    topology_path: str | Path,
    listen: Listen = "pty",
    *,
    run_dir: str | Path | None = None,
    tcp_port_base: int = 0,
    control_port: int = 0,
    seed: int = 0,
    out: Callable[[str], None] = print,
) -> int:
    """`btms sim`: serve every device of the topology until SIGINT/SIGTERM. Returns an exit code.

    tcp_port_base: with listen="tcp", bus n (0-based, topology order) listens on base + n
    (0 = any free port). The control channel listens on 127.0.0.1:control_port (0 = free port).
    """
    from sim.control import ControlServer
    from topology.loader import load_topology  # the CLI's loader; prints file:line problems

    topology = load_topology(topology_path)
    directory = Path(run_dir) if run_dir is not None else topology.storage_dir() / "sim"
    directory.mkdir(parents=True, exist_ok=True)
    site = SimulatedSite(topology, seed=seed)
    tcp_ports = {b.id: tcp_port_base + n for n, b in enumerate(topology.buses)} if tcp_port_base else None
    field = SimulatedFieldBuses(topology, site, directory, listen=listen, tcp_ports=tcp_ports, seed=seed)
    control = ControlServer(field, port=control_port)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    field.start()
    control.start()
    try:
        state = {"buses": field.ports(), "control": f"127.0.0.1:{control.port}"}
        (directory / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
        out(f"Simulating {len(topology.strings)} strings on {len(field.servers)} bus(es) of {topology_path}:")
        for bus in topology.buses:
            out(f'  bus {bus.id}: port: "{field.ports()[bus.id]}"   ({bus.baudrate} baud)')
        out(f"Fault control: 127.0.0.1:{control.port}  (btms sim-fault --run-dir {directory} ...)")
        out("Put these ports in the gateway's topology. Ctrl-C stops the simulator.")
        stop.wait()
    finally:
        control.stop()
        field.stop()
        (directory / STATE_FILE).unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
