"""The aggregator's Quart app: the JSON API one level up and /metrics, behind API tokens.

Tokens are the gateway's kind (web/api_tokens.py), kept in the aggregator's storage directory
(`btms token create NAME --aggregator FILE`); a client address that sends too many invalid
tokens is throttled as on a gateway (web/auth_throttle.py).
"""

from __future__ import annotations

import asyncpg
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry
from quart import Quart, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from aggregator.alarm_rules import gateway_alarm_active
from aggregator.site_view import AggregatedSite, iso
from aggregator.store import RecordStore
from web.api_tokens import TokenVerifier
from web.auth_throttle import FailureWindow
from web.errors import json_error
from web.request_args import client_address

API = "/api/v1"


class _Collector:
    def __init__(self, site: AggregatedSite, cells: bool) -> None:
        self.site, self.cells = site, cells

    def describe(self):
        return []

    def collect(self):
        return self.site.families(self.cells)


def create_aggregator_app(
    site: AggregatedSite, verifier: TokenVerifier, reader: RecordStore | None, metrics_cells: bool
) -> Quart:
    app = Quart("btms-aggregator")
    app.json.sort_keys = False
    failures = FailureWindow()

    @app.before_serving
    async def opened() -> None:
        await verifier.open()

    @app.after_serving
    async def closed() -> None:
        await verifier.close()

    @app.before_request
    async def authenticate():
        address = client_address()
        wait_s = failures.retry_after(address)
        if wait_s:
            return json_error(429, f"too many invalid API tokens from {address}: try again in {wait_s} s", wait_s)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return json_error(401, "missing API token: send 'Authorization: Bearer <token>'")
        if await verifier.identify(token.strip()) is None:
            failures.failed(address)
            return json_error(401, "invalid or revoked API token")
        if request.method not in ("GET", "HEAD"):
            return json_error(405, "the aggregator's API only reads")
        return None

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
        active_only = request.args.get("active") == "1"
        rows = []
        if reader is not None:
            try:
                offline, gateway_alarms = (
                    await reader.offline_alarms(active_only=active_only),
                    await reader.gateway_alarms(),
                )
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                return json_error(503, f"PostgreSQL is unreachable: {type(error).__name__}")
            for r in offline:
                rows.append(
                    {
                        "gateway": r["edge_node"],
                        "kind": "gateway_offline",
                        "active": r["cleared_at"] is None,
                        "from_time": r["raised_at"].isoformat(timespec="milliseconds"),
                        "to_time": None
                        if r["cleared_at"] is None
                        else r["cleared_at"].isoformat(timespec="milliseconds"),
                        "detail": r["reason"],
                    }
                )
            for a in gateway_alarms:
                active = gateway_alarm_active(a)
                if active_only and not active:
                    continue
                rows.append(
                    {
                        "gateway": a["edge_node"],
                        "kind": a.get("kind"),
                        "active": active,
                        "from_time": iso(a.get("from_time")),
                        "to_time": iso(a.get("to_time")),
                        "detail": a.get("title"),
                        "alarm_id": a.get("alarm_id"),
                        "ups_id": a.get("ups_id"),
                        "string_id": a.get("string_id"),
                        "cell_index": a.get("cell_index"),
                    }
                )
        rows.sort(key=lambda r: r["from_time"] or "", reverse=True)
        return jsonify({"alarms": rows, "total": len(rows)})

    @app.get("/metrics")
    async def metrics():
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(site, metrics_cells))
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    return app
