"""The Quart application: the JSON API under /api/v1 (and, later, the operator UI).

Every /api route and /metrics need `Authorization: Bearer <token>` (tokens from `btms token create`).
Errors are JSON with a message that says what is wrong: 401 without a valid token, 404 for an
unknown path or id, 429 with Retry-After for an address that sent too many invalid tokens
(auth_throttle.py) or runs too many history queries at once (query_slots.py). The app only
reads the SiteView; it never waits on the actor tree.
"""

from __future__ import annotations

from quart import Quart, g, jsonify, request
from werkzeug.exceptions import HTTPException

from observability.log import get_logger
from storage.history.reader import HistoryReader
from web.api_tokens import TokenVerifier
from web.auth_throttle import FailureWindow
from web.errors import json_error
from web.metrics import metrics_routes
from web.request_args import (
    BadRequest,
    NotFound,
    RowIdConverter,
    client_address,
    require_known,
)
from web.routes_alarms import AlarmAccess, alarm_routes
from web.routes_history import history_routes
from web.site_view import SiteView
from web.tree_bridge import TreeBridge

API = "/api/v1"
log = get_logger("btms.web")


def create_app(
    view: SiteView,
    verifier: TokenVerifier,
    *,
    bridge: TreeBridge | None = None,
    history: HistoryReader | None = None,
    alarms: AlarmAccess | None = None,
    failures: FailureWindow | None = None,
) -> Quart:
    """The app; history and alarm routes exist when their stores are given."""
    failures = failures or FailureWindow()
    app = Quart("btms")
    app.json.sort_keys = False
    app.url_map.converters["rowid"] = RowIdConverter  # before the routes that use it
    app.register_blueprint(metrics_routes(view, view.topology.services.web.metrics_cells))
    if history is not None:
        app.register_blueprint(history_routes(history, view.topology), url_prefix=API)
    if alarms is not None and bridge is not None:
        app.register_blueprint(alarm_routes(alarms, bridge, view.topology), url_prefix=API)

    @app.before_serving
    async def opened() -> None:
        await verifier.open()
        if alarms is not None:
            await alarms.open()

    @app.after_serving
    async def closed() -> None:
        if history is not None:
            history.stop()
        await verifier.close()
        if alarms is not None:
            await alarms.close()

    @app.errorhandler(BadRequest)
    async def bad_request(error: BadRequest):
        return json_error(400, str(error))

    @app.errorhandler(NotFound)
    async def not_found(error: NotFound):
        return json_error(404, str(error.args[0] if error.args else error))

    @app.before_request
    async def authenticate():
        if not request.path.startswith(("/api/", "/metrics")):
            return None
        address = client_address()
        wait_s = failures.retry_after(address)
        if wait_s:
            return json_error(429, f"too many invalid API tokens from {address}: try again in {wait_s} s", wait_s)
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return json_error(
                401,
                "missing API token: send 'Authorization: Bearer <token>' (create one with 'btms token create NAME')",
            )
        found = await verifier.identify(token.strip())
        if found is None:
            if failures.failed(address):
                log.warning(
                    "api client throttled: too many invalid tokens",
                    client=address,
                    failures=failures.max_failures,
                    window_s=failures.window_s,
                )
            return json_error(401, "invalid or revoked API token")
        g.token_name, g.token_role = found
        if request.method not in ("GET", "HEAD") and g.token_role != "operator":
            return json_error(
                403,
                f"token {g.token_name!r} is a viewer token: {request.method} {request.path} needs an operator token",
            )
        return None

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException):
        if error.code == 404:
            return json_error(404, f"no such resource: {_shown(request.path)}")
        if error.code == 405:
            return json_error(405, f"method {request.method} not allowed on {_shown(request.path)}")
        return json_error(error.code or 500, error.description or "error")

    @app.get(f"{API}/site")
    async def site():
        return jsonify(view.site_json())

    @app.get(f"{API}/ups/<ups_id>")
    async def ups(ups_id: str):
        require_known(view.topology, ups=ups_id)
        return jsonify(view.ups_json(ups_id))

    @app.get(f"{API}/strings/<string_id>")
    async def string(string_id: str):
        require_known(view.topology, string=string_id)
        return jsonify(view.string_json(string_id))

    @app.get(f"{API}/strings/<string_id>/cells")
    async def cells(string_id: str):
        require_known(view.topology, string=string_id)
        return jsonify(view.cells_json(string_id))

    @app.get(f"{API}/openapi.json")
    async def openapi():
        from web.openapi import openapi_document

        return jsonify(openapi_document())

    return app


def _shown(path: str, limit: int = 120) -> str:
    """A path as an error message quotes it: a 10 kB path is cut, not echoed whole."""
    return path if len(path) <= limit else path[:limit] + "..."
