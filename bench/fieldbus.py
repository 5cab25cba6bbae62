"""Field bus benchmark: Modbus RTU scan time against the wire-time limit on a paced pty pair.

Runs the simulator (sim/) and the gateway's bus scheduler (protocols/fieldbus/scheduler.py) over
its Modbus RTU transport (protocols/fieldbus/rtu_transport.py) in one process, at 115200 baud 8N1
on a pseudo-terminal pair whose replies are paced at the baud rate:
- one 120-cell string: scan time vs. the wire limit (request + response + 3.5-char gaps);
- a 32-string bus (120 cells each): time of a whole scan;
- command latency: SetOutput handed to the scheduler -> its first byte on the line (seen by the
  simulated line), while the 32-string bus scans flat out;
- 1 % of frames corrupted: scans lost beyond the corrupted ones, and false cell alarms
  (a reading outside the float band that the noise-free simulator never produced).
Usage: python bench/fieldbus.py [--quick]
"""

from __future__ import annotations

import dataclasses
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from battery.readings import StringScan  # noqa: E402
from battery.site import (  # noqa: E402
    BatteryType,
    BusConfig,
    GatewayConfig,
    IoModuleConfig,
    MasterControllerConfig,
    StringConfig,
    Topology,
    UpsConfig,
)
from protocols.fieldbus import device_maps as dm  # noqa: E402
from protocols.fieldbus.bus_messages import SetOutput  # noqa: E402
from protocols.fieldbus.rtu_timing import reads_wire_time_s  # noqa: E402
from protocols.fieldbus.rtu_transport import ModbusRtuTransport  # noqa: E402
from protocols.fieldbus.scheduler import BusScheduler  # noqa: E402
from sim.fieldbus_sim import SimulatedFieldBuses  # noqa: E402
from sim.rtu_server import RequestSeen  # noqa: E402
from sim.site_model import SimulatedSite  # noqa: E402

BAUD = 115200
CELLS = 120


def topology(n_strings: int, io_module: bool) -> Topology:
    bus = BusConfig(id="b1", port="/dev/null", baudrate=BAUD, timeout_s=0.1, scan_period_s=0.0, miss_limit=3)
    strings = tuple(
        StringConfig(
            id=f"S{i}",
            index=i,
            name=f"S{i}",
            ups_id="U1",
            bus="b1",
            address=i,
            battery=BatteryType(2, 1000.0, CELLS),
            hall_range_a=1000,
            climate_sensor=True,
        )  # fmt: skip
        for i in range(1, n_strings + 1)
    )
    mc = MasterControllerConfig(bus="b1", address=200, io_modules=(IoModuleConfig("lc1", 201),)) if io_module else None
    return Topology(GatewayConfig("gw", "gw"), (bus,), (UpsConfig("U1", 1, "U1", strings),), mc)


class Run:
    def __init__(self, topo: Topology, run_dir: Path, io_modules: tuple[int, ...] = ()) -> None:
        self.requests: list[RequestSeen] = []
        self.scans: list[StringScan] = []
        self.events: list[object] = []
        self.cond = threading.Condition()
        self.site = SimulatedSite(topo, seed=7)
        self.field = SimulatedFieldBuses(topo, self.site, run_dir, on_request=self.requests.append)
        self.field.start()
        bus = dataclasses.replace(topo.buses[0], port=self.field.ports()["b1"])
        transport = ModbusRtuTransport(bus)
        self.scheduler = BusScheduler(bus, topo.strings, io_modules, transport, self._scan, self.events.append)

    def _scan(self, scan: StringScan) -> None:
        with self.cond:
            self.scans.append(scan)
            self.cond.notify_all()

    def wait_scans(self, n: int, timeout_s: float) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.scans) >= n, timeout_s):
                raise RuntimeError(f"only {len(self.scans)} of {n} scans in {timeout_s} s")

    def stop(self) -> None:
        self.scheduler.stop()
        self.field.stop()


