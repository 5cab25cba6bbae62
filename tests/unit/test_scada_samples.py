"""Sample sites and statuses for the SCADA/NMS tests and bench/scada.py (plus their own checks).

Statuses are built the way the string master builds them: tuples of scaled integers per cell.
"""

from __future__ import annotations

import time

from battery.codes import ChargeState, Health
from battery.status import StringStatus, UpsStatus
from battery.site import (
    BatteryType,
    BusConfig,
    GatewayConfig,
    ModbusTcpConfig,
    ServicesConfig,
    SnmpConfig,
    StringConfig,
    Topology,
    UpsConfig,
)


def sample_topology(
    upses: int = 2,
    strings_per_ups: int = 2,
    cells: int = 4,
    modbus: ModbusTcpConfig | None = None,
    snmp: SnmpConfig | None = None,
) -> Topology:
    """UPS k has strings k*strings_per_ups+1...; string ids "s<index>", UPS ids "ups<index>"."""
    ups_list = []
    for u in range(1, upses + 1):
        strings = tuple(
            StringConfig(
                id=f"s{i}", index=i, name=f"String {i}", ups_id=f"ups{u}", bus="bus1", address=i,
                battery=BatteryType(nominal_voltage=12, capacity_ah=100.0, count=cells),
                hall_range_a=300, climate_sensor=(i % 2 == 1),
            )
            for i in range((u - 1) * strings_per_ups + 1, u * strings_per_ups + 1)
        )
        ups_list.append(UpsConfig(id=f"ups{u}", index=u, name=f"UPS {u}", strings=strings))
    return Topology(
        gateway=GatewayConfig(id="gw", name="Test gateway"),
        buses=(BusConfig(id="bus1", port="sim://bus1"),),
        upses=tuple(ups_list),
        services=ServicesConfig(
            modbus=modbus or ModbusTcpConfig(host="127.0.0.1", port=0),
            snmp=snmp or SnmpConfig(enabled=True, host="127.0.0.1", port=0, read_community="public"),
        ),
    )


def sample_string_status(
    topology: Topology, string_id: str, scan_no: int = 1, health: Health = Health.OK, seed: int = 0,
    timestamp: float | None = None,
) -> StringStatus:
    """A plausible status whose values depend on the string index, the cell and `seed`."""
    cfg = topology.string(string_id)
    n = cfg.battery.count
    i = cfg.index
    return StringStatus(
        string_id=cfg.id, ups_id=cfg.ups_id, index=i, scan_no=scan_no,
        timestamp=time.time() if timestamp is None else timestamp,
        health=health,
        voltage_v=13.5 * n + i / 100 + seed / 100,
        current_a=-(12.34 + i + seed),  # discharging: negative
        state=ChargeState.DISCHARGE, soc_pct=80.0 + i / 10, soh_pct=95.0, balance_pct=98.76,
        ambient_c=(-5.5 - i) if cfg.climate_sensor else None,
        humidity_pct=(40.0 + i / 10) if cfg.climate_sensor else None,
        hall_ok=True, relay_closed=True,
        cell_health=tuple(int(Health.OK) for _ in range(n)),
        cell_faults=tuple(0 for _ in range(n)),
        cell_voltage_mv=tuple(13_500 + 10 * c + i + seed for c in range(n)),
        cell_resistance_uohm=tuple(70_000 + 100 * c + i + seed for c in range(n)),  # 70 mΩ: above 65535
        cell_temperature_dc=tuple(-50 + 3 * c + i for c in range(n)),  # some below 0 °C
        cell_soc_pct=tuple((80 + c) % 101 for c in range(n)),
        cell_soh_pct=tuple((90 + c) % 101 for c in range(n)),
    )


def sample_ups_status(topology: Topology, ups_id: str, health: Health = Health.OK) -> UpsStatus:
    cfg = topology.ups(ups_id)
    return UpsStatus(
        ups_id=cfg.id, index=cfg.index, timestamp=time.time(), health=health,
        voltage_v=54.32 + cfg.index, current_a=-(100.5 + cfg.index), soc_pct=81.4,
        string_ids=tuple(s.id for s in cfg.strings),
    )


def test_sample_topology_numbers_strings_across_upses() -> None:
    t = sample_topology(upses=2, strings_per_ups=3, cells=5)
    assert [s.index for s in t.strings] == [1, 2, 3, 4, 5, 6]
    assert t.string("s4").ups_id == "ups2"


def test_sample_string_status_has_one_value_per_cell() -> None:
    t = sample_topology(cells=7)
    s = sample_string_status(t, "s2")
    assert len(s.cell_voltage_mv) == len(s.cell_resistance_uohm) == len(s.cell_health) == 7
    assert s.current_a < 0 and min(s.cell_temperature_dc) < 0 and max(s.cell_resistance_uohm) > 0xFFFF
