"""Alarm routes: the manual's alarm table (pages and CSV), acknowledgement, operator commands.

Reads go to the alarm table in settings.db (its own file: never behind the sample writer) with
the AlarmManager's announced alarms laid over it (web/live_alarms.py): an alarm raised while
the disk is full is listed although it has no row yet. Writes become actor messages to the
gateway: the AlarmManager owns the table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from quart import Blueprint, Response, jsonify, request

from actors.messages.down import SendTestNotification
from actors.messages.service import NotificationTestResult
from battery.alarms.kinds import AlarmLevel
from battery.commands import AcknowledgeAlarm, SetStringRelay
from battery.site import Topology
from storage.alarm_store import AlarmRecord, AlarmStore
from storage.notification_store import NotificationStore
from web.access import identity
from web.alarm_query import alarm_criteria, level_labels
from web.errors import json_error
from web.history_args import time_zone
from web.live_alarms import AlarmView, AnnouncedAlarms
from web.request_args import BadRequest, integer, require_known
from web.site_view import iso
from web.tree_bridge import TreeBridge

TEST_NOTIFICATION_TIMEOUT_S = 60.0  # an SMS through a GSM modem can take a minute


class AlarmAccess:
    """The alarm table, opened in the web server's loop when it starts serving, the announced
    alarms (`live`, fed with the AlarmNotices the web server receives), and the notification
    store (the e-mail and SMS logs, the per-string switches)."""

    def __init__(self, settings_db: Path) -> None:
        self.path = settings_db
        self.live = AnnouncedAlarms()
        self.view: AlarmView | None = None
        self.notifications: NotificationStore | None = None

    async def open(self) -> None:
        self.view = AlarmView(await AlarmStore.open(self.path), self.live)
        self.notifications = await NotificationStore.open(self.path)

    async def close(self) -> None:
        if self.view is not None:
            await self.view.store.close()
            self.view = None
        if self.notifications is not None:
            await self.notifications.close()
            self.notifications = None


def alarm_routes(
    access: AlarmAccess, bridge: TreeBridge, topology: Topology, zone: Callable[[], ZoneInfo] = lambda: ZoneInfo("UTC")
) -> Blueprint:
    bp = Blueprint("alarms", __name__)
    labels = level_labels(topology)

    @bp.get("/alarms")
    async def alarms():
        page = await access.view.page(
            active_only=request.args.get("active") in ("1", "true"),
            offset=integer(request.args, "offset", 0, 0, 10**9),
            limit=integer(request.args, "limit", 50, 1, 1000),
            **alarm_criteria(request.args, topology),
        )
        return jsonify({"total": page.total, "alarms": [_alarm_json(r) for r in page.rows]})

    @bp.get("/alarms.csv")
    async def alarms_csv():
        criteria = alarm_criteria(request.args, topology)
        level = (
            AlarmLevel.STRING if criteria["string_id"] else AlarmLevel.UPS if criteria["ups_id"] else AlarmLevel.SITE
        )
        tz = time_zone(request.args, zone())
        chunks = access.view.csv_chunks(level, labels=labels, zone=tz, **criteria)

        async def body():
            async for chunk in chunks:
                yield chunk.encode()

        return Response(
            body(), mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="btms-alarms.csv"'}
        )

    @bp.post("/alarms/<rowid:alarm_id>/acknowledge")
    async def acknowledge(alarm_id: int):
        record = await access.view.get(alarm_id)
        if record is None:
            return json_error(404, f"no alarm #{alarm_id}")
        if record.acknowledged_by:
            return json_error(
                409, f"alarm #{alarm_id} was acknowledged by {record.acknowledged_by} at {iso(record.acknowledged_at)}"
            )
        who = identity().name  # a token's name or a logged-in user's
        bridge.command(AcknowledgeAlarm(alarm_id, who))
        return jsonify({"alarm": alarm_id, "acknowledged_by": who}), 202

    @bp.post("/strings/<string_id>/relay")
    async def relay(string_id: str):
        """Open or close a string's breaker. After a switch-off only this brings a string back."""
        require_known(topology, string=string_id)
        body = await request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("closed"), bool):
            raise BadRequest('send a JSON body {"closed": true} (switch on) or {"closed": false} (switch off)')
        closed = body["closed"]
        bridge.command(SetStringRelay(string_id, closed, f"operator {identity().name} via the API"))
        return jsonify({"string": string_id, "closed": closed}), 202

    @bp.post("/notifications/test")
    async def test_notification():
        body = await request.get_json(silent=True)
        channel = body.get("channel") if isinstance(body, dict) else None
        contact = body.get("contact") if isinstance(body, dict) else None
        if channel not in ("email", "sms") or not isinstance(contact, str) or not contact.strip():
            raise BadRequest('send a JSON body {"channel": "email" | "sms", "contact": "address or phone number"}')
        try:
            result: NotificationTestResult = await bridge.request(
                lambda rid: SendTestNotification(rid, channel, contact.strip()), TEST_NOTIFICATION_TIMEOUT_S
            )
        except TimeoutError:
            return json_error(504, f"the notifier did not answer within {TEST_NOTIFICATION_TIMEOUT_S:.0f} s")
        return jsonify(
            {"channel": channel, "contact": result.contact, "sent": result.ok, "error": result.error or None}
        )

    return bp


def _alarm_json(r: AlarmRecord) -> dict:
    return {
        "id": r.id,
        "kind": r.kind,
        "title": r.title,
        "status": r.status,
        "ups_id": r.ups_id,
        "string_id": r.string_id,
        "cell": r.cell_index,
        "value": r.value,
        "limit": r.limit,
        "from": iso(r.from_time),
        "to": iso(r.to_time) if r.to_time else None,
        "acknowledged_by": r.acknowledged_by,
        "acknowledged_at": iso(r.acknowledged_at) if r.acknowledged_at else None,
    }
