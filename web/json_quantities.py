"""Which JSON property of the API carries which quantity: ONE table for the site view and OpenAPI.

The property names keep the unit suffix clients already read (`voltage_v`); the unit, resolution
(the digits served) and meaning are the registry's (battery/quantities.py). The keys are resolved
at import, so a quantity missing from the registry stops the web server from starting, by name.
"""

from __future__ import annotations

from battery.quantities import Quantity, quantity


def _table(**keys: str) -> dict[str, Quantity]:
    return {name: quantity(key) for name, key in keys.items()}


UPS_JSON = _table(voltage_v="ups.voltage", current_a="ups.current", soc_pct="ups.soc", runtime_min="ups.runtime")
STRING_JSON = _table(
    voltage_v="string.voltage",
    current_a="string.current",
    soc_pct="string.soc",
    soh_pct="string.soh",
    balance_pct="string.balance",
    ambient_temperature_c="string.ambient_temperature",
    ambient_humidity_pct="string.ambient_humidity",
    runtime_min="string.runtime",
    insulation_resistance_kohm="string.insulation_resistance",
)
CELL_JSON = _table(
    voltage_v="cell.voltage",
    resistance_mohm="cell.resistance",
    temperature_c="cell.temperature",
    soc_pct="cell.soc",
    soh_pct="cell.soh",
)
# One discharge event of /api/v1/discharges (web/discharge_json.py), and its rows in the
# Discharge tab and its CSV.
DISCHARGE_JSON = _table(
    ah="string.discharge_charge",
    wh="string.discharge_energy",
    min_string_voltage_v="string.voltage",
    min_cell_voltage_v="cell.voltage",
)
