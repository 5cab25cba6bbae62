"""What the History and Discharge pages' scripts need to draw a level: quantities and series.

Labels, units and decimals come from the registry (battery/quantities.py) through the tables
the history is stored by (storage/history/schema.py), so a plot's axis says what the API's
numbers are. The page renders this as JSON into a data attribute (no inline script: CSP).
"""

from __future__ import annotations

from battery.quantities import Quantity
from battery.site import Topology
from storage.history.schema import CELL_QUANTITIES, STRING_QUANTITIES, UPS_REGISTRY_QUANTITIES
from web.ui.frame import Level

# The History tab's range buttons (a gateway's and an aggregator's): seconds back from now, label.
RANGES = (
    (3600, "1 hour"),
    (86_400, "1 day"),
    (7 * 86_400, "1 week"),
    (30 * 86_400, "1 month"),
    (365 * 86_400, "1 year"),
)


def quantity_json(level: str, name: str, q: Quantity) -> dict:
    return {"level": level, "name": name, "label": q.label, "unit": q.unit, "decimals": q.decimals}


def cell_quantities() -> list[dict]:
    return [quantity_json("cell", n, s.quantity) for n, s in CELL_QUANTITIES.items()]


def string_quantities() -> list[dict]:
    return [quantity_json("string", n, s.quantity) for n, s in STRING_QUANTITIES.items()]


def ups_quantities() -> list[dict]:
    return [quantity_json("ups", n, q) for n, q in UPS_REGISTRY_QUANTITIES.items()]


def history_config(topology: Topology, level: Level, time_zone: str) -> dict:
    """The History tab of a level: the site plots its UPSes, a UPS its strings, a string itself or its cells."""
    if level.kind == "site":
        quantities = ups_quantities()
        series = {"ups": [{"id": u.id, "label": u.name or u.id} for u in topology.upses]}
        cells = 0
    elif level.kind == "ups":
        quantities = string_quantities()
        strings = topology.ups(level.id).strings
        series = {"string": [{"id": s.id, "label": s.name or s.id} for s in strings]}
        cells = 0
    else:
        string = topology.string(level.id)
        quantities = string_quantities() + cell_quantities()
        series = {"string": [{"id": string.id, "label": string.name or string.id}]}
        cells = string.battery.count
    return {
        "kind": level.kind,
        "id": level.id,
        "zone": time_zone,
        "quantities": quantities,
        "series": series,
        "cells": cells,
    }


def discharge_config(time_zone: str) -> dict:
    """The Discharge tab: the string plot's quantities (voltage, current, SOC) and every cell quantity."""
    plotted = ("voltage", "current", "soc")
    return {
        "zone": time_zone,
        "string_quantities": [q for q in string_quantities() if q["name"] in plotted],
        "cell_quantities": cell_quantities(),
    }
