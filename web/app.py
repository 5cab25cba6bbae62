"""The Quart application: the operator's pages (web/pages/) and the JSON API under /api/v1.

Who may ask what is decided in one place, web/access.py: a Bearer token (`btms token create`)
or a log-in session for the API and /metrics, a session for the pages. API errors are JSON with a message
that says what is wrong: 401 without a valid token or session, 404 for an unknown path or id,
429 with Retry-After for an address that sent too many invalid tokens (auth_throttle.py) or
runs too many history queries at once (query_slots.py). The app only reads the SiteView; it
never waits on the actor tree.
"""

from __future__ import annotations

from pathlib import Path

from quart import Quart, jsonify, request
from werkzeug.exceptions import HTTPException

from web.access import AccessControl
from web.api_tokens import TokenVerifier
from web.auth_throttle import FailureWindow
from web.errors import json_error
from web.live.hub import LiveHub
from web.live.stream import StreamSlots, live_routes
from web.metrics import metrics_routes
from web.pages import register_pages
from web.request_args import BadRequest, NotFound, RowIdConverter, require_known
from web.routes_alarms import alarm_routes
from web.routes_history import history_routes
from web.routes_notifications import notification_routes
from web.security_headers import add_security_headers
from web.ui.context import UiContext
from web.ui.render import install_template_helpers

API = "/api/v1"
MAX_BODY_BYTES = 1024 * 1024  # the largest form or JSON body any route takes (a project logo)


def create_app(
    ui: UiContext,
    verifier: TokenVerifier,
    *,
    failures: FailureWindow | None = None,
    stream_slots: StreamSlots | None = None,
) -> Quart:
    """The app; history and alarm routes exist when the context has their stores."""
    view, history, alarms, bridge = ui.view, ui.history, ui.alarms, ui.bridge
    if ui.live is None:
        ui.live = LiveHub(view, ui.site_settings, alarms.live if alarms is not None else None)
    app = Quart("btms", root_path=str(Path(__file__).parent))
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.url_map.converters["rowid"] = RowIdConverter  # before the routes that use it
    zone = lambda: ui.site_settings.read().zone()  # noqa: E731 (read at each download: a change shows at once)
    app.register_blueprint(metrics_routes(view, view.topology.services.web.metrics_cells))
    if history is not None:
        app.register_blueprint(history_routes(history, view.topology, zone=zone), url_prefix=API)
    if alarms is not None and bridge is not None:
        app.register_blueprint(alarm_routes(alarms, bridge, view.topology, zone=zone), url_prefix=API)
        app.register_blueprint(notification_routes(ui), url_prefix=API)
    app.register_blueprint(live_routes(ui.live, stream_slots))
    install_template_helpers(app, ui)
    register_pages(app, ui)
    access = AccessControl(verifier, ui.sessions, ui.topology.services.web.kiosk_clients, failures)
    app.before_request(access.check)

    @app.after_request
    async def headers(response):
        return add_security_headers(response, tls=ui.tls)

    @app.before_serving
    async def opened() -> None:
        await verifier.open()
        if alarms is not None:
            await alarms.open()

    @app.after_serving
    async def closed() -> None:
        ui.live.close()
        if history is not None:
            history.stop()
        await verifier.close()
        await ui.sessions.close()
        if alarms is not None:
            await alarms.close()

    @app.errorhandler(BadRequest)
    async def bad_request(error: BadRequest):
        return json_error(400, str(error))

    @app.errorhandler(NotFound)
    async def not_found(error: NotFound):
        return json_error(404, str(error.args[0] if error.args else error))

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
