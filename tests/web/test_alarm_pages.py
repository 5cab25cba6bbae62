"""The Alarm tab, the e-mail/SMS logs and a string's Settings tab over HTTP, with real stores in a
temporary settings.db and sessions as the log-in page makes them (no actor tree: the commands
the pages send are recorded; the AlarmManager's answer to an acknowledgement is played back).

Who may do what: a viewer reads, an operator also acknowledges, only an administrator changes
limits and switches; every POST needs the session's CSRF token.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from dataclasses import replace
from html import unescape

import pytest

from actors.messages.down import SettingsChanged
from battery.alarms.kinds import STRING_NOTIFICATION_KINDS
from battery.commands import AcknowledgeAlarm
from storage.alarm_store import AlarmRecord, AlarmStore
from storage.limit_overrides import string_overrides
from storage.notification_settings import channel_enabled
from storage.notification_store import NotificationStore
from storage.settings_db import settings_path
from tests.factories import sample_topology, ui_context
from web.access import SESSION_COOKIE
from web.api_tokens import TokenVerifier
from web.app import create_app
from web.users.book import User

T0 = 1_780_000_000.0  # 2026-05-28
CURRENT_LOW = '<td class="text">Current low (discharging)</td>'  # a row's Alarm column


def _alarm(n: int, kind: str, string: str, ups: str, cell: int | None, t: float, to: float | None) -> AlarmRecord:
    return AlarmRecord(n, kind, "", ups, string, cell, 14900.0, 14700.0, t, to, None, None, None, None)


ALARMS = (
    _alarm(1, "string_voltage_high", "s1", "ups1", None, T0, T0 + 600),
    _alarm(2, "cell_temperature_high", "s1", "ups1", 3, T0 + 3600, None),
    _alarm(3, "string_current_low", "s3", "ups2", None, T0 + 7200, None),
)


class Site:
    """The app over one storage directory, a session per role, and what the pages sent."""

    def __init__(self, tmp_path) -> None:
        self.topology = sample_topology()
        self.sent: list = []
        self.ui = ui_context(self.topology, tmp_path)
        self.ui.bridge = type(self.ui.bridge)(self._tree)
        self.app = create_app(self.ui, TokenVerifier(tmp_path))
        self.sessions: dict[str, tuple[str, str]] = {}
        self.db = settings_path(tmp_path)

    def _tree(self, message) -> None:
        """Plays the AlarmManager: an acknowledgement comes back as the alarm's notice."""
        self.sent.append(message)
        if isinstance(message, AcknowledgeAlarm):
            record = next(r for r in ALARMS if r.id == message.alarm_id)
            acked = replace(record, acknowledged_by=message.who, acknowledged_at=T0 + 9000)
            self.ui.alarms.live.apply(acked.notice("acknowledged"))

    async def prepare(self) -> None:
        for name, role in (("vera", "viewer"), ("otto", "operator"), ("ada", "admin")):
            self.ui.users.add(User(name, role, email=f"{name}@example.com"), "a long enough password")
            session_id, session = await self.ui.sessions.create(name)
            self.sessions[role] = (session_id, session.csrf)
        store = await AlarmStore.open(self.db)
        await store.write(ALARMS)
        await store.close()
        notes = await NotificationStore.open(self.db)
        for i, string in enumerate(("s1", "s3", "s1")):
            await notes.log_attempt(
                "email",
                alarm="Voltage high",
                time=T0 + i,
                contact=f"Ada / ada{i}@example.com",
                ok=i != 1,
                error="" if i != 1 else "Connection refused",
                ups_id="ups1" if string == "s1" else "ups2",
                string_id=string,
            )
        await notes.close()

    def cookie(self, role: str) -> dict:
        return {"Cookie": f"{SESSION_COOKIE}={self.sessions[role][0]}"}

    def csrf(self, role: str) -> str:
        return self.sessions[role][1]


@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path)
    asyncio.run(s.prepare())
    return s


def run(site: Site, steps) -> None:
    async def go():
        async with site.app.test_app() as app:
            await steps(app.test_client())

    asyncio.run(go())


