"""The aggregator's browser UI over HTTP: log-in required, CSRF on POSTs, the site, gateway, string
and merged Alarm pages with their values and marks, names from MQTT escaped and quoted.

The app is the real one (aggregator/web_app.py) over an AggregatedSite fed as the gateway proxies
feed it, a real settings.db for users and sessions and, for the alarms, a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from urllib.parse import quote

from aggregator.site_view import AggregatedSite
from tests.aggregator_process import write_aggregator_config
from tests.aggregator_ui_support import (
    HOSTILE,
    NOW_MS,
    PASSWORD,
    add_user,
    alarm_event,
    apply_views,
    csrf_of,
    gateway_view,
    logged_in,
    run,
    store_alarms,
    string_metrics,
)
from tests.gateway_process import REPO
from web.api_tokens import create_token


def two_gateways() -> AggregatedSite:
    site = AggregatedSite()
    apply_views(
        site,
        gateway_view("gw1", {"A1": string_metrics(4, null_cell=3)}),
        gateway_view("gw2", {"B1": string_metrics(4, voltage=53.9)}, online=False),
    )
    return site


def test_pages_need_a_session_and_the_api_a_session_or_a_token(tmp_path) -> None:
    add_user(tmp_path, "olga", "operator")
    token = create_token(tmp_path, "scada", "viewer")
    operator = create_token(tmp_path, "ops", "operator")

    async def scenario(client):
        for path in ("/site/realtime", "/gateways/gw1/realtime", "/site/alarm?gateway=gw1"):
            answer = await client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["Location"] == f"/login?next={quote(path, safe='/?=&')}"
        assert (await client.get("/api/v1/pages/site/realtime")).status_code == 401
        assert (await client.get("/api/v1/site", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        refused = await client.post("/api/v1/site", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403  # a viewer token never writes
        refused = await client.post("/api/v1/site", headers={"Authorization": f"Bearer {operator}"})
        assert refused.status_code == 405  # and the aggregator's API only reads
        wrong = await logged_in(client, password="not-the-password")
        assert wrong.status_code == 401
        answer = await logged_in(client, next_path="/gateways/gw1/realtime")
        assert answer.status_code == 303 and answer.headers["Location"] == "/gateways/gw1/realtime"
        page = await client.get("/gateways/gw1/realtime")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        data = await (await client.get("/api/v1/pages/gateways/gw1/realtime")).get_json()
        assert data["model"]["table"]["rows"][0]["key"] == "UPS-A/A1"

    run(two_gateways(), tmp_path, scenario)


def test_a_post_with_a_session_needs_its_csrf_token(tmp_path) -> None:
    add_user(tmp_path, "olga", "operator")

    async def scenario(client):
        forged = await client.post("/login", form={"username": "olga", "password": PASSWORD, "next": "/"})
        assert forged.status_code == 403  # the log-in form's own token is missing
        await logged_in(client)
        html = await (await client.get("/site/realtime")).get_data(as_text=True)
        refused = await client.post("/logout", form={})
        assert refused.status_code == 403
        assert (await client.get("/site/realtime")).status_code == 200  # still logged in
        done = await client.post("/logout", form={"csrf_token": csrf_of(html)})
        assert done.status_code == 303 and done.headers["Location"] == "/login"
        assert (await client.get("/site/realtime")).status_code == 303
        assert (await client.post("/api/v1/site")).status_code == 401  # no session, no token

    run(two_gateways(), tmp_path, scenario)


def test_site_gateway_and_string_pages_show_values_in_registry_units_and_mark_bad_ones(tmp_path) -> None:
    add_user(tmp_path, "vera", "viewer")

    async def scenario(client):
        await logged_in(client, "vera")
        site = await (await client.get("/site/realtime")).get_data(as_text=True)
        assert 'href="/gateways/gw1/realtime"' in site and 'href="/gateways/gw2/realtime"' in site
        assert re.search(r'value-stale" title="Gateway off-line since [^"]*: no message for 30 s', site)
        gw1 = await (await client.get("/gateways/gw1/realtime")).get_data(as_text=True)
        assert "Voltage (V)" in gw1 and ">54.20<" in gw1 and "Runtime (min)" in gw1
        assert 'href="/gateways/gw1/strings/UPS-A/A1/realtime"' in gw1
        gw2 = await (await client.get("/gateways/gw2/realtime")).get_data(as_text=True)
        assert "53.9" not in gw2  # an off-line gateway's last values are not shown as present ones
        assert "value-stale" in gw2
        cells = await (await client.get("/gateways/gw1/strings/UPS-A/A1/realtime")).get_data(as_text=True)
        assert ">13.510<" in cells and "Resistance (mΩ)" in cells
        assert 'class="num value-implausible" title="The gateway sent no value' in cells  # cell 3 sent null
        assert (await client.get("/gateways/gw1/strings/UPS-A/Z9/realtime")).status_code == 404
        assert (await client.get("/gateways/nobody/realtime")).status_code == 404

    run(two_gateways(), tmp_path, scenario)


def test_a_hostile_gateway_and_string_name_is_escaped_and_quoted(tmp_path) -> None:
    add_user(tmp_path, "olga", "operator")
    site = AggregatedSite()
    apply_views(site, gateway_view(HOSTILE, {HOSTILE: string_metrics(2)}))

    async def scenario(client):
        await logged_in(client)
        pages = [await (await client.get("/site/realtime")).get_data(as_text=True)]
        gateway_url = f"/gateways/{quote(HOSTILE, safe='')}"
        assert f'href="{gateway_url}/realtime"' in pages[0]
        for path in (f"{gateway_url}/realtime", f"{gateway_url}/strings/UPS-A/{quote(HOSTILE, safe='')}/realtime"):
            answer = await client.get(path)
            assert answer.status_code == 200, path
            pages.append(await answer.get_data(as_text=True))
        assert f'data-poll="/api/v1/pages{gateway_url}/realtime"' in pages[1]  # quoted, as the link
        assert (await client.get(f"/api/v1/pages{gateway_url}/realtime")).status_code == 200
        for html in pages:
            assert "<img src=x" not in html
            assert "&lt;img src=x onerror=alert(1)&gt;" in html

    run(site, tmp_path, scenario)


def test_the_alarm_page_merges_every_gateways_alarms_newest_first_and_filters(tmp_path, postgres) -> None:
    add_user(tmp_path, "olga", "operator")
    asyncio.run(
        store_alarms(
            postgres.dsn,
            [
                ("gw1", alarm_event(1, "Cell voltage high")),
                ("gw2", alarm_event(2, "Cell temperature high")),
                ("gw1", alarm_event(3, "Cell voltage low", event="cleared")),
            ],
            offline=[("gw2", NOW_MS / 1000 - 30, "no message for 30 s")],
        )
    )

    async def scenario(client):
        await logged_in(client)
        every = await (await client.get("/api/v1/pages/site/alarm")).get_json()
        rows = every["model"]["table"]["rows"]
        shown = [(r["cells"][0][0], r["cells"][4][0]) for r in rows]
        assert shown == [
            ("gw2", "Gateway off-line (no message for 30 s)"),
            ("gw1", "Cell voltage high"),
            ("gw2", "Cell temperature high"),
            ("gw1", "Cell voltage low"),
        ]
        only_gw2 = await (await client.get("/site/alarm?gateway=gw2&active=1")).get_data(as_text=True)
        assert "Cell temperature high" in only_gw2 and "Cell voltage" not in only_gw2
        assert '<option value="gw2" selected>' in only_gw2 and 'name="active" value="1" checked' in only_gw2
        assert 'data-poll="/api/v1/pages/site/alarm?gateway=gw2&amp;active=1"' in only_gw2
        gw1 = await (await client.get("/api/v1/pages/gateways/gw1/alarm?active=1")).get_json()
        assert [r["cells"][4][0] for r in gw1["model"]["table"]["rows"]] == ["Cell voltage high"]
        site = await (await client.get("/api/v1/pages/site/realtime")).get_json()
        counts = {r["key"]: r["cells"][6][1] for r in site["model"]["table"]["rows"]}
        assert counts == {"gw1": 1, "gw2": 2}  # as the Alarm page counts them, not only what was heard live
        api = await (await client.get("/api/v1/alarms")).get_json()  # the same list, as the API serves it
        details = ["no message for 30 s", "Cell voltage high", "Cell temperature high", "Cell voltage low"]
        assert [a["detail"] for a in api["alarms"]] == details

    run(two_gateways(), tmp_path, scenario, dsn=postgres.dsn)


def btms(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "btms.cli", *args], input=stdin, capture_output=True, text=True, cwd=REPO, timeout=60
    )


def test_the_first_admin_and_the_time_zone_of_an_aggregator_are_set_with_btms(tmp_path) -> None:
    config = write_aggregator_config(tmp_path, {"host": "127.0.0.1", "port": 1883}, "postgresql://u@127.0.0.1:1/db")
    done = btms("user", "add", "root", "--admin", "--aggregator", str(config), stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert done.returncode == 0, done.stderr
    assert "added with the role admin" in done.stdout
    done = btms("site", "set", "time_zone", "Europe/Ljubljana", "--aggregator", str(config))
    assert done.returncode == 0, done.stderr

    async def scenario(client):
        answer = await logged_in(client, "root")
        assert answer.status_code == 303 and answer.headers["Location"] == "/site/realtime"
        html = await (await client.get("/site/realtime")).get_data(as_text=True)
        assert 'root <span class="role">(admin)</span>' in html
        assert "Times are in Europe/Ljubljana." in html

    run(two_gateways(), tmp_path / "agg", scenario)
