"""The web server's view of the site: the latest UpsUpdate of every UPS, rendered as JSON.

Updated in the web server's event loop from actor messages, read by request handlers in the
same loop: no locks, no asks into the actor tree on the request path.
Stale data is never served as current: a value the gateway could not read is null, and the
object says "stale": true with the time of the last scan. Data also goes stale by age, with the
threshold the Modbus and SNMP servers use (battery/freshness.py), measured from the scan's
start time when a request reads it: the web server may stop receiving updates while it still
answers requests. An implausible cell reading is null too (protocols/scada/served_values.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from actors.messages.up import UpsUpdate
from battery.codes import CellFault, ChargeState, Health
from battery.status import StringStatus, UpsStatus
from battery.site import Topology
from battery.freshness import is_stale_by_age, string_thresholds, ups_thresholds
from protocols.scada.served_values import served_cell_values
from web.json_quantities import CELL_JSON, STRING_JSON, UPS_JSON


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def fault_names(faults: int) -> list[str]:
    return [f.name.lower() for f in CellFault if f and faults & f]


class SiteView:
    def __init__(self, topology: Topology, clock: Callable[[], float] = time.time) -> None:
        """`clock`: UNIX seconds now (the statuses' timestamps are UNIX seconds)."""
        self.topology = topology
        self.clock = clock
        self.upses: dict[str, UpsStatus] = {}
        self.strings: dict[str, StringStatus] = {}
        self.string_stale_after_s = string_thresholds(topology)
        self.ups_stale_after_s = ups_thresholds(topology)

    def apply(self, update: UpsUpdate) -> None:
        self.upses[update.ups.ups_id] = update.ups
        for string in update.strings:
            self.strings[string.string_id] = string

    # -- freshness ---------------------------------------------------------------------------

    def string_is_stale(self, status: StringStatus | None) -> bool:
        """No status, a status that says stale, or one older than the string's bus allows."""
        return (
            status is None
            or status.stale
            or is_stale_by_age(self.clock() - status.timestamp, self.string_stale_after_s[status.string_id])
        )

    def ups_is_stale(self, status: UpsStatus | None) -> bool:
        return (
            status is None
            or status.health == Health.STALE
            or is_stale_by_age(self.clock() - status.timestamp, self.ups_stale_after_s[status.ups_id])
        )

    # -- JSON --------------------------------------------------------------------------------

    def site_json(self) -> dict[str, Any]:
        t = self.topology
        return {
            "gateway": {"id": t.gateway.id, "name": t.gateway.name},
            "upses": [self.ups_json(u.id, with_strings=False) for u in t.upses],
            "strings": [self.string_json(s.id) for s in t.strings],
        }

    def ups_json(self, ups_id: str, with_strings: bool = True) -> dict[str, Any]:
        config = self.topology.ups(ups_id)
        status = self.upses.get(ups_id)
        body: dict[str, Any] = {
            "id": config.id,
            "index": config.index,
            "name": config.name,
            "string_ids": [s.id for s in config.strings],
        }
        if status is None or self.ups_is_stale(status):
            body.update(_unavailable(status, UPS_VALUES))
        else:
            body.update(
                health=status.health.name.lower(),
                stale=False,
                timestamp=iso(status.timestamp),
                voltage_v=UPS_JSON["voltage_v"].rounded(status.voltage_v),
                current_a=UPS_JSON["current_a"].rounded(status.current_a),
                soc_pct=UPS_JSON["soc_pct"].rounded(status.soc_pct),
            )
        if with_strings:
            body["strings"] = [self.string_json(s.id) for s in config.strings]
        return body

    def string_json(self, string_id: str) -> dict[str, Any]:
        config = self.topology.string(string_id)
        status = self.strings.get(string_id)
        body: dict[str, Any] = {
            "id": config.id,
            "index": config.index,
            "name": config.name,
            "ups_id": config.ups_id,
            "cell_count": config.battery.count,
            "battery": {
                "nominal_voltage_v": config.battery.nominal_voltage,
                "capacity_ah": config.battery.capacity_ah,
            },
        }
        if status is None or self.string_is_stale(status):
            body.update(_unavailable(status, STRING_VALUES))
            return body
        body.update(
            health=status.health.name.lower(),
            stale=False,
            timestamp=iso(status.timestamp),
            scan_no=status.scan_no,
            voltage_v=STRING_JSON["voltage_v"].rounded(status.voltage_v),
            # no hall sensor: unknown, not 0 A
            current_a=STRING_JSON["current_a"].rounded(status.current_a) if status.hall_ok else None,
            state=ChargeState(status.state).name.lower(),
            soc_pct=STRING_JSON["soc_pct"].rounded(status.soc_pct),
            soh_pct=STRING_JSON["soh_pct"].rounded(status.soh_pct),
            balance_pct=STRING_JSON["balance_pct"].rounded(status.balance_pct),
            ambient_temperature_c=STRING_JSON["ambient_temperature_c"].rounded(status.ambient_c),
            ambient_humidity_pct=STRING_JSON["ambient_humidity_pct"].rounded(status.humidity_pct),
            hall_sensor_ok=status.hall_ok,
            relay_closed=status.relay_closed,
            cells_in_error=sum(1 for h in status.cell_health if h != Health.OK),
        )
        return body

    def cells_json(self, string_id: str) -> dict[str, Any]:
        config = self.topology.string(string_id)
        status = self.strings.get(string_id)
        stale = self.string_is_stale(status)
        cells = []
        for i in range(config.battery.count):
            if status is None or stale:
                cells.append(_void_cell(i + 1, "unknown" if status is None else "stale"))
                continue
            faults = CellFault(status.cell_faults[i])
            if faults & CellFault.NO_RESPONSE:
                cells.append(_void_cell(i + 1, "stale"))
                continue
            voltage, resistance, temperature = served_cell_values(
                faults, status.cell_voltage_mv[i], status.cell_resistance_uohm[i], status.cell_temperature_dc[i]
            )
            cells.append(
                {
                    "index": i + 1,
                    "health": Health(status.cell_health[i]).name.lower(),
                    "stale": False,
                    "faults": fault_names(faults),
                    "voltage_v": _CELL_VOLTAGE.from_wire(voltage),
                    "resistance_mohm": _CELL_RESISTANCE.from_wire(resistance),
                    "temperature_c": _CELL_TEMPERATURE.from_wire(temperature),
                    "soc_pct": status.cell_soc_pct[i],  # whole percent: the wire scale is 1 per %
                    "soh_pct": status.cell_soh_pct[i],
                }
            )
        return {
            "string_id": string_id,
            "timestamp": iso(status.timestamp) if status else None,
            "stale": stale,
            "cells": cells,
        }


# A cell's readings travel in their wire scale (1 mV, 1 µΩ, 0.1 °C); the API serves them in the unit.
_CELL_VOLTAGE, _CELL_RESISTANCE, _CELL_TEMPERATURE = (
    CELL_JSON["voltage_v"], CELL_JSON["resistance_mohm"], CELL_JSON["temperature_c"])

# The values of a UPS and of a string: all null when there is no current data.
UPS_VALUES = tuple(UPS_JSON)
STRING_VALUES = (*STRING_JSON, "state", "hall_sensor_ok", "relay_closed", "cells_in_error")


def _unavailable(status: UpsStatus | StringStatus | None, values: tuple[str, ...]) -> dict[str, Any]:
    """Never seen ("unknown") or too old ("stale"): every value null, the last time kept."""
    return {
        "health": "unknown" if status is None else "stale",
        "stale": True,
        "timestamp": iso(status.timestamp) if status else None,
        **dict.fromkeys(values),
    }


def _void_cell(index: int, health: str) -> dict[str, Any]:
    return {
        "index": index,
        "health": health,
        "stale": True,
        "faults": ["no_response"] if health == "stale" else [],
        "voltage_v": None,
        "resistance_mohm": None,
        "temperature_c": None,
        "soc_pct": None,
        "soh_pct": None,
    }