def scan_durations(run: Run, strings: int, scans: int) -> list[float]:
    """Seconds between the starts of consecutive scans of the first string (bus flat out)."""
    run.scheduler.start()
    run.wait_scans(strings * (scans + 2), timeout_s=60 + scans * strings * 0.3)
    first = [s.timestamp for s in run.scans if s.string_id == "S1"]
    return [b - a for a, b in zip(first[1:], first[2:])]  # skip the first (port open, warm-up)


def false_alarms(scan: StringScan) -> int:
    if not scan.responded:
        return 0
    bad = 0
    for v, r, t, ok in zip(
        scan.cell_voltage_mv, scan.cell_resistance_uohm, scan.cell_temperature_dc, scan.cell_responded
    ):
        bad += (not ok) or not 2150 <= v <= 2350 or not 50 <= r <= 5000 or not 100 <= t <= 450
    return bad


def main() -> None:
    quick = "--quick" in sys.argv
    tmp = Path(tempfile.mkdtemp(prefix="btms-bench-fieldbus-"))
    wire_one = reads_wire_time_s((c for _, c in dm.read_plan(dm.string_master_register_count(CELLS))), BAUD)

    run = Run(topology(1, io_module=False), tmp / "one")
    try:
        durations = scan_durations(run, 1, 10 if quick else 40)
    finally:
        run.stop()
    string_scan = statistics.median(durations)
    print(f"one {CELLS}-cell string at {BAUD} baud: scan {string_scan * 1000:.1f} ms median "
          f"(min {min(durations) * 1000:.1f}, max {max(durations) * 1000:.1f}), wire limit {wire_one * 1000:.1f} ms, "
          f"ratio {string_scan / wire_one:.3f}")  # fmt: skip

    topo32 = topology(32, io_module=True)
    run = Run(topo32, tmp / "bus32", io_modules=(201,))
    try:
        durations = scan_durations(run, 32, 2 if quick else 3)
        bus_scan = statistics.median(durations)
        wire_bus = 32 * wire_one + reads_wire_time_s([dm.IO_MODULE.register_count], BAUD)
        print(f"32 strings x {CELLS} cells + 1 BM-LC: scan {bus_scan * 1000:.0f} ms median, "
              f"wire limit {wire_bus * 1000:.0f} ms, ratio {bus_scan / wire_bus:.3f}")  # fmt: skip
        latencies = []
        rng = random.Random(1)
        for n in range(10 if quick else 30):
            time.sleep(rng.uniform(0.02, 0.15))
            mark = len(run.requests)
            submitted = time.monotonic()
            run.scheduler.submit(SetOutput(201, 1 + n % 8, n % 2 == 0, "bench"))
            deadline = submitted + 2.0
            while time.monotonic() < deadline:
                writes = [r for r in run.requests[mark:] if r.function == 5]
                if writes:
                    latencies.append((writes[0].at - submitted) * 1000)
                    break
                time.sleep(0.002)
        latencies.sort()
        p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        print(f"command latency (submit -> first byte on the line) over {len(latencies)} commands: "
              f"median {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms")  # fmt: skip
    finally:
        run.stop()

    run = Run(topology(4, io_module=False), tmp / "noise")
    try:
        run.field.server("b1").set_noise(0.01)
        n_scans = 15 if quick else 60
        scan_durations(run, 4, n_scans)
        counters = run.field.server("b1").counters
        lost = sum(not s.responded for s in run.scans)
        alarms = sum(false_alarms(s) for s in run.scans)
        print(f"1 % noise: {counters['corrupted']} of {counters['answered']} responses corrupted, "
              f"{len(run.scans)} string scans, {lost} lost, {alarms} false cell alarms")  # fmt: skip
    finally:
        run.stop()

    print(json.dumps({
        "bench": "fieldbus",
        "string_scan_ms": round(string_scan * 1000, 1),
        "string_wire_ms": round(wire_one * 1000, 1),
        "ratio": round(string_scan / wire_one, 3),
        "bus32_scan_ms": round(bus_scan * 1000, 1),
        "command_latency_ms": round(p95, 1),
        "false_alarms_at_1pct_noise": alarms,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