def test_the_alarm_table_at_each_level_with_its_filters(site):
    async def steps(client):
        page = await (await client.get("/site/alarm", headers=site.cookie("viewer"))).get_data(as_text=True)
        assert "Showing 1 to 3 of 3 entries" in page and page.count("<tr class=") == 3
        string = await client.get("/strings/s1/alarm", headers=site.cookie("viewer"))
        text = await string.get_data(as_text=True)
        assert "Showing 1 to 2 of 2 entries" in text and CURRENT_LOW not in text  # s3's alarm
        ups2 = await (await client.get("/ups/ups2/alarm", headers=site.cookie("viewer"))).get_data(as_text=True)
        assert "Showing 1 to 1 of 1 entries" in ups2 and CURRENT_LOW in ups2
        active = await (await client.get("/site/alarm?active=1", headers=site.cookie("viewer"))).get_data(as_text=True)
        assert "of 2 entries" in active
        kind = await client.get("/site/alarm?kind=string_voltage_high", headers=site.cookie("viewer"))
        assert "of 1 entries" in await kind.get_data(as_text=True)
        # T0 is 20:26:40 UTC (the site zone): at 21:00..21:20 alarm 1 had ended, 2 and 3 had not begun
        late = await client.get("/site/alarm?from=2026-05-28T21:00&to=2026-05-28T21:20", headers=site.cookie("viewer"))
        assert "of 0 entries" in await late.get_data(as_text=True)
        early = await client.get("/site/alarm?from=2026-05-28T20:20&to=2026-05-28T20:30", headers=site.cookie("viewer"))
        assert "of 1 entries" in await early.get_data(as_text=True)
        bad = await client.get("/site/alarm?kind=volcano", headers=site.cookie("viewer"))
        assert bad.status_code == 400 and "'kind': 'volcano' is not an alarm kind" in unescape(await bad.get_data(True))
        paged = await (await client.get("/site/alarm?size=10&page=1", headers=site.cookie("viewer"))).get_data(True)
        assert 'rel="next"' not in paged
        csv_rows = await client.get("/api/v1/alarms.csv?kind=cell_temperature_high", headers=site.cookie("viewer"))
        rows = list(csv.reader(io.StringIO(await csv_rows.get_data(as_text=True))))
        assert rows[0][0] == "#" and [r[0] for r in rows[1:]] == ["2"]

    run(site, steps)


def test_an_operator_acknowledges_a_viewer_is_refused(site):
    async def steps(client):
        viewer_page = await (await client.get("/site/alarm", headers=site.cookie("viewer"))).get_data(as_text=True)
        assert "Acknowledge</button>" not in viewer_page
        refused = await client.post(
            "/alarm/acknowledge", form={"alarm": "2", "csrf_token": site.csrf("viewer")}, headers=site.cookie("viewer")
        )
        assert refused.status_code == 403 and "operator role" in (await refused.get_json())["error"]["message"]
        api = await client.post(
            "/api/v1/alarms/2/acknowledge", headers=site.cookie("viewer") | {"X-CSRF-Token": site.csrf("viewer")}
        )
        assert api.status_code == 403
        assert site.sent == []
        operator_page = await (await client.get("/site/alarm", headers=site.cookie("operator"))).get_data(True)
        assert operator_page.count("Acknowledge</button>") == 3
        no_token = await client.post("/alarm/acknowledge", form={"alarm": "2"}, headers=site.cookie("operator"))
        assert no_token.status_code == 403 and site.sent == []
        done = await client.post(
            "/alarm/acknowledge",
            form={"alarm": "2", "csrf_token": site.csrf("operator"), "next": "/strings/s1/alarm"},
            headers=site.cookie("operator"),
        )
        assert done.status_code == 303 and done.headers["Location"] == "/strings/s1/alarm"
        assert site.sent == [AcknowledgeAlarm(2, "otto")]
        after = await (await client.get("/strings/s1/alarm", headers=site.cookie("operator"))).get_data(True)
        assert "otto, 2026-05-28" in after and after.count("Acknowledge</button>") == 1
        api = await client.post(
            "/api/v1/alarms/3/acknowledge", headers=site.cookie("operator") | {"X-CSRF-Token": site.csrf("operator")}
        )
        assert api.status_code == 202 and (await api.get_json())["acknowledged_by"] == "otto"

    run(site, steps)


def test_the_email_log_at_site_and_string_level_with_its_download(site):
    async def steps(client):
        page = await (await client.get("/site/alarm?view=emails", headers=site.cookie("viewer"))).get_data(True)
        assert "Showing 1 to 3 of 3 entries" in page and "Connection refused" in page
        string = await (await client.get("/strings/s1/alarm?view=emails", headers=site.cookie("viewer"))).get_data(True)
        assert "of 2 entries" in string and "ada1@example.com" not in string
        sms = await (await client.get("/site/alarm?view=sms", headers=site.cookie("viewer"))).get_data(True)
        assert "No SMS sent yet." in sms
        got = await client.get("/api/v1/notifications/email.csv?string=s1", headers=site.cookie("viewer"))
        rows = list(csv.reader(io.StringIO(await got.get_data(as_text=True))))
        assert rows[0] == ["#", "UPS", "String", "Cell", "Alarm", "Time", "Contact", "Status", "Error"]
        assert [(r[0], r[2], r[7]) for r in rows[1:]] == [("3", "#01", "sent"), ("1", "#01", "sent")]
        assert rows[1][5].endswith("+00:00")  # local time with its offset
        log = await (await client.get("/api/v1/notifications/email?ups=ups2", headers=site.cookie("viewer"))).get_json()
        assert log["total"] == 1 and log["entries"][0]["status"] == "failed"

    run(site, steps)


