"""CPU cost of the simulator at full size: 32 strings x 120 batteries, polled every second.

The gateway's whole budget is 0.30 CPU-seconds per second; the in-process simulator should take
a small slice of it (target: well under 20 ms per second). The scans go through SimTransport,
exactly as the FieldBus actor calls it (site.advance once per scan, then one StringScan per
string), but on a simulated clock so the run is short: CPU time is measured per scan.

Usage: python bench/sim_cost.py [scans]     (default 60)
Last line: {"strings", "cells", "scans", "cpu_ms_per_scan", "advance_ms_per_scan",
"measure_ms_per_scan", "month_advance_s"}
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from battery.site import (
    BatteryType,
    BusConfig,
    GatewayConfig,
    StringConfig,
    Topology,
    UpsConfig,
)
from sim.gateway_transport import SimTransport
from sim.site_model import SimulatedSite

STRINGS = 32
CELLS = 120
UPSES = 8


def full_topology() -> Topology:
    per_ups = STRINGS // UPSES
    upses = tuple(
        UpsConfig(
            id=f"U{u}",
            index=u,
            name=f"UPS {u}",
            strings=tuple(
                StringConfig(
                    id=f"S{k}",
                    index=k,
                    name=f"S{k}",
                    ups_id=f"U{u}",
                    bus="bus1",
                    address=k,
                    battery=BatteryType(12, 100.0, CELLS),
                    hall_range_a=500,
                    climate_sensor=True,
                )
                for k in range((u - 1) * per_ups + 1, u * per_ups + 1)
            ),
        )
        for u in range(1, UPSES + 1)
    )
    return Topology(
        gateway=GatewayConfig(id="bench", name="bench"),
        buses=(BusConfig(id="bus1", port="sim://bench"),),
        upses=upses,
    )


def main() -> None:
    scans = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    topology = full_topology()
    site = SimulatedSite(topology)
    t0 = 1_700_000_000.0
    clock = [t0]
    transport = SimTransport(topology.buses[0], topology, site, clock=lambda: clock[0])
    strings = topology.strings
    site.advance(t0)
    # Half of the UPSes lose mains during the run: the costlier voltage path.
    for u in topology.upses[: UPSES // 2]:
        site.schedule_discharge(u.id, t0 + 5, scans / 2, 40.0)

    advance_cpu = measure_cpu = 0.0
    for i in range(1, scans + 1):
        clock[0] = t0 + i
        c0 = time.process_time()
        transport.poll_string(strings[0], i, t0 + i)  # the first poll of a scan advances the site
        c1 = time.process_time()
        for s in strings[1:]:
            transport.poll_string(s, i, t0 + i)
        c2 = time.process_time()
        advance_cpu += c1 - c0
        measure_cpu += c2 - c1

    c0 = time.process_time()
    site.string("S2").advance(t0 + scans + 30 * 86400)
    month_s = time.process_time() - c0

    adv_ms = 1000 * advance_cpu / scans
    mea_ms = 1000 * measure_cpu / scans
    print(f"{STRINGS} strings x {CELLS} batteries, {scans} scans of 1 s through SimTransport")
    print(f"first poll (advance 32 strings + 1 scan): {adv_ms:.2f} ms CPU per scan")
    print(f"the other 31 polls (measure + StringScan): {mea_ms:.2f} ms CPU per scan")
    print(f"total: {adv_ms + mea_ms:.2f} ms CPU per second of wall clock (target < 20 ms)")
    print(f"advance one string by 30 days in one call: {month_s:.3f} s CPU")
    print(
        json.dumps(
            {
                "strings": STRINGS,
                "cells": STRINGS * CELLS,
                "scans": scans,
                "cpu_ms_per_scan": round(adv_ms + mea_ms, 3),
                "advance_ms_per_scan": round(adv_ms, 3),
                "measure_ms_per_scan": round(mea_ms, 3),
                "month_advance_s": round(month_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
