"""GET /metrics: the gateway's state for Prometheus, in the OpenMetrics text format.

Served from the same SiteView as the JSON API (web/site_view.py), so a value is left out here
exactly where the API serves null (stale, or not measured): Prometheus then shows a gap, never
an old value as a new one. Names and units come from the registry of quantities
(web/metric_names.py). Cell quantities (5 series per battery: 19,200 for a full gateway of
3,840 batteries) are only served when the topology asks for them (`services.web.metrics_cells`).
The route sits behind the API's bearer-token check (web/app.py).

The gateway's own health is here too: each string's scan age (how far its newest fresh scan
lags behind the wall clock), how many of its batteries did not answer the last scan (the field
bus' errors as the site sees them), and the active alarms by kind and place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry
from quart import Blueprint, Response

from battery.quantities import Quantity
from battery.served_site import ServedSite
from web.json_quantities import CELL_JSON, STRING_JSON, UPS_JSON
from web.metric_names import METRIC_NAMES, MetricName
from web.site_view import SiteView

UPS_LABELS = ("gateway", "ups")
STRING_LABELS = ("gateway", "ups", "string")
CELL_LABELS = ("gateway", "ups", "string", "cell")


class QuantityGauges:
    """The gauge families of one level's quantities, filled from the API's JSON objects."""

    def __init__(self, json_props: Mapping[str, Quantity], labels: tuple[str, ...]) -> None:
        self._names: dict[str, MetricName] = {prop: METRIC_NAMES[q.key] for prop, q in json_props.items()}
        self.families = {
            prop: GaugeMetricFamily(n.name, n.help, labels=labels, unit=n.unit) for prop, n in self._names.items()
        }

    def add(self, body: Mapping[str, object], label_values: list[str]) -> None:
        """The non-null values of one JSON object (a null is stale or unmeasured: left out)."""
        for prop, family in self.families.items():
            value = body.get(prop)
            if isinstance(value, int | float) and not isinstance(value, bool):
                family.add_metric(label_values, self._names[prop].value(value))

    def __iter__(self) -> Iterator[Metric]:
        return iter(self.families.values())


class SiteCollector:
    """A prometheus-client collector over a SiteView: every scrape reads the view as it is now."""

    def __init__(self, view: SiteView, cells: bool) -> None:
        self.view = view
        self.cells = cells

    def describe(self) -> list[Metric]:
        return []  # the families depend on the data: not checked at registration

    def collect(self) -> Iterator[Metric]:
        view, gw = self.view, self.view.topology.gateway.id
        site = view.site
        upses, strings = QuantityGauges(UPS_JSON, UPS_LABELS), QuantityGauges(STRING_JSON, STRING_LABELS)
        cells = QuantityGauges(CELL_JSON, CELL_LABELS)
        fresh_ups = _gauge("btms_ups_fresh", "1 while the UPS's aggregates are current, 0 while stale", UPS_LABELS)
        fresh = _gauge("btms_string_fresh", "1 while the string's data is current, 0 while stale", STRING_LABELS)
        age = _gauge(
            "btms_string_scan_age",
            "Time since the start of the string's newest fresh scan (the scan lag)",
            STRING_LABELS,
            unit="seconds",
        )
        unanswered = _gauge(
            "btms_string_cells_unanswered", "Batteries of the string that did not answer its last scan", STRING_LABELS
        )
        now = view.wall_clock()
        for u in view.topology.upses:
            body = view.ups_json(u.id, with_strings=False)
            upses.add(body, [gw, u.id])
            fresh_ups.add_metric([gw, u.id], 0 if body["stale"] else 1)
        for s in view.topology.strings:
            labels = [gw, s.ups_id, s.id]
            body = view.string_json(s.id)
            strings.add(body, labels)
            fresh.add_metric(labels, 0 if body["stale"] else 1)
            last = site.string_last_fresh(s.id)
            if last is not None:
                age.add_metric(labels, max(0.0, now - last.timestamp))
            cell_bodies = view.cells_json(s.id)["cells"]
            if not body["stale"]:
                unanswered.add_metric(labels, sum(1 for c in cell_bodies if c["stale"]))
            if self.cells:
                for c in cell_bodies:
                    cells.add(c, [*labels, str(c["index"])])
        yield from upses
        yield from strings
        yield from (fresh_ups, fresh, age, unanswered)
        if self.cells:
            yield from cells
        yield from alarm_families(site, gw)


def alarm_families(site: ServedSite, gateway: str) -> Iterator[Metric]:
    """Active alarms counted by kind and place, and the gateway's totals."""
    by_place = Counter((a.kind, a.ups_id or "", a.string_id or "") for a in site.alarms)
    active = _gauge("btms_alarms_active", "Active alarms by kind, UPS and string", ("gateway", "kind", "ups", "string"))
    for (kind, ups, string), n in sorted(by_place.items()):
        active.add_metric([gateway, kind, ups, string], n)
    total, unacknowledged = site.alarms.counts()
    status = site.gateway_status()
    yield active
    yield _gauge("btms_gateway_alarms_active", "Active alarms of the gateway", ("gateway",), value=(gateway, total))
    yield _gauge(
        "btms_gateway_alarms_unacknowledged",
        "Active alarms nobody acknowledged yet",
        ("gateway",),
        value=(gateway, unacknowledged),
    )
    yield _gauge(
        "btms_gateway_strings_stale",
        "Strings whose data is not current",
        ("gateway",),
        value=(gateway, status.stale_strings),
    )


def _gauge(
    name: str, help_text: str, labels: tuple[str, ...], unit: str = "", value: tuple[str, float] | None = None
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, help_text, labels=labels, unit=unit)
    if value is not None:
        family.add_metric([value[0]], value[1])
    return family


def exposition(view: SiteView, cells: bool) -> bytes:
    """The OpenMetrics text of the site now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SiteCollector(view, cells))
    return generate_latest(registry)


def metrics_routes(view: SiteView, cells: bool) -> Blueprint:
    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    async def metrics():
        return Response(exposition(view, cells), content_type=CONTENT_TYPE_LATEST)

    return bp
