"""The web server's view of the site: its ServedSite (battery/served_site.py) rendered as JSON.

Updated in the web server's event loop from actor messages, read by request handlers in the
same loop: no locks, no asks into the actor tree on the request path.
Stale data is never served as current: a value the gateway could not read is null, and the
object says "stale": true with the time of the last scan. Data also goes stale by age, with the
threshold the Modbus and SNMP servers use, judged when a request reads it: the web server may
stop receiving updates while it still answers requests. A status arrives as old as its scan
(wall clock) and ages on the monotonic clock, so a step of the wall clock changes no freshness.
A cell that did not answer is stale (battery/plausibility.py), an implausible cell reading is
null (protocols/scada/served_values.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from actors.messages.up import UpsUpdate
from battery.codes import CellFault, ChargeState, Health
from battery.plausibility import cell_answered
from battery.served_site import LinkState, ServedSite
from battery.site import Topology
from battery.status import StringStatus, UpsStatus
from protocols.scada.served_values import served_cell_values
from web.analytics_json import (
    CELL_ANALYTICS,
    STRING_ANALYTICS,
    UPS_ANALYTICS,
    cell_analytics,
    string_analytics,
    ups_analytics,
)
from web.iso_time import iso
from web.json_quantities import CELL_JSON, STRING_JSON, UPS_JSON

_HEALTH_NAMES = {int(h): h.name.lower() for h in Health}
_FAULT_NAMES = tuple((int(f), f.name.lower()) for f in CellFault if f)


def fault_names(faults: int) -> list[str]:
    """Plain int tests: this runs for every cell of every request (IntFlag's operators are slow)."""
    return [name for bit, name in _FAULT_NAMES if faults & bit] if faults else []


class SiteView:
    def __init__(
        self,
        topology: Topology,
        wall_clock: Callable[[], float] = time.time,
        monotonic_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`wall_clock`: UNIX seconds (the statuses' timestamps are UNIX seconds);
        `monotonic_clock`: what ages are counted on."""
        self.topology = topology
        self.wall_clock = wall_clock
        self.site = ServedSite(topology, monotonic_clock, wall_clock=wall_clock)

    def apply(self, update: UpsUpdate) -> None:
        """A UPS and its strings; a UPS or string not configured is not served, so not kept."""
        self.site.apply_ups(update.ups)
        for string in update.strings:
            self.site.apply_string(string)

    # -- JSON --------------------------------------------------------------------------------

    def site_json(self) -> dict[str, Any]:
        t = self.topology
        return {
            "gateway": {"id": t.gateway.id, "name": t.gateway.name, "uplink": self.uplink_json()},
            "upses": [self.ups_json(u.id, with_strings=False) for u in t.upses],
            "strings": [self.string_json(s.id) for s in t.strings],
        }

    def uplink_json(self) -> dict[str, Any] | None:
        """The link to the aggregator (docs/uplink.md); None when the gateway has none."""
        link = self.site.uplink
        if link.state is LinkState.NOT_CONFIGURED:
            return None
        return {
            "state": link.state.name.lower(),
            "outbox_records": link.outbox_records,
            "dropped_records": link.dropped_records,
            "detail": link.detail,
        }

    def ups_json(self, ups_id: str, with_strings: bool = True) -> dict[str, Any]:
        config = self.topology.ups(ups_id)
        status = self.site.ups(ups_id)
        body: dict[str, Any] = {
            "id": config.id,
            "index": config.index,
            "name": config.name,
            "string_ids": [s.id for s in config.strings],
        }
        if status is None or self.site.is_ups_stale(ups_id):
            body.update(_unavailable(status, UPS_VALUES))
        else:
            body.update(
                health=status.health.name.lower(),
                stale=False,
                timestamp=iso(status.timestamp),
                voltage_v=UPS_JSON["voltage_v"].rounded(status.voltage_v),
                current_a=UPS_JSON["current_a"].rounded(status.current_a),
                soc_pct=UPS_JSON["soc_pct"].rounded(status.soc_pct),
                runtime_min=UPS_JSON["runtime_min"].rounded(status.runtime_min),
                **ups_analytics(status),
            )
        if with_strings:
            body["strings"] = [self.string_json(s.id) for s in config.strings]
        return body

    def string_json(self, string_id: str) -> dict[str, Any]:
        config = self.topology.string(string_id)
        status = self.site.string(string_id)
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
        if status is None or self.site.is_string_stale(string_id):
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
            runtime_min=STRING_JSON["runtime_min"].rounded(status.runtime_min),
            insulation_resistance_kohm=STRING_JSON["insulation_resistance_kohm"].rounded(status.insulation_kohm),
            **string_analytics(status),
        )
        return body

    def cells_json(self, string_id: str) -> dict[str, Any]:
        config = self.topology.string(string_id)
        status = self.site.string(string_id)
        stale = self.site.is_string_stale(string_id)
        cells = []
        for i in range(config.battery.count):
            if status is None or stale:
                cells.append(_void_cell(i + 1, "unknown" if status is None else "stale"))
                continue
            faults = status.cell_faults[i]
            if not cell_answered(status.cell_health[i], status.cell_faults[i]):
                cells.append(_void_cell(i + 1, "stale"))
                continue
            voltage, resistance, temperature = served_cell_values(
                faults, status.cell_voltage_mv[i], status.cell_resistance_uohm[i], status.cell_temperature_dc[i]
            )
            cells.append(
                {
                    "index": i + 1,
                    "health": _HEALTH_NAMES[status.cell_health[i]],
                    "stale": False,
                    "faults": fault_names(faults),
                    "voltage_v": None if voltage is None else voltage / _VOLTAGE_SCALE,
                    "resistance_mohm": None if resistance is None else resistance / _RESISTANCE_SCALE,
                    "temperature_c": None if temperature is None else temperature / _TEMPERATURE_SCALE,
                    "soc_pct": status.cell_soc_pct[i],  # whole percent: the wire scale is 1 per %
                    "soh_pct": status.cell_soh_pct[i],
                    **cell_analytics(status, i),
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
    CELL_JSON["voltage_v"],
    CELL_JSON["resistance_mohm"],
    CELL_JSON["temperature_c"],
)

# Quantity.from_wire, with the scales looked up once rather than for each of 3,840 cells.
_VOLTAGE_SCALE, _RESISTANCE_SCALE, _TEMPERATURE_SCALE = (
    _CELL_VOLTAGE.wire_scale,
    _CELL_RESISTANCE.wire_scale,
    _CELL_TEMPERATURE.wire_scale,
)

# The values of a UPS and of a string: all null when there is no current data.
UPS_VALUES = (*UPS_JSON, *UPS_ANALYTICS)
STRING_VALUES = (*STRING_JSON, "state", "hall_sensor_ok", "relay_closed", "cells_in_error", *STRING_ANALYTICS)


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
        **dict.fromkeys(CELL_ANALYTICS),
    }
