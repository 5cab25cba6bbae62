"""The history and alarm parts of the JSON API, against a running gateway.

A user's path: the gateway stores scans; the API answers a downsampled series and a CSV; a cell
fault raises an alarm that switches its string off; an operator lists and acknowledges it and
switches the string on again; a test e-mail without an SMTP server says why it failed.
"""

from __future__ import annotations

import csv
import io
import json
import signal
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest
import yaml

from actors.messages.service import InjectSimFault
from sim.faults import DriftingSensor
from tests.gateway_process import GatewayProcess, btms, gateway_actor, kill_all, wait_serving, write_demo_topology
from tests.support import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway(tmp_path):
    topology, data = write_demo_topology(tmp_path, cells=8, scan_period_s=0.5)
    data["storage"]["commit_interval_s"] = 1
    data["upses"][0]["strings"][0]["alarm_overrides"] = {"cell_voltage_high_v": 13.95, "alarm_on_delay_s": 1}
    topology.write_text(yaml.safe_dump(data, sort_keys=False))
    process = GatewayProcess.start(tmp_path, topology, data)
    try:
        wait_serving(process, timeout=15)
        process.started_at = time.time()
        yield process
    finally:
        pids = process.actor_pids()
        process.stop(signal.SIGTERM)
        kill_all(pids)


def call(gateway, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict | str]:
    request = urllib.request.Request(
        gateway.web_url + path, method=method, data=json.dumps(body).encode() if body is not None else None
    )
    request.add_header("Authorization", f"Bearer {token or gateway.token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=70) as response:
            raw = response.read().decode()
            return response.status, json.loads(
                raw
            ) if response.headers.get_content_type() == "application/json" else raw
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _actions(gateway) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(gateway.topology.parent / "var" / "settings.db") as db:
        return list(db.execute("SELECT action, string_id, reason FROM alarm_actions ORDER BY id"))


def since(t: float) -> str:
    return datetime.fromtimestamp(t - 5, UTC).isoformat().replace("+00:00", "Z")


def test_history_series_and_csv(gateway):
    frm = since(gateway.started_at)

    def points():
        code, body = call(gateway, "GET", f"/api/v1/series?level=string&id=A1&quantity=voltage&from={frm}&points=50")
        return code == 200 and len(body["points"]) >= 2 and body

    body = wait_for(points, timeout=20, what="two stored points of A1's voltage")
    for _, lo, avg, hi in body["points"]:
        assert 100 < lo <= avg <= hi < 120  # 8 x 12 V batteries floating at ~13.6 V
    code, text = call(gateway, "GET", f"/api/v1/export.csv?kind=strings&string=A1&from={frm}")
    assert code == 200
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) >= 3 and any("voltage" in column.lower() for column in rows[0])
    code, cell = call(gateway, "GET", f"/api/v1/series?level=cell&id=A1/3&quantity=temperature&from={frm}")
    assert code == 200 and cell["points"]
    code, snap = call(gateway, "GET", "/api/v1/snapshot?ups=UPS-B")
    assert code == 200 and set(snap["strings"]) == {"B1", "B2"}
    assert all(s is not None for s in snap["strings"].values())
    assert call(gateway, "GET", "/api/v1/snapshot?ups=NOPE")[0] == 404


def test_history_before_the_first_commit_is_a_404_not_an_error(tmp_path):
    import asyncio

    from storage.history.reader import HistoryReader, UnknownItem

    with pytest.raises(UnknownItem, match="no history stored yet"):
        asyncio.run(HistoryReader(tmp_path).series("string", "A1", "voltage", 0.0, 1.0))


def test_bad_history_requests_say_what_is_wrong(gateway):
    code, body = call(gateway, "GET", "/api/v1/series?level=string&id=A1&quantity=voltage&from=yesterday")
    assert code == 400 and "'from'" in body["error"]["message"]
    code, body = call(gateway, "GET", "/api/v1/series?level=string&id=NOPE&quantity=voltage")
    assert code == 404 and "NOPE" in body["error"]["message"]
    code, body = call(gateway, "GET", "/api/v1/series?level=planet&id=A1&quantity=voltage")
    assert code == 400 and "level" in body["error"]["message"]