def _limits_form(site: Site, role: str, **values) -> dict:
    return {"csrf_token": site.csrf(role)} | {f"limit.{k}": v for k, v in values.items()}


def test_only_an_administrator_changes_limits_and_bad_values_are_refused(site):
    async def steps(client):
        page = await (await client.get("/strings/s1/settings", headers=site.cookie("operator"))).get_data(True)
        assert "String voltage high limit" in page and "Save limits" not in page
        for role in ("viewer", "operator"):
            refused = await client.post(
                "/strings/s1/settings/limits",
                form=_limits_form(site, role, string_voltage_high_v="50"),
                headers=site.cookie(role),
            )
            assert refused.status_code == 403 and "admin role" in (await refused.get_json())["error"]["message"]
        no_token = await client.post(
            "/strings/s1/settings/limits", form={"limit.string_voltage_high_v": "50"}, headers=site.cookie("admin")
        )
        assert no_token.status_code == 403
        assert string_overrides(site.db, "s1") == {} and site.sent == []
        bad = await client.post(
            "/strings/s1/settings/limits",
            form=_limits_form(site, "admin", cell_soc_low_pct="120"),
            headers=site.cookie("admin"),
        )
        text = await bad.get_data(as_text=True)
        assert bad.status_code == 400 and "cell_soc_low_pct = 120.0 % is outside 0.0..100.0 %" in unescape(text)
        crossed = await client.post(
            "/strings/s1/settings/limits",
            form=_limits_form(site, "admin", string_voltage_low_v="60", string_voltage_high_v="50"),
            headers=site.cookie("admin"),
        )
        assert crossed.status_code == 400
        assert "string_voltage_low_v (60.0) must be below string_voltage_high_v (50.0)" in unescape(
            await crossed.get_data(True)
        )
        assert string_overrides(site.db, "s1") == {} and site.sent == []
        page = await (await client.get("/strings/s1/settings", headers=site.cookie("admin"))).get_data(True)
        defaults = dict(re.findall(r'name="limit\.([a-z_]+)"\s+value="([^"]*)"', page))
        assert defaults["string_voltage_high_v"] == "58.8"  # 4 x 12 V batteries x 2.45 V per cell
        saved = await client.post(
            "/strings/s1/settings/limits",
            form=_limits_form(site, "admin", **(defaults | {"string_voltage_high_v": "50"})),
            headers=site.cookie("admin"),
        )
        assert saved.status_code == 303
        assert string_overrides(site.db, "s1") == {"string_voltage_high_v": 50.0}  # only what differs
        assert site.sent == [SettingsChanged()]
        shown = await (await client.get("/strings/s1/settings?saved=limits", headers=site.cookie("admin"))).get_data(
            True
        )
        assert 'value="50"' in shown and "runtime" in shown and "Alarm limits saved" in shown
        reset = await client.post(
            "/strings/s1/settings/limits",
            form=_limits_form(site, "admin") | {"reset": "all"},
            headers=site.cookie("admin"),
        )
        assert reset.status_code == 303 and string_overrides(site.db, "s1") == {}

    run(site, steps)


def test_the_switch_matrix_is_stored_by_an_administrator_only(site):
    async def steps(client):
        page = await (await client.get("/strings/s1/settings", headers=site.cookie("viewer"))).get_data(True)
        rows = len(STRING_NOTIFICATION_KINDS)
        assert page.count('type="checkbox"') == 2 * rows and page.count(" disabled>") == 2 * rows  # a viewer's
        everything_but_one = {"csrf_token": site.csrf("admin")}
        for kind in ("string_voltage_high", "cell_voltage_high", "hall_sensor"):
            everything_but_one[f"sms.{kind}"] = "on"
            everything_but_one[f"email.{kind}"] = "on"
        del everything_but_one["email.cell_voltage_high"]
        refused = await client.post(
            "/strings/s1/settings/notifications",
            form=everything_but_one | {"csrf_token": site.csrf("operator")},
            headers=site.cookie("operator"),
        )
        assert refused.status_code == 403
        saved = await client.post(
            "/strings/s1/settings/notifications", form=everything_but_one, headers=site.cookie("admin")
        )
        assert saved.status_code == 303 and site.sent == [SettingsChanged()]
        store = await NotificationStore.open(site.db)
        switches = await store.switches()
        await store.close()
        assert switches[("s1", "cell_voltage_high")] == (False, True)
        assert ("s1", "string_voltage_high") not in switches  # unchanged (on by default): not written
        assert switches[("s1", "cell_soc_low")] == (False, False)  # unchecked: both off
        assert ("s2", "cell_voltage_high") not in switches  # another string is not touched
        assert channel_enabled(switches, "s2", "cell_soc_low", "email")

    run(site, steps)
