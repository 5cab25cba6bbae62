"""The aggregator's pages: the site, a gateway, a string (Real-time) and the merged Alarm page.

Each is the gateway's realtime.html in the gateway's frame, over a table model of
aggregator/ui/models.py; its data at /api/v1/pages<the page's path> is what realtime.js polls
to keep it live. URLs name the level (and the alarm filters), so every page can be bookmarked:
/site/realtime, /gateways/<gateway>/realtime, /gateways/<gateway>/strings/<ups>/<string>/realtime,
and /site/alarm?gateway=<gateway>&active=1 (or the Alarm tab of a gateway or a string).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from quart import Blueprint, abort, jsonify, request

from aggregator.alarm_list import active_alarms_by_gateway, merged_alarms
from aggregator.store import CONNECTION_ERRORS
from aggregator.ui.alarm_model import alarm_model
from aggregator.ui.context import AggregatorUi
from aggregator.ui.frame import in_frame
from aggregator.ui.levels import SITE, gateway_level, known_gateway, string_level
from aggregator.ui.models import Local, gateway_model, site_model, string_model
from web.errors import json_error
from web.live.tables import DEFAULT_PAGE_SIZE, PAGE_SIZES
from web.ui.frame import Level
from web.ui.local_time import local_iso
from web.ui.render import site_settings

PAGES_API = "/api/v1/pages"  # + a page's path: its model, for realtime.js to poll
MAX_FILTER = 200


@dataclass(frozen=True)
class Shown:
    level: Level
    tab: str
    model: dict
    template: str = "realtime.html"
    extra: dict = field(default_factory=dict)


Build = Callable[..., Awaitable]  # a Shown, or an error answer


def aggregator_pages(ui: AggregatorUi) -> Blueprint:
    pages = Blueprint("aggregator_pages", __name__, template_folder="templates")

    def local() -> Local:
        zone = site_settings(ui).zone()
        return lambda ts: local_iso(ts, zone)

    def serve(rule: str, name: str, build: Build) -> None:
        async def html(**kwargs):
            shown = await build(**kwargs)
            if not isinstance(shown, Shown):
                return shown  # an error answer
            return await in_frame(
                ui,
                shown.template,
                shown.level,
                shown.tab,
                model=shown.model,
                version=0,
                poll=_data_url(shown.level.url(shown.tab)),
                page_sizes=PAGE_SIZES,
                page_size=DEFAULT_PAGE_SIZE,
                summary_download=True,
                download_name=f"{shown.level.kind}-{shown.tab}",
                **shown.extra,
            )

        async def data(**kwargs):
            shown = await build(**kwargs)
            return jsonify({"version": 0, "model": shown.model}) if isinstance(shown, Shown) else shown

        pages.add_url_rule(rule, name, html)
        pages.add_url_rule(PAGES_API + rule, f"{name}_data", data)

    async def site_page() -> Shown:
        active = None
        if ui.reader is not None:
            try:
                active = await active_alarms_by_gateway(ui.reader)
            except CONNECTION_ERRORS:
                pass  # the site is still shown, its alarm counts from what the proxies heard
        return Shown(SITE, "realtime", site_model(ui.site, local(), active), extra={"time_label": "Newest record"})

    async def gateway_page(gateway: str) -> Shown:
        known_gateway(ui.site, gateway)
        model = gateway_model(ui.site, gateway, local())
        return Shown(gateway_level(gateway), "realtime", model, extra={"time_label": "Newest record"})

    async def string_page(gateway: str, ups_id: str, string_id: str) -> Shown:
        known_gateway(ui.site, gateway)
        model = string_model(ui.site, gateway, ups_id, string_id, local())
        if model is None:
            abort(404)
        return Shown(string_level(gateway, ups_id, string_id), "realtime", model)

    async def alarms(level: Level, gateway: str, ups_id: str = "", string_id: str = "") -> Shown:
        active_only = request.args.get("active") == "1"
        try:
            rows = await merged_alarms(ui.reader, active_only)
        except CONNECTION_ERRORS as error:
            return json_error(503, f"PostgreSQL is unreachable: {type(error).__name__}")
        if gateway:
            rows = [r for r in rows if r.gateway == gateway]
        if string_id:
            rows = [r for r in rows if r.ups_id == ups_id and r.string_id == string_id]
        where = f"string {ups_id} / {string_id} of {gateway}" if string_id else gateway or "every gateway"
        title = f"{'Active alarms' if active_only else 'Alarms'} of {where}"
        gateways = sorted(set(ui.site.gateways) | {r.gateway for r in rows} | ({gateway} if gateway else set()))
        extra = {"gateways": gateways, "gateway": gateway, "active_only": active_only, "time_label": "Newest alarm"}
        return Shown(level, "alarm", alarm_model(rows, local(), title), "aggregator_alarm.html", extra)

    async def site_alarms() -> Shown:
        return await alarms(SITE, request.args.get("gateway", "")[:MAX_FILTER])

    async def gateway_alarms(gateway: str) -> Shown:
        known_gateway(ui.site, gateway)
        return await alarms(gateway_level(gateway), gateway)

    async def string_alarms(gateway: str, ups_id: str, string_id: str) -> Shown:
        known_gateway(ui.site, gateway)
        return await alarms(string_level(gateway, ups_id, string_id), gateway, ups_id, string_id)

    one_string = "/gateways/<gateway>/strings/<ups_id>/<string_id>"
    serve("/site/realtime", "site", site_page)
    serve("/gateways/<gateway>/realtime", "gateway", gateway_page)
    serve(f"{one_string}/realtime", "string", string_page)
    serve("/site/alarm", "site_alarm", site_alarms)
    serve("/gateways/<gateway>/alarm", "gateway_alarm", gateway_alarms)
    serve(f"{one_string}/alarm", "string_alarm", string_alarms)
    return pages


def _data_url(page_path: str) -> str:
    """The page's data URL: its path as the level quotes it (request.path is decoded), its query."""
    query = request.query_string.decode("ascii", "replace")
    return PAGES_API + page_path + (f"?{query}" if query else "")
