"""The aggregator's Quart app: the browser UI, the JSON API one level up and /metrics.

Who may ask what is the gateway's rule (web/access.py): the pages need a log-in session (users
of the aggregator's settings.db: `btms user add NAME --admin --aggregator FILE`), the API and
/metrics take a session or an API token of the gateway's kind (`btms token create NAME
--aggregator FILE`); a client address that sends too many invalid tokens or failed log-ins is
throttled as on a gateway. Every POST with a session needs its CSRF token; the API only reads.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry
from quart import Quart, Response, jsonify, request
from werkzeug.exceptions import HTTPException

import web
from aggregator.alarm_list import AlarmRow, merged_alarms
from aggregator.site_view import AggregatedSite, iso
from aggregator.store import CONNECTION_ERRORS
from aggregator.ui.context import AggregatorUi
from aggregator.ui.discharge import discharge_pages
from aggregator.ui.frame import in_frame
from aggregator.ui.history import history_pages
from aggregator.ui.levels import SITE
from aggregator.ui.pages import aggregator_pages
from aggregator.ui.settings import settings_pages
from web.access import AccessControl
from web.api_tokens import TokenVerifier
from web.errors import json_error
from web.pages.account import account_pages
from web.pages.login import login_pages
from web.security_headers import add_security_headers
from web.ui.render import install_template_helpers

API = "/api/v1"
MAX_BODY_BYTES = 64 * 1024  # the largest form: the log-in or a password change


class _Collector:
    def __init__(self, site: AggregatedSite, cells: bool, skipped: dict[str, int] | None) -> None:
        self.site, self.cells, self.skipped = site, cells, skipped

    def describe(self):
        return []

    def collect(self):
        yield from self.site.families(self.cells)
        if self.skipped is not None:  # None: PostgreSQL did not answer, so no figure rather than a wrong 0
            family = GaugeMetricFamily(
                "btms_aggregator_skipped_messages",
                "Messages of a gateway the aggregator gave up on, kept as they came in PostgreSQL (skipped_message)",
                labels=["gateway"],
            )
            for edge_node in sorted(set(self.site.gateways) | set(self.skipped)):
                family.add_metric([edge_node], self.skipped.get(edge_node, 0))
            yield family


def create_aggregator_app(ui: AggregatorUi, verifier: TokenVerifier, metrics_cells: bool) -> Quart:
    site, reader = ui.site, ui.reader
    app = Quart("btms-aggregator", root_path=str(Path(web.__file__).parent))  # the gateway's static files
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    install_template_helpers(app, ui)
    app.register_blueprint(login_pages(ui))
    app.register_blueprint(aggregator_pages(ui))
    app.register_blueprint(history_pages(ui))
    app.register_blueprint(discharge_pages(ui))
    app.register_blueprint(settings_pages(ui))

    async def at_site(template: str, **context) -> str:
        return await in_frame(ui, template, SITE, "", **context)

    app.register_blueprint(account_pages(ui, at_site))  # the gateway's page: its rules, form and CSRF
    access = AccessControl(verifier, ui.sessions)

    @app.before_request
    async def authenticate():
        refused = await access.check()
        if refused is not None:
            return refused
        if request.path.startswith(f"{API}/") and request.method not in ("GET", "HEAD"):
            return json_error(405, "the aggregator's API only reads")
        return None

    @app.after_request
    async def headers(response):
        return add_security_headers(response, tls=ui.tls)

    @app.before_serving
    async def opened() -> None:
        await verifier.open()

    @app.after_serving
    async def closed() -> None:
        await verifier.close()
        await ui.sessions.close()

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException):
        return json_error(error.code or 500, error.description or "error")

    @app.get(f"{API}/site")
    async def site_json():
        return jsonify(site.site_json())

    @app.get(f"{API}/gateways/<edge_node>")
    async def gateway(edge_node: str):
        if edge_node not in site.gateways:
            return json_error(404, f"no gateway {edge_node[:80]!r} has spoken to this aggregator")
        return jsonify(site.gateway_json(edge_node))

    @app.get(f"{API}/gateways/<edge_node>/strings/<ups_id>/<string_id>/cells")
    async def cells(edge_node: str, ups_id: str, string_id: str):
        found = site.cells_json(edge_node, ups_id, string_id)
        if found is None:
            return json_error(404, f"no string {ups_id[:40]}/{string_id[:40]} on gateway {edge_node[:80]!r}")
        return jsonify(found)

    @app.get(f"{API}/alarms")
    async def alarms():
        """Every gateway's alarms (their latest event) and the aggregator's off-line alarms, newest first."""
        try:
            rows = await merged_alarms(reader, active_only=request.args.get("active") == "1")
        except CONNECTION_ERRORS as error:
            return json_error(503, f"PostgreSQL is unreachable: {type(error).__name__}")
        shown = [_alarm_json(r) for r in rows]
        return jsonify({"alarms": shown, "total": len(shown)})

    @app.get("/metrics")
    async def metrics():
        try:
            skipped = await reader.skipped_counts() if reader is not None else None
        except CONNECTION_ERRORS:
            skipped = None
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(site, metrics_cells, skipped))
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    return app


def _alarm_json(r: AlarmRow) -> dict:
    out = {
        "gateway": r.gateway,
        "kind": r.kind,
        "active": r.active,
        "from_time": iso(r.from_time),
        "to_time": iso(r.to_time),
        "detail": r.detail,
    }
    if r.kind != "gateway_offline":
        out.update(alarm_id=r.alarm_id, ups_id=r.ups_id, string_id=r.string_id, cell_index=r.cell_index)
    return out
