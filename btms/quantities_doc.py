"""Render docs/quantities.md: the registry of quantities and where each one is served.

Lives at the top of the import graph because it reads every consumer (the Modbus map, the MIB
table, the history schema, the JSON tables). `python scripts/gen_quantities_doc.py` writes the
file; a test fails when the committed one differs.
"""

from __future__ import annotations

from battery.quantities import QUANTITIES, Level, Quantity, of_level
from protocols.scada.modbus_map import REGISTERS
from protocols.scada.snmp_oids import ALL_COLUMNS
from storage.history.schema import CELL_QUANTITIES, STRING_QUANTITIES, UPS_REGISTRY_QUANTITIES
from web.json_quantities import CELL_JSON, DISCHARGE_JSON, STRING_JSON, UPS_JSON

_HEADER = """# Quantities

<!-- Generated from battery/quantities.py by scripts/gen_quantities_doc.py. Do not edit. -->

Every measured or derived value the gateway serves is declared once, in `battery/quantities.py`,
and the Modbus map, the MIB, the history, the JSON API with its OpenAPI description and this page
take its unit, resolution and range from there. Tests fail when one of them disagrees.

- **Unit**: the SI symbol as operators read it (UTF-8). The ASCII form is used where only ASCII
  is safe: the MIB (SMIv2 text) and the headers of the CSV export.
- **Resolution**: the step the product serves, the same on every interface (product sheet).
- **Wire scale**: counts per unit of the integer the value travels, is served and is stored as
  (the inverse of the resolution). Modbus registers and SNMP objects carry that integer: string
  voltage 5325 = 53.25 V. The JSON API serves the value in its unit, rounded to the resolution.
- **Range**: the measuring range of the product. A cell reading outside it is a sensor fault and
  is served as *not available*; so is an ambient reading. A string voltage outside it makes the
  string's state abnormal.
- The history stores a string's SOC and SOH in 1 % since format 2; files written in format 1
  (0.1 %) are read and converted when read (docs/storage.md).
- The standard UPS-MIB battery group (RFC 1628) keeps the RFC's own scales (upsBatteryVoltage
  in 0.1 V, upsBatteryCurrent in 0.1 A, upsBatteryTemperature in whole °C): it is not ours.
"""


def _table(quantities: tuple[Quantity, ...]) -> list[str]:
    out = [
        "| key | label | unit | ASCII | resolution | wire scale | range | description |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for q in quantities:
        out.append(
            f"| `{q.key}` | {q.label} | {q.unit} | {q.unit_ascii} | {q.resolution} {q.unit} | "
            f"{q.wire_scale} per {q.unit} | {q.range_text()} | {q.description} |"
        )
    return out


def _where() -> dict[str, dict[str, list[str]]]:
    """quantity key -> interface -> the names that carry it there."""
    where: dict[str, dict[str, list[str]]] = {q.key: {} for q in QUANTITIES}

    def add(q: Quantity, interface: str, name: str) -> None:
        where[q.key].setdefault(interface, []).append(name)

    for r in REGISTERS:
        if r.quantity is not None:
            add(r.quantity, "modbus", f"`{r.name}`")
    for c in ALL_COLUMNS:
        if c.quantity is not None:
            add(c.quantity, "snmp", f"`{c.name}`")
    for level, table in (("cell", CELL_QUANTITIES), ("string", STRING_QUANTITIES)):
        for name, stored in table.items():
            add(stored.quantity, "history", f"`{level}` `{name}`")
    for name, q in UPS_REGISTRY_QUANTITIES.items():
        add(q, "history", f"`ups` `{name}` (from its strings)")
    json_tables = (
        ("ups/{id}", UPS_JSON),
        ("strings/{id}", STRING_JSON),
        ("strings/{id}/cells", CELL_JSON),
        ("discharges", DISCHARGE_JSON),
    )
    for path, table in json_tables:
        for name, q in table.items():
            add(q, "json", f"`{path}` `{name}`")
    return where


def render() -> str:
    lines = [_HEADER]
    for level in Level:
        quantities = of_level(level)
        if quantities:
            lines += [f"## {level.value.upper() if level is Level.UPS else level.value.capitalize()}", ""]
            lines += _table(quantities) + [""]
    lines += [
        "## Where each quantity is served",
        "",
        "Modbus: register (docs/modbus.md). SNMP: BTMS-GATEWAY-MIB object (docs/snmp.md). "
        "History: level and `quantity` of `/api/v1/series`, column of the CSV export. "
        "JSON: path under `/api/v1/` and property.",
        "",
        "| key | Modbus | SNMP | history | JSON |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, places in _where().items():
        cells = [", ".join(places.get(i, [])) or "-" for i in ("modbus", "snmp", "history", "json")]
        lines.append(f"| `{key}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