def test_operator_lists_acknowledges_and_switches_back_on(gateway):
    asys, gw = gateway_actor(gateway.admin_port)
    asys.tell(gw, InjectSimFault("A1", DriftingSensor(cell=3, quantity="voltage", counts_per_hour=720_000)))

    def alarm():
        code, body = call(gateway, "GET", "/api/v1/alarms?string=A1&active=1")
        return code == 200 and next((a for a in body["alarms"] if a["kind"] == "cell_voltage_high"), None)

    raised = wait_for(alarm, timeout=20, what="the cell voltage alarm in the API")
    assert raised["cell"] == 3 and raised["status"] == "active" and raised["title"] == "Voltage high"
    wait_for(
        lambda: call(gateway, "GET", "/api/v1/strings/A1")[1]["relay_closed"] is False,
        timeout=15,
        what="A1 to be switched off",
    )

    # A token name may start with '-' (`btms token create -- -A1`): a formula to a spreadsheet.
    created = btms("token", "create", "--topology", str(gateway.topology), "--", "-A1")
    assert created.returncode == 0, created.stderr
    code, body = call(gateway, "POST", f"/api/v1/alarms/{raised['id']}/acknowledge", token=created.stdout.strip())
    assert code == 202 and body["acknowledged_by"] == "-A1"
    wait_for(
        lambda: alarm() and alarm()["acknowledged_by"] == "-A1", timeout=10, what="the acknowledgement to be stored"
    )
    code, body = call(gateway, "POST", f"/api/v1/alarms/{raised['id']}/acknowledge")
    assert code == 409
    assert call(gateway, "POST", "/api/v1/alarms/999999/acknowledge")[0] == 404

    code, csv_text = call(gateway, "GET", "/api/v1/alarms.csv?string=A1")
    assert code == 200 and "Voltage high" in csv_text
    acked = next(r for r in csv.reader(io.StringIO(csv_text)) if r[0] == str(raised["id"]))
    assert acked[-1] == "'-A1"  # shown as text by a spreadsheet, never run as a formula

    asys.tell(gw, InjectSimFault("A1", DriftingSensor(cell=3, quantity="voltage", counts_per_hour=0), clear=True))
    code, _ = call(gateway, "POST", "/api/v1/strings/A1/relay", {"closed": True})
    assert code == 202
    wait_for(
        lambda: call(gateway, "GET", "/api/v1/strings/A1")[1]["relay_closed"] is True,
        timeout=15,
        what="A1 to be switched on again by the operator",
    )
    actions = wait_for(
        lambda: [a for a in _actions(gateway) if a[0] == "switch_on"], what="the switch-on in the action log"
    )
    assert actions[0][1] == "A1" and "operator tests via the API" in actions[0][2]
    assert call(gateway, "POST", "/api/v1/strings/A1/relay", {"closed": "yes"})[0] == 400
    assert call(gateway, "POST", "/api/v1/strings/NOPE/relay", {"closed": True})[0] == 404


def test_test_email_without_smtp_settings_says_why(gateway):
    code, body = call(gateway, "POST", "/api/v1/notifications/test", {"channel": "email", "contact": "ops@example.org"})
    assert code == 200 and body["sent"] is False
    assert "not configured" in body["error"]
    assert call(gateway, "POST", "/api/v1/notifications/test", {"channel": "fax", "contact": "1"})[0] == 400


def test_btms_export_writes_csv_files(gateway, tmp_path):

    frm = since(gateway.started_at)

    def stored():
        code, body = call(gateway, "GET", f"/api/v1/series?level=string&id=A2&quantity=voltage&from={frm}")
        return code == 200 and len(body["points"]) >= 2

    wait_for(stored, timeout=20, what="stored scans of A2")
    to = datetime.now(UTC).isoformat()
    out = tmp_path / "export"
    done = btms(
        "export", "--topology", str(gateway.topology), "--from", frm, "--to", to, "--string", "A2", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("*.csv"))
    assert [f.name.split("-")[1] for f in files] == ["cells", "strings"]
    cells = list(csv.reader(files[0].open(encoding="utf-8")))
    assert cells[0][:4] == ["time", "ups", "string", "cell"]
    assert {row[3] for row in cells[1:]} == {str(n) for n in range(1, 9)}  # every battery of A2
    bad = btms(
        "export", "--topology", str(gateway.topology), "--from", "2026-11-01T00:00", "--to", to, "--out", str(out)
    )
    assert bad.returncode != 0 and "offset" in bad.stderr


def test_a_viewer_token_reads_but_cannot_act(gateway):

    created = btms("token", "create", "wallboard", "--role", "viewer", "--topology", str(gateway.topology))
    assert created.returncode == 0, created.stderr
    viewer = created.stdout.strip()
    assert gateway.get("/api/v1/site", token=viewer)[0] == 200
    request = urllib.request.Request(
        gateway.web_url + "/api/v1/strings/A1/relay", method="POST", data=json.dumps({"closed": False}).encode()
    )
    request.add_header("Authorization", f"Bearer {viewer}")
    request.add_header("Content-Type", "application/json")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403 and "viewer" in json.loads(refused.value.read())["error"]["message"]
    assert call(gateway, "GET", "/api/v1/strings/A1")[1]["relay_closed"] is True
