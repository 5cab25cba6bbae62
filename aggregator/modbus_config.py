"""The `modbus:` section of the aggregator's configuration: its read-only Modbus TCP view.

Absent (or `enabled: false`): no Modbus server. `gateways` fixes which gateway each unit id
is (the first listed is unit 1); without it the gateways heard of are served sorted by id.
"""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.modbus_registers import MAX_GATEWAYS
from protocols.uplink.topics import id_problem
from topology.schema import Section

MODBUS_KEYS = ("enabled", "host", "port", "gateways", "max_connections", "idle_timeout_s")


@dataclass(frozen=True)
class ModbusViewConfig:
    host: str = "127.0.0.1"
    port: int = 5020
    gateways: tuple[str, ...] = ()  # unit n is the n-th; empty: every gateway heard of, sorted by id
    max_connections: int = 32
    idle_timeout_s: float = 60.0


def read_modbus(top: Section) -> ModbusViewConfig | None:
    """The section's settings, or None when there is no section or it is disabled."""
    present = top.has("modbus")
    m = top.section("modbus", MODBUS_KEYS)
    enabled = m.boolean("enabled", True)
    config = ModbusViewConfig(
        host=m.text("host", "127.0.0.1"),  # type: ignore[arg-type]
        port=m.integer("port", 5020, lo=1, hi=65535),  # type: ignore[arg-type]
        gateways=_gateways(m),
        max_connections=m.integer("max_connections", 32, lo=1, hi=1000),  # type: ignore[arg-type]
        idle_timeout_s=m.number("idle_timeout_s", 60.0, ge=1.0, le=86400.0, unit="s"),  # type: ignore[arg-type]
    )
    return config if present and enabled else None


def _gateways(m: Section) -> tuple[str, ...]:
    ids: list[str] = []
    listed = m.text_list("gateways")
    for i, (value, line) in enumerate(listed):
        problem = id_problem(value)
        if value in ids:
            problem = "is listed twice (each gateway is one unit id)"
        if problem:
            m.log.add(line, f"{m.path}.gateways[{i}]: {value!r} {problem}")
        else:
            ids.append(value)
    if len(listed) > MAX_GATEWAYS:
        m.problem("gateways", f"{len(listed)} gateways are more than {MAX_GATEWAYS}, the unit ids 1..{MAX_GATEWAYS}")
    return tuple(ids)
