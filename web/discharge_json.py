"""A discharge event as /api/v1/discharges serves it: ONE shape for the API, the Discharge tab
and its CSV download, each value rounded to its quantity's resolution (web/json_quantities.py).

The figures are the event's one source (storage/history/discharge_figures.py): the string
master's detector's for a finished event, recounted from the stored scans by the same rule
otherwise; `figures_from` says which ("detector" or "scans").
"""

from __future__ import annotations

from storage.history.discharge_figures import StoredDischarge
from web.json_quantities import DISCHARGE_JSON

_AH, _WH = DISCHARGE_JSON["ah"], DISCHARGE_JSON["wh"]
_STRING_V, _CELL_V = DISCHARGE_JSON["min_string_voltage_v"], DISCHARGE_JSON["min_cell_voltage_v"]


def _cell_volts(mv: int | None) -> float | None:
    return _CELL_V.rounded(_CELL_V.from_wire(mv))  # the detector counts cells in mV, cell.voltage's wire scale


def discharge_json(event: StoredDischarge) -> dict:
    """id, ups_id, string_id, start and end (UNIX seconds, end None while it goes on), duration_s
    (end - start; to the last stored scan while it goes on), ah, wh, min_string_voltage_v,
    min_cell_voltage_v, min_cell (the cell that had it, 1 first), weakest_cells, figures_from."""
    f = event.figures
    return {
        "id": event.id,
        "ups_id": event.ups_id,
        "string_id": event.string_id,
        "start": event.start,
        "end": event.end,
        "duration_s": round(f.duration_s, 3),
        "ah": _AH.rounded(f.ah),
        "wh": _WH.rounded(f.wh),
        "min_string_voltage_v": _STRING_V.rounded(f.min_string_v),
        "min_cell_voltage_v": _cell_volts(f.min_cell_mv),
        "min_cell": f.weakest_cells[0][0] if f.weakest_cells else None,
        "weakest_cells": [{"cell": cell, "min_voltage_v": _cell_volts(mv)} for cell, mv in f.weakest_cells],
        "figures_from": event.source,
    }
