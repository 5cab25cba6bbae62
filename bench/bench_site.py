"""The benchmarks' data center: N strings of 2 V batteries in UPSes of 4, every service on.

Shared by bench/scale.py and bench/alarms.py so that both measure the same gateway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support import free_port

STRINGS_PER_UPS = 4
IO_MODULE = "lc1"
MASTER_ADDRESS = 200
IO_MODULE_ADDRESS = 201


def write_site(
    tmp: Path,
    strings: int,
    cells: int,
    *,
    name: str,
    outputs: list[dict[str, Any]],
    overrides: dict[str, dict[str, float]] | None = None,
    scan_period_s: float = 1.0,
) -> tuple[Path, dict]:
    """Write topology.yaml into tmp; `overrides` maps a string id to its alarm_overrides."""
    overrides = overrides or {}
    upses = []
    for u in range((strings + STRINGS_PER_UPS - 1) // STRINGS_PER_UPS):
        members = []
        for index in range(u * STRINGS_PER_UPS + 1, min(strings, (u + 1) * STRINGS_PER_UPS) + 1):
            string: dict[str, Any] = {
                "id": f"S{index:02d}",
                "index": index,
                "bus": "sim",
                "address": index,
                "battery": {"nominal_voltage": 2, "capacity_ah": 1000, "count": cells},
                "hall_range_a": 1000,
                "climate_sensor": True,
            }
            if string["id"] in overrides:
                string["alarm_overrides"] = overrides[string["id"]]
            members.append(string)
        upses.append({"id": f"UPS{u + 1}", "index": u + 1, "strings": members})
    data = {
        "gateway": {"id": "bench", "name": name, "admin_port": free_port()},
        "buses": [{"id": "sim", "port": f"sim://{tmp.name}", "scan_period_s": scan_period_s}],
        "upses": upses,
        "master_controller": {
            "bus": "sim",
            "address": MASTER_ADDRESS,
            "io_modules": [{"id": IO_MODULE, "address": IO_MODULE_ADDRESS}],
            "outputs": outputs,
        },
        "services": {
            "web": {"host": "127.0.0.1", "port": free_port()},
            "modbus": {"host": "127.0.0.1", "port": free_port()},
            "snmp": {"enabled": True, "host": "127.0.0.1", "port": free_port(), "read_community": "bench-community"},
        },
        "storage": {"path": str(tmp / "var")},
    }
    path = tmp / "topology.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, data
