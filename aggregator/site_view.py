"""The aggregator's site: every gateway's live view (EdgeNodeView from its proxy) as JSON and
as Prometheus families, one level above a gateway's own (site -> gateway -> UPS -> string -> cell).

A value keeps the registry name the gateway published (`string.voltage`); the JSON property is
the one a gateway's API uses for it (web/json_quantities.py), so a client reads both alike.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from aggregator.alarm_rules import gateway_alarm_active
from aggregator.messages import EdgeNodeView
from protocols.uplink.naming import STRING_SEPARATOR
from web.iso_time import iso as iso_time
from web.json_quantities import CELL_JSON, STRING_JSON, UPS_JSON
from web.metric_names import METRIC_NAMES

_PROP = {q.key: prop for table in (UPS_JSON, STRING_JSON, CELL_JSON) for prop, q in table.items()}


def iso(seconds: float | None) -> str | None:
    return None if seconds is None else iso_time(seconds)


def _values(metrics: dict, level: str) -> dict:
    out = {}
    for name, value in metrics.items():
        if name.startswith(level + ".") and name in _PROP:
            out[_PROP[name]] = value
    return out


class AggregatedSite:
    def __init__(self) -> None:
        self.gateways: dict[str, EdgeNodeView] = {}
        self.since: dict[str, float] = {}  # when each gateway went on- or off-line, as seen here

    def apply(self, view: EdgeNodeView, now: float | None = None) -> None:
        old = self.gateways.get(view.edge_node)
        if old is None or old.online != view.online:
            self.since[view.edge_node] = time.time() if now is None else now
        self.gateways[view.edge_node] = view

    def active_alarms(self, edge_node: str) -> int:
        """The gateway's alarms that are not over, and its off-line alarm while it is off-line."""
        g = self.gateways[edge_node]
        active = sum(1 for a in g.alarms.values() if gateway_alarm_active(a))
        return active + (0 if g.online else 1)

    def site_json(self) -> dict:
        return {"gateways": [self.gateway_json(g) for g in sorted(self.gateways)]}

    def gateway_json(self, edge_node: str) -> dict:
        g = self.gateways[edge_node]
        upses: dict[str, dict] = {}
        strings: list[tuple[str, str, dict, int]] = []
        for device, metrics in sorted(g.devices.items()):
            if not device:
                continue
            ups_id, sep, string_id = device.partition(STRING_SEPARATOR)
            if sep:
                strings.append((ups_id, string_id, metrics, g.device_times_ms.get(device, 0)))
            else:
                upses[ups_id] = {
                    "id": ups_id,
                    "health": str(metrics.get("ups.health") or "unknown").lower(),
                    **_values(metrics, "ups"),
                    "strings": [],
                }
        for ups_id, string_id, metrics, ts_ms in strings:
            ups = upses.setdefault(ups_id, {"id": ups_id, "health": "unknown", "strings": []})
            ups["strings"].append(
                {
                    "id": string_id,
                    "timestamp": iso(ts_ms / 1000) if ts_ms else None,
                    "health": str(metrics.get("string.health") or "unknown").lower(),
                    "state": None if metrics.get("string.state") is None else str(metrics["string.state"]).lower(),
                    **_values(metrics, "string"),
                }
            )
        return {
            "id": edge_node,
            "online": g.online,
            "stale": not g.online,  # its values are the last it sent
            "offline_reason": None if g.online else g.offline_reason,
            "last_heard": iso(g.last_heard),
            "status": {k.partition("/")[2]: v for k, v in g.devices.get("", {}).items() if k.startswith("gateway/")},
            "upses": list(upses.values()),
        }

    def cells_json(self, edge_node: str, ups_id: str, string_id: str) -> dict | None:
        g = self.gateways.get(edge_node)
        metrics = g.devices.get(f"{ups_id}{STRING_SEPARATOR}{string_id}") if g else None
        if metrics is None:
            return None
        cells: dict[int, dict] = {}
        for name, value in metrics.items():
            key, sep, number = name.partition("/")
            if sep and key.startswith("cell.") and number.isdigit():
                cell = cells.setdefault(int(number), {"index": int(number)})
                cell[_PROP.get(key, key.partition(".")[2])] = value.lower() if isinstance(value, str) else value
        return {
            "gateway": edge_node,
            "ups_id": ups_id,
            "string_id": string_id,
            "cells": [cells[n] for n in sorted(cells)],
        }

    # -- Prometheus ---------------------------------------------------------------------------

    def families(self, cells: bool) -> Iterator[Metric]:
        online = GaugeMetricFamily(
            "btms_gateway_online", "1 while the gateway's link is up, 0 while off-line", labels=["gateway"]
        )
        families: dict[str, GaugeMetricFamily] = {}
        for edge_node, g in sorted(self.gateways.items()):
            online.add_metric([edge_node], 1 if g.online else 0)
            if not g.online:
                continue  # an off-line gateway's last values are not current: a gap, not a value
            for device, metrics in g.devices.items():
                ups_id, sep, string_id = device.partition(STRING_SEPARATOR)
                for name, value in metrics.items():
                    key, _, number = name.partition("/")
                    named = METRIC_NAMES.get(key)
                    if named is None or not isinstance(value, int | float) or isinstance(value, bool):
                        continue
                    if number and not cells:
                        continue
                    labels = {"gateway": edge_node, "ups": ups_id}
                    if sep:
                        labels["string"] = string_id
                    if number:
                        labels["cell"] = number
                    family = families.get(key)
                    if family is None:
                        family = families[key] = GaugeMetricFamily(
                            named.name, named.help, labels=list(labels), unit=named.unit
                        )
                    family.add_metric(list(labels.values()), named.value(value))
        yield online
        yield from families.values()
